//go:build unix

package acceptance

import (
	"os/exec"
	"syscall"
)

// ownGroup starts the plugin in a process group of its own, so that
// killGroup also reaches the children it leaves behind.
func ownGroup(cmd *exec.Cmd) { cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} }

// killGroup kills the plugin's process group.
func killGroup(p *proc) { syscall.Kill(-p.pid, syscall.SIGKILL) }

// terminate asks the plugin to shut down, as a service manager does.
func terminate(p *proc) error { return syscall.Kill(p.pid, syscall.SIGTERM) }

// hold stops the plugin (SIGSTOP), so that the frames sent until release
// reach it together, all already in its input when it goes on (SIGCONT).
func hold(p *proc) (release func()) {
	syscall.Kill(p.pid, syscall.SIGSTOP)
	return func() { syscall.Kill(p.pid, syscall.SIGCONT) }
}
