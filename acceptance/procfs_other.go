//go:build !linux

package acceptance

import "runtime"

// needProcfs is the skip of the checks that read processes from /proc
// (procfs.go), which this system does not have.
func needProcfs() error {
	return skipf("this check reads processes from /proc, which %s does not have", runtime.GOOS)
}
