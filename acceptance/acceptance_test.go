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
// only skips are the other role's checks, and lifecycle/children for the
// SDK fixtures, which start no child process.
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
// exactly the rule the check guards, and what the failure must say, so
// that failing for another reason (a timeout, a panic) does not count.
var brokenFixtures = []struct {
	check, fixture, knob string
	noManifest           bool   // expectations from the plugin's own SPEC
	says                 string // in "EXPECTED; got GOT"
}{
	{"handshake/version", "raw-source", "versions", false, "versions [9]"},
	{"handshake/identity", "raw-source", "hello-name", false, `"fixture-other"`},
	{"handshake/plugin-id", "raw-source", "fixed-id", false, `got "00000000-0000-4000-8000-000000000000"`},
	{"handshake/reject", "raw-source", "reject-exit0", false, "a non-zero exit after REJECT; got exit status 0"},
	{"handshake/ring", "raw-source", "ring-ignored", false, "after it moved to the shared ring"},
	{"handshake/ring", "raw-sink", "input-ring-ignored", false, "SPEC answered through the rings within"},
	{"spec/matches-manifest", "raw-source", "spec-description", false, `got "Not what the manifest says."`},
	{"spec/metadata", "raw-source", "no-summary", true, `a non-empty summary; got ""`},
	{"spec/semver", "raw-source", "version-v", true, `got "v1.2.3"`},
	{"config/valid", "raw-source", "reject-valid", false, "rejected whatever it is"},
	{"config/required", "raw-source", "no-required", false, `"url" left out rejected: invalid_config naming "url"; got accepted`},
	{"config/greater-than", "raw-source", "no-gt", false, `naming "workers"; got accepted`},
	{"config/less-than", "raw-source", "no-lt", false, `(less_than 100001) rejected: invalid_config naming "burst"; got accepted`},
	{"config/inclusion", "raw-source", "no-inclusion", false, `naming "level"; got accepted`},
	{"config/exclusion", "raw-source", "no-exclusion", false, `naming "mode"; got accepted`},
	{"config/regex", "raw-source", "no-regex", false, `(regex ^https?://) rejected: invalid_config naming "url"; got accepted`},
	{"config/wrong-type", "raw-source", "no-types", false, `(type int) rejected: invalid_config naming "burst"; got accepted`},
	{"config/unknown-param", "raw-source", "allow-unknown", false, `naming "plugctl_acceptance_unknown"; got accepted`},
	{"config/secret", "raw-source", "log-settings", false, "no secret value on stderr"},
	{"source/read", "raw-source", "no-events", false, "got 0 of 3 events"},
	{"source/positions", "raw-source", "positions-repeat", false, "got position 2 after 2"},
	{"source/timestamps", "raw-source", "zero-time", false, "has time 0 (1970"},
	{"source/kinds", "raw-source", "undeclared-kind", false, `has kind "undeclared"`},
	{"source/resume", "raw-source", "resume-skip", false, "got positions [2] lost"},
	{"source/idle-cpu", "raw-source", "busy-loop", false, "while a spinning thread ran"},
	{"source/end", "raw-source", "end-ignore-stop", false, "STOP answered after END; got nothing within"},
	{"source/end", "raw-source", "end-no-status", false, "END body truncated"},
	{"source/end-version-1", "raw-source", "end-v3-always", false, "END body has 5 unexpected trailing bytes"},
	{"source/progress", "raw-source", "progress-150", false, "percent 150 outside [0, 100]"},
	{"source/stop-drain", "raw-source", "stop-early", false, "events after it"},
	{"source/long-stream", "raw-source", "torn", false, "malformed frame"},
	{"sink/write", "raw-sink", "sink-error", false, "sink dropped the batch"},
	{"sink/retry", "raw-sink", "drop-repeat", false, "sent again; got nothing within"},
	{"sink/stop-flush", "raw-sink", "stop-before-results", false, "no RESULT for batch 1 before the REPLY"},
	{"instances/isolated", "raw-source", "shared-instance", false, "events of instance 1 only on instance 1"},
	{"instances/isolated", "raw-sink", "shared-instance", false, "instance 2; got on instance 1"},
	{"lifecycle/heartbeat", "raw-source", "no-heartbeat", false, "a HEARTBEAT after the handshake; got nothing within"},
	{"lifecycle/sigterm", "raw-source", "sigterm-no-goodbye", false, "GOODBYE after SIGTERM; got"},
	{"lifecycle/stdin-close", "raw-source", "ignore-eof", false, "of losing the host (2s and its start-up time); got plugin still running"},
	{"lifecycle/malformed-frame", "raw-source", "ignore-malformed", false, "of a frame of unknown type 0x7f (2s and its start-up time); got plugin still running"},
	{"lifecycle/stdout-clean", "raw-source", "stray-after-goodbye", false, "nothing but frames on standard output; got malformed frame"},
	{"lifecycle/children", "raw-source", "leak-child", false, " (sleep)]"},
}

// TestEveryCheckCatchesItsBrokenFixture runs each check against the
// fixture that breaks its rule, selected with Options.Run as `plugctl test
// --run` does, and expects it to fail, saying why. (The same fixture passes every
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
			said := r.Expected + "; got " + r.Got
			t.Logf("%s failed: expected %s", b.check, said)
			if !strings.Contains(said, b.says) {
				t.Errorf("%s failed for another reason: want %q in %q", b.check, b.says, said)
			}
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
