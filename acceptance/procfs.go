package acceptance

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"runtime"
	"strconv"
	"strings"
	"time"
)

// procStat is what the checks read of /proc/<pid>/stat.
type procStat struct {
	pid, ppid int
	comm      string
	state     string // R, S, Z…
	start     uint64 // start time in ticks since boot, tells reused pids apart
}

// readStat parses /proc/<pid>/stat. The command name is in parentheses
// and may hold spaces, so fields are counted from the last ')'.
func readStat(pid int) (procStat, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return procStat{}, err
	}
	s := string(b)
	open, closing := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
	if open < 0 || closing < open {
		return procStat{}, fmt.Errorf("/proc/%d/stat: unexpected format", pid)
	}
	f := strings.Fields(s[closing+1:])
	// f[0] is field 3 (state): ppid is field 4, starttime 22.
	if len(f) < 20 {
		return procStat{}, fmt.Errorf("/proc/%d/stat: %d fields", pid, len(f))
	}
	ppid, _ := strconv.Atoi(f[1])
	start, _ := strconv.ParseUint(f[19], 10, 64)
	return procStat{
		pid: pid, ppid: ppid, comm: s[open+1 : closing], state: f[0], start: start,
	}, nil
}

// descendants returns every living process below pid.
func descendants(pid int) ([]procStat, error) {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil, err
	}
	children := map[int][]procStat{}
	for _, e := range entries {
		n, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if st, err := readStat(n); err == nil {
			children[st.ppid] = append(children[st.ppid], st)
		}
	}
	var out []procStat
	queue := []int{pid}
	for len(queue) > 0 {
		for _, c := range children[queue[0]] {
			out = append(out, c)
			queue = append(queue, c.pid)
		}
		queue = queue[1:]
	}
	return out, nil
}

// alive reports whether the process st describes still runs (and is not a
// zombie waiting for its new parent): same pid, same start time.
func alive(st procStat) bool {
	now, err := readStat(st.pid)
	return err == nil && now.start == st.start && now.state != "Z"
}

// sched is what the scheduler accounted to one thread: the time it ran
// and the time it was runnable but waited for a CPU.
type sched struct{ run, wait time.Duration }

// threadScheds reads, for each thread of pid, the first two fields of
// /proc/<pid>/task/<tid>/schedstat (nanoseconds).
func threadScheds(pid int) (map[int]sched, error) {
	tasks, err := os.ReadDir(fmt.Sprintf("/proc/%d/task", pid))
	if err != nil {
		return nil, err
	}
	out := map[int]sched{}
	for _, task := range tasks {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%s/schedstat", pid, task.Name()))
		if errors.Is(err, fs.ErrNotExist) {
			continue // the thread ended since the listing
		}
		if err != nil {
			return nil, err
		}
		f := strings.Fields(string(b))
		if len(f) < 2 {
			return nil, fmt.Errorf("/proc/%d/task/%s/schedstat: %d fields", pid, task.Name(), len(f))
		}
		tid, _ := strconv.Atoi(task.Name())
		run, _ := strconv.ParseInt(f[0], 10, 64)
		wait, _ := strconv.ParseInt(f[1], 10, 64)
		out[tid] = sched{time.Duration(run), time.Duration(wait)}
	}
	return out, nil
}

// schedSince returns, per thread of pid, what the scheduler accounted to
// it since before was taken; threads born since count from zero.
func schedSince(pid int, before map[int]sched) (map[int]sched, error) {
	now, err := threadScheds(pid)
	if err != nil {
		return nil, err
	}
	for tid, s := range now {
		now[tid] = sched{s.run - before[tid].run, s.wait - before[tid].wait}
	}
	return now, nil
}

// total sums the threads' times.
func total(ts map[int]sched) sched {
	var sum sched
	for _, s := range ts {
		sum.run += s.run
		sum.wait += s.wait
	}
	return sum
}

// spinFor spins on a thread of its own until that thread has run for
// cpu, or for at most wall, and returns how long it ran. It is the
// reference of a thread that always wants a CPU: what it gets is what
// the machine gives such a thread now, however loaded it is.
func spinFor(cpu, wall time.Duration) (time.Duration, error) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	first, err := threadRun()
	if err != nil {
		return 0, err
	}
	end := time.Now().Add(wall)
	for {
		// Spin a millisecond between reads: reading is a system call.
		for next := time.Now().Add(time.Millisecond); time.Now().Before(next); {
		}
		now, err := threadRun()
		if err != nil {
			return 0, err
		}
		if ran := now - first; ran >= cpu || time.Now().After(end) {
			return ran, nil
		}
	}
}

// threadRun is how long the calling thread has run.
func threadRun() (time.Duration, error) {
	b, err := os.ReadFile("/proc/thread-self/schedstat")
	if err != nil {
		return 0, err
	}
	f := strings.Fields(string(b))
	if len(f) < 1 {
		return 0, errors.New("/proc/thread-self/schedstat: empty")
	}
	run, err := strconv.ParseInt(f[0], 10, 64)
	return time.Duration(run), err
}
