package acceptance

import (
	"context"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestPythonPlugin runs every check against a source plugin written in
// Python from docs/PROTOCOL.md alone: the checks hold for a plugin in any
// language, and the protocol document is enough to write one.
func TestPythonPlugin(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a Python interpreter per check")
	}
	python, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("no python3 on this machine")
	}
	// The interpreter itself, not a wrapper such as pyenv's shim, which
	// costs more to start than the plugin: the fault checks start one
	// process per fault.
	if out, err := exec.Command(python, "-c", "import sys; print(sys.executable)").Output(); err == nil && len(out) > 1 {
		python = strings.TrimSpace(string(out))
	}
	script, err := filepath.Abs("../docs/examples/pytick.py")
	if err != nil {
		t.Fatal(err)
	}
	rs, err := Run(context.Background(), Options{Command: []string{python, script}})
	if err != nil {
		t.Fatal(err)
	}
	passed := 0
	for _, r := range rs {
		switch r.Status {
		case Fail:
			t.Errorf("%s failed: expected %s, got %s; stderr: %q", r.Name, r.Expected, r.Got, r.Stderr)
		case Pass:
			passed++
		}
	}
	// The plugin is a source: the sink checks skip, and so do the source
	// behaviours it does not have. Most checks must have run.
	if passed < 25 {
		t.Errorf("only %d checks passed: %s", passed, Summary(rs))
	}
}
