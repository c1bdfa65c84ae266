package host

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/plugctl/plugctl/runtime"
)

// TestAcceptNamesPeerBinary: a plugin that connects to the socket is
// checked against the executable of the process that connected, as a
// launched plugin is against the one the host started.
func TestAcceptNamesPeerBinary(t *testing.T) {
	dir, err := os.MkdirTemp("", "plugctl") // short: socket paths are limited to ~100 bytes
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "host.sock")
	var checked string
	ln, err := Listen(path, Options{Check: EnrollmentFunc(func(_ runtime.Hello, binary string) error {
		checked = binary
		return nil
	})})
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	cmd := exec.Command(testBinary(t))
	cmd.Env = append(os.Environ(), envFixture+"=count", runtime.EnvSocket+"="+path, runtime.EnvPluginID+"=sock")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		cmd.Process.Kill()
		cmd.Wait()
	}()
	ctx := closeCtx(t)
	p, err := ln.Accept(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close(ctx)
	want, err := filepath.EvalSymlinks(testBinary(t))
	if err != nil {
		t.Fatal(err)
	}
	if checked != want {
		t.Errorf("Enrollment saw binary %q, want %q", checked, want)
	}
}
