//go:build !linux

package host

import (
	"errors"
	"net"
	"os"
	"os/exec"
	"syscall"

	"github.com/plugctl/plugctl/enroll"
)

// growPipe is a no-op where pipe capacity cannot be set.
func growPipe(*os.File) {}

// sysProcAttr adds nothing outside Linux: there is no parent-death signal,
// so a plugin outlives a host that dies without closing it until the
// plugin finds the pipe closed or the host silent.
func sysProcAttr() *syscall.SysProcAttr { return nil }

// killPlugin kills the plugin process.
func killPlugin(p *os.Process) error { return p.Kill() }

// startProcess starts cmd.
func startProcess(cmd *exec.Cmd) error { return cmd.Start() }

// peerIdentity cannot name the peer's executable here.
func peerIdentity(*net.UnixConn, bool) identity {
	return identity{digestErr: errors.New("the peer's executable cannot be found on this system")}
}

// openExecutable digests the binary at path. It returns no file: only
// Linux can execute an open file, so the binary then runs by path, and one
// swapped in between the digest and the start is not caught.
func openExecutable(path string) (*os.File, enroll.Digest, error) {
	d, err := enroll.HashFile(path)
	return nil, d, err
}

// fdPath is not used where openExecutable returns no file.
func fdPath(*os.File) string { return "" }
