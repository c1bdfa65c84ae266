package acceptance

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// spinLoad keeps every core busy for the rest of the test with n processes
// that spin, as other work on a shared machine does, and kills them (by
// their own pids) when the test ends.
func spinLoad(t *testing.T, n int) {
	t.Helper()
	for range n {
		cmd := exec.Command(os.Args[0])
		cmd.Env = append(os.Environ(), fixtureEnv+"=spin")
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			cmd.Process.Kill()
			cmd.Wait()
		})
	}
}

// TestVerdictsUnderLoad: the checks whose verdicts depend on timing give
// the same verdicts, for the same reasons, while other processes keep
// every core busy: a correct plugin passes and each broken fixture fails.
func TestVerdictsUnderLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("loads every core for several seconds")
	}
	if runtime.GOOS != "linux" {
		t.Skip("source/idle-cpu reads /proc, which only Linux has")
	}
	spinLoad(t, 2*runtime.NumCPU())
	cases := []struct {
		check, fixture, knob string
		want                 Status
		says                 string // in a failure's "EXPECTED; got GOT"
	}{
		{"source/idle-cpu", "raw-source", "", Pass, ""},
		{"source/idle-cpu", "raw-source", "busy-loop", Fail, "while a spinning thread ran"},
		{"source/idle-cpu", "good-source", "", Pass, ""},
		{"lifecycle/heartbeat", "raw-source", "", Pass, ""},
		{"lifecycle/heartbeat", "raw-source", "no-heartbeat", Fail, "a HEARTBEAT after the handshake; got nothing within"},
		{"lifecycle/heartbeat", "good-source", "", Pass, ""},
		{"lifecycle/malformed-frame", "raw-source", "", Pass, ""},
		{"source/window", "good-source", "", Pass, ""},
		{"source/window", "raw-source", "window-ignored", Fail, "got batch 3"},
		{"source/stop-full-window", "raw-source", "", Pass, ""},
		{"faults/truncated", "good-source", "", Pass, ""},
		{"faults/out-of-state", "raw-sink", "", Pass, ""},
	}
	for _, c := range cases {
		t.Run(c.check+"/"+c.fixture+"/"+c.knob, func(t *testing.T) {
			assertVerdict(t, fixtureOptions(c.fixture, c.knob, true), c.check, c.want, c.says)
		})
	}
	python, err := exec.LookPath("python3")
	if err != nil {
		return
	}
	script, err := filepath.Abs("../docs/examples/pytick.py")
	if err != nil {
		t.Fatal(err)
	}
	for _, check := range []string{"source/idle-cpu", "lifecycle/heartbeat", "lifecycle/malformed-frame"} {
		t.Run(check+"/pytick", func(t *testing.T) {
			assertVerdict(t, Options{Command: []string{python, script}}, check, Pass, "")
		})
	}
}

// assertVerdict runs one check and expects its status, and on failure
// what it says to contain says.
func assertVerdict(t *testing.T, o Options, check string, want Status, says string) {
	t.Helper()
	o.Verbose = true
	r := runSuite(t, o, "^"+check+"$")[check]
	t.Logf("%s: %s %s%s; steps: %s", check, r.Status, r.Got, r.Reason, strings.Join(r.Steps, "; "))
	if said := r.Expected + "; got " + r.Got; r.Status != want || !strings.Contains(said, says) {
		t.Errorf("%s: %s, want %s (%q, want it to contain %q)", check, r.Status, want, said, says)
	}
}
