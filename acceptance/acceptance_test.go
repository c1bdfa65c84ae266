package acceptance

import (
	"context"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"
)

// fixtureOptions runs the suite against a fixture of this test binary,
// with the fixture manifest as expectations unless withManifest is false.
func fixtureOptions(fixture, knob string, withManifest bool) Options {
	o := Options{
		Command: []string{os.Args[0]},
		// A race-enabled process otherwise lingers a second at exit.
		Env: []string{fixtureEnv + "=" + fixture, breakEnv + "=" + knob, "GORACE=atexit_sleep_ms=0"},
	}
	if withManifest {
		role := "source"
		if strings.HasSuffix(fixture, "sink") {
			role = "sink"
		}
		o.Manifest = fixtureManifest(role)
	}
	return o
}

// runSuite runs the checks selected by run (all when empty).
func runSuite(t *testing.T, o Options, run string) map[string]Result {
	t.Helper()
	if run != "" {
		o.Run = regexp.MustCompile(run)
	}
	rs, err := Run(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]Result{}
	for _, r := range rs {
		out[r.Name] = r
	}
	return out
}

// report renders results for a failing test's log.
func report(rs map[string]Result) string {
	var b strings.Builder
	var list []Result
	for _, c := range registry {
		if r, ok := rs[c.name]; ok {
			list = append(list, r)
		}
	}
	WriteText(&b, list, false)
	return b.String()
}

// TestGoodFixturesPass: plugins that follow the protocol, one built with
// the SDK and one written against the codec, pass every check; the
// only skips are the other role's checks.
func TestGoodFixturesPass(t *testing.T) {
	for _, f := range []string{"good-source", "good-sink", "raw-source", "raw-sink"} {
		t.Run(f, func(t *testing.T) {
			start := time.Now()
			rs := runSuite(t, fixtureOptions(f, "", true), "")
			t.Logf("whole suite in %s", time.Since(start).Round(time.Millisecond))
			for _, c := range registry {
				r := rs[c.name]
				roleSkip := r.Status == Skip && strings.Contains(r.Reason, "this check is for a")
				noChild := r.Status == Skip && c.name == "lifecycle/children" && strings.HasPrefix(f, "good-")
				if r.Status != Pass && !roleSkip && !noChild {
					t.Errorf("%s: %s\n%s", c.name, r.Status, report(rs))
				}
			}
		})
	}
}

// brokenFixtures names, for every check, a raw fixture knob that breaks
// exactly the rule the check guards.
var brokenFixtures = []struct {
	check, fixture, knob string
	noManifest           bool // expectations from the plugin's own SPEC
}{
	{"handshake/version", "raw-source", "versions", false},
	{"handshake/identity", "raw-source", "hello-name", false},
	{"handshake/plugin-id", "raw-source", "fixed-id", false},
	{"handshake/reject", "raw-source", "reject-exit0", false},
	{"handshake/ring", "raw-source", "ring-ignored", false},
	{"spec/matches-manifest", "raw-source", "spec-description", false},
	{"spec/metadata", "raw-source", "no-summary", true},
	{"spec/semver", "raw-source", "version-v", true},
	{"config/valid", "raw-source", "reject-valid", false},
	{"config/required", "raw-source", "no-required", false},
	{"config/greater-than", "raw-source", "no-gt", false},
	{"config/less-than", "raw-source", "no-lt", false},
	{"config/inclusion", "raw-source", "no-inclusion", false},
	{"config/exclusion", "raw-source", "no-exclusion", false},
	{"config/regex", "raw-source", "no-regex", false},
	{"config/wrong-type", "raw-source", "no-types", false},
	{"config/unknown-param", "raw-source", "allow-unknown", false},
	{"config/secret", "raw-source", "log-settings", false},
	{"source/read", "raw-source", "no-events", false},
	{"source/positions", "raw-source", "positions-repeat", false},
	{"source/timestamps", "raw-source", "zero-time", false},
	{"source/kinds", "raw-source", "undeclared-kind", false},
	{"source/resume", "raw-source", "resume-skip", false},
	{"source/idle-cpu", "raw-source", "busy-loop", false},
	{"source/end", "raw-source", "end-ignore-stop", false},
	{"source/end", "raw-source", "end-no-status", false},
	{"source/end-version-1", "raw-source", "end-v3-always", false},
	{"source/progress", "raw-source", "progress-150", false},
	{"source/stop-drain", "raw-source", "stop-early", false},
	{"source/long-stream", "raw-source", "torn", false},
	{"sink/write", "raw-sink", "sink-error", false},
	{"sink/retry", "raw-sink", "drop-repeat", false},
	{"sink/stop-flush", "raw-sink", "stop-before-results", false},
	{"instances/isolated", "raw-source", "shared-instance", false},
	{"instances/isolated", "raw-sink", "shared-instance", false},
	{"lifecycle/heartbeat", "raw-source", "no-heartbeat", false},
	{"lifecycle/sigterm", "raw-source", "sigterm-no-goodbye", false},
	{"lifecycle/stdin-close", "raw-source", "ignore-eof", false},
	{"lifecycle/malformed-frame", "raw-source", "ignore-malformed", false},
	{"lifecycle/stdout-clean", "raw-source", "stray-after-goodbye", false},
	{"lifecycle/children", "raw-source", "leak-child", false},
}

// TestEveryCheckCatchesItsBrokenFixture runs each check against the
// fixture that breaks its rule, selected with Options.Run as `plugctl test
// --run` does, and expects it to fail. (The same fixture passes every
// check without its knob: TestGoodFixturesPass.)
func TestEveryCheckCatchesItsBrokenFixture(t *testing.T) {
	covered := map[string]bool{}
	for _, b := range brokenFixtures {
		covered[b.check] = true
		t.Run(b.knob+"/"+b.fixture, func(t *testing.T) {
			t.Parallel()
			o := fixtureOptions(b.fixture, b.knob, !b.noManifest)
			rs := runSuite(t, o, "^"+regexp.QuoteMeta(b.check)+"$")
			r := rs[b.check]
			if r.Status != Fail || len(rs) != 1 {
				t.Fatalf("%s: %s, want fail\n%s", b.check, r.Status, report(rs))
			}
			t.Logf("%s failed: expected %s; got %s", b.check, r.Expected, r.Got)
		})
	}
	for _, c := range registry {
		if !covered[c.name] {
			t.Errorf("no broken fixture for %s", c.name)
		}
	}
}

// TestRunNotAPlugin: a program that does not speak the protocol is an
// error of Run, not a list of failures.
func TestRunNotAPlugin(t *testing.T) {
	for _, cmd := range [][]string{
		{"sh", "-c", "echo hello world"},
		{"/nonexistent/plugin"},
	} {
		_, err := Run(context.Background(), Options{Command: cmd, Timeout: 2 * time.Second})
		if err == nil {
			t.Errorf("%v: Run succeeded", cmd)
			continue
		}
		t.Log(err)
		if !strings.Contains(err.Error(), "does not work as a plugctl plugin") {
			t.Errorf("%v: %v", cmd, err)
		}
	}
}
