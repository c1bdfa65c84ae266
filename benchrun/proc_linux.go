package benchrun

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"
)

// procNote is empty where the plugin's CPU time and peak RSS can be read.
const procNote = ""

// pluginCPU returns the CPU time (user and system, all threads) that the
// process pid has used. It sums the threads' /proc/PID/task/*/schedstat,
// which count nanoseconds, and falls back to /proc/PID/stat, which counts
// clock ticks of 10 ms: too coarse for a window of a fraction of a second.
func pluginCPU(pid int) (time.Duration, error) {
	dir := "/proc/" + strconv.Itoa(pid)
	tasks, err := filepath.Glob(dir + "/task/*/schedstat")
	if err == nil && len(tasks) > 0 {
		var sum int64
		ok := true
		for _, t := range tasks {
			b, err := os.ReadFile(t)
			if err != nil {
				continue // a thread that just exited
			}
			f := bytes.Fields(b)
			if len(f) == 0 {
				ok = false
				break
			}
			n, err := strconv.ParseInt(string(f[0]), 10, 64)
			if err != nil {
				ok = false
				break
			}
			sum += n
		}
		if ok {
			return time.Duration(sum), nil
		}
	}
	return statCPU(dir + "/stat")
}

// statCPU reads utime and stime from a /proc/PID/stat file.
func statCPU(path string) (time.Duration, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	// The command name, field 2, is in parentheses and may hold spaces:
	// count from the last ')'. utime and stime are fields 14 and 15.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, fmt.Errorf("%s: no command name", path)
	}
	f := bytes.Fields(b[i+1:])
	if len(f) < 13 {
		return 0, fmt.Errorf("%s: %d fields after the command name, want at least 13", path, len(f))
	}
	var ticks int64
	for _, s := range f[11:13] {
		n, err := strconv.ParseInt(string(s), 10, 64)
		if err != nil {
			return 0, fmt.Errorf("%s: %w", path, err)
		}
		ticks += n
	}
	return time.Duration(ticks) * 10 * time.Millisecond, nil // USER_HZ is 100 on Linux
}

// pluginPeakRSS returns the process's peak resident set size, in bytes,
// from VmHWM in /proc/PID/status.
func pluginPeakRSS(pid int) (int64, error) {
	path := "/proc/" + strconv.Itoa(pid) + "/status"
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	for line := range bytes.Lines(b) {
		if v, ok := bytes.CutPrefix(line, []byte("VmHWM:")); ok {
			f := bytes.Fields(v) // "1234 kB"
			if len(f) == 2 && string(f[1]) == "kB" {
				n, err := strconv.ParseInt(string(f[0]), 10, 64)
				if err == nil {
					return n << 10, nil
				}
			}
			return 0, fmt.Errorf("%s: cannot read %q", path, bytes.TrimSpace(line))
		}
	}
	return 0, fmt.Errorf("%s: no VmHWM line", path)
}
