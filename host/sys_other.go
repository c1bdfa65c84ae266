//go:build !linux

package host

import (
	"net"
	"os"
	"os/exec"
	"syscall"
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

// peerBinary cannot name the peer's executable here: "".
func peerBinary(*net.UnixConn) string { return "" }
