//go:build !unix

package acceptance

import (
	"os/exec"
	"runtime"
)

// ownGroup does nothing: without Unix process groups, killGroup reaches
// only the plugin, and lifecycle/children cannot run (see needProcfs).
func ownGroup(*exec.Cmd) {}

// killGroup kills the plugin.
func killGroup(p *proc) { p.cmd.Process.Kill() }

// terminate cannot send SIGTERM, which this system does not have; a host
// here stops a plugin with GOODBYE or by closing its standard input, which
// other checks cover.
func terminate(*proc) error {
	return skipf("%s has no SIGTERM to send", runtime.GOOS)
}

// hold cannot stop the plugin here: the frames sent until release reach
// it back to back, as the plugin reads them.
func hold(*proc) (release func()) { return func() {} }
