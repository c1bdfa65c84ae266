package acceptance

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// clockTick is the unit of CPU times in /proc: USER_HZ, 100 on Linux.
const clockTick = 10 * time.Millisecond

// procStat is what the checks read of /proc/<pid>/stat.
type procStat struct {
	pid, ppid int
	comm      string
	state     string        // R, S, Z…
	cpu       time.Duration // user + system time
	start     uint64        // start time in ticks since boot, tells reused pids apart
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
	// f[0] is field 3 (state): ppid is field 4, utime 14, stime 15, starttime 22.
	if len(f) < 20 {
		return procStat{}, fmt.Errorf("/proc/%d/stat: %d fields", pid, len(f))
	}
	ppid, _ := strconv.Atoi(f[1])
	utime, _ := strconv.ParseUint(f[11], 10, 64)
	stime, _ := strconv.ParseUint(f[12], 10, 64)
	start, _ := strconv.ParseUint(f[19], 10, 64)
	return procStat{
		pid: pid, ppid: ppid, comm: s[open+1 : closing], state: f[0],
		cpu:   time.Duration(utime+stime) * clockTick,
		start: start,
	}, nil
}

// descendants returns every living process below pid.
func descendants(pid int) []procStat {
	entries, _ := os.ReadDir("/proc")
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
	return out
}

// alive reports whether the process st describes still runs (and is not a
// zombie waiting for its new parent): same pid, same start time.
func alive(st procStat) bool {
	now, err := readStat(st.pid)
	return err == nil && now.start == st.start && now.state != "Z"
}

// runQueueWaits returns, for each thread of pid, how long it has been
// runnable but waiting for a CPU: the second field of
// /proc/<pid>/task/<tid>/schedstat, in nanoseconds.
func runQueueWaits(pid int) map[int]time.Duration {
	tasks, _ := os.ReadDir(fmt.Sprintf("/proc/%d/task", pid))
	out := map[int]time.Duration{}
	for _, task := range tasks {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%s/schedstat", pid, task.Name()))
		f := strings.Fields(string(b))
		if err != nil || len(f) < 2 {
			continue
		}
		tid, _ := strconv.Atoi(task.Name())
		wait, _ := strconv.ParseInt(f[1], 10, 64)
		out[tid] = time.Duration(wait)
	}
	return out
}

// longestWait is the most time one thread of pid spent waiting for a CPU
// since before was taken.
func longestWait(pid int, before map[int]time.Duration) time.Duration {
	var longest time.Duration
	for tid, w := range runQueueWaits(pid) {
		longest = max(longest, w-before[tid])
	}
	return longest
}
