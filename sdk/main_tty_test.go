//go:build linux || darwin

package sdk

import (
	"errors"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/creack/pty"
)

// TestMainRefusesTerminal: a plugin run by hand in a terminal says what it
// is and how to run it, and exits 2, rather than writing protocol bytes to
// the screen. Its standard error is the terminal too, as by hand.
func TestMainRefusesTerminal(t *testing.T) {
	for _, stream := range []string{"stdin", "stdout"} {
		t.Run(stream, func(t *testing.T) {
			ptmx, tty, err := pty.Open()
			if err != nil {
				t.Skipf("no pseudo-terminal: %v", err)
			}
			defer ptmx.Close()
			defer tty.Close()
			cmd := helperCommand()
			r, w, err := os.Pipe()
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			cmd.Stdin, cmd.Stdout, cmd.Stderr = r, w, tty
			if stream == "stdin" {
				cmd.Stdin = tty
			} else {
				cmd.Stdout = tty
			}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			w.Close()
			tty.Close()
			var out strings.Builder
			buf := make([]byte, 4096)
			for {
				n, err := ptmx.Read(buf)
				out.Write(buf[:n])
				if err != nil {
					break // the plugin exited and the terminal has no writer left
				}
			}
			err = cmd.Wait()
			var ee *exec.ExitError
			if !errors.As(err, &ee) || ee.ExitCode() != ExitRejected {
				t.Errorf("exit %v, want %d", err, ExitRejected)
			}
			if !strings.Contains(out.String(), "is a plugctl source plugin") || !strings.Contains(out.String(), "plugctl run DIR") {
				t.Errorf("the terminal showed %q, want the one line that says what the plugin is and how to run it", out.String())
			}
			if strings.Contains(out.String(), "PLUG") {
				t.Errorf("protocol bytes on the terminal: %q", out.String())
			}
		})
	}
}
