//go:build !linux

package acceptance

import (
	"errors"
	"os"
	"runtime"
)

// needProcfs is the skip of the checks that read processes from /proc
// (procfs.go), which this system does not have.
func needProcfs() error {
	return skipf("this check reads processes from /proc, which %s does not have", runtime.GOOS)
}

// pipeName and openFiles are never reached here: needProcfs skips first.
func pipeName(*os.File) (string, error)     { return "", errNoProcfs }
func openFiles(int) (map[int]string, error) { return nil, errNoProcfs }

var errNoProcfs = errors.New("no /proc on " + runtime.GOOS)
