package acceptance

import "os"

// needProcfs is the skip of the checks that read processes from /proc
// (procfs.go) when it is not mounted, as in some containers.
func needProcfs() error {
	if _, err := os.Stat("/proc/self/stat"); err != nil {
		return skipf("this check reads processes from /proc, which is not mounted here (%v)", err)
	}
	return nil
}
