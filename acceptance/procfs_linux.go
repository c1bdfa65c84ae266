package acceptance

import (
	"fmt"
	"os"
	"strconv"
	"syscall"
)

// needProcfs is the skip of the checks that read processes from /proc
// (procfs.go) when it is not mounted, as in some containers.
func needProcfs() error {
	if _, err := os.Stat("/proc/self/stat"); err != nil {
		return skipf("this check reads processes from /proc, which is not mounted here (%v)", err)
	}
	return nil
}

// pipeName is how /proc/PID/fd names the pipe behind f: "pipe:[INODE]".
func pipeName(f *os.File) (string, error) {
	fi, err := f.Stat()
	if err != nil {
		return "", err
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return "", fmt.Errorf("%s: no inode", f.Name())
	}
	return fmt.Sprintf("pipe:[%d]", st.Ino), nil
}

// openFiles lists what the descriptors of process pid refer to, by
// descriptor number, as /proc/PID/fd names them.
func openFiles(pid int) (map[int]string, error) {
	dir := fmt.Sprintf("/proc/%d/fd", pid)
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	out := map[int]string{}
	for _, e := range entries {
		fd, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if target, err := os.Readlink(dir + "/" + e.Name()); err == nil {
			out[fd] = target
		}
	}
	return out, nil
}
