package acceptance

import (
	"context"
	"os"
	"regexp"
	"slices"
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
				noChild := r.Status == Skip && strings.HasPrefix(c.name, "lifecycle/child") && strings.HasPrefix(f, "good-")
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
	{"handshake/every-version", "raw-source", "fail-v2", false, "SPEC answered under protocol version 2; got"},
	{"handshake/every-version", "raw-sink", "fail-v2", false, "SPEC answered under protocol version 2; got"},
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
	{"config/required", "raw-source", "required-presence", false, `"url" = "" (empty, as if left out) rejected: invalid_config naming "url"; got accepted`},
	{"config/greater-than", "raw-source", "no-gt", false, `naming "workers"; got accepted`},
	{"config/greater-than", "raw-source", "gt-tight", false, `SETUP with "workers" = "1" (greater_than 0) accepted; got setup: invalid_config`},
	{"config/less-than", "raw-source", "no-lt", false, `(less_than 100001) rejected: invalid_config naming "burst"; got accepted`},
	{"config/less-than", "raw-source", "lt-tight", false, `OPEN with "burst" = "100000" (less_than 100001) accepted; got open instance`},
	{"config/inclusion", "raw-source", "no-inclusion", false, `naming "level"; got accepted`},
	{"config/inclusion", "raw-source", "inclusion-substring", false, `OPEN with "level" = "debu" (inclusion ["debug" "info" "warn"]) rejected: invalid_config naming "level"; got accepted`},
	{"config/exclusion", "raw-source", "no-exclusion", false, `naming "mode"; got accepted`},
	{"config/exclusion", "raw-source", "exclusion-substring", false, `OPEN with "mode" = "xlegacy" (exclusion ["legacy"]) accepted; got open instance`},
	{"config/regex", "raw-source", "no-regex", false, `(regex ^tok_[a-z0-9]{8,}$) rejected: invalid_config naming "auth.token"; got accepted`},
	{"config/regex", "raw-source", "regex-anchored", false, `OPEN with "tags" = "xa" (regex ^[a-z]) accepted; got open instance`},
	{"config/edge-values", "raw-source", "int32", false, `SETUP with "workers" = "9223372036854775807" (int) accepted; got setup: invalid_config`},
	{"config/edge-values", "raw-source", "empty-set", false, `SETUP with "workers" = "" (int, empty: its default) accepted; got setup: invalid_config`},
	{"config/wrong-type", "raw-source", "no-types", false, `(type int) rejected: invalid_config naming "burst"; got accepted`},
	{"config/unknown-param", "raw-source", "allow-unknown", false, `naming "plugctl_acceptance_unknown"; got accepted`},
	{"config/secret", "raw-source", "log-settings", false, "no secret value on stderr (valid configuration)"},
	{"source/read", "raw-source", "no-events", false, "got 0 of 3 events"},
	{"source/positions", "raw-source", "positions-repeat", false, "got position 2 after 2"},
	{"source/positions", "raw-source", "events-before-reply", false, "OPEN's REPLY before the instance's first EVENTS (PROTOCOL.md §4.5.4); got EVENTS of instance 1 before it"},
	{"source/timestamps", "raw-source", "zero-time", false, "has time 0 (1970"},
	{"source/timestamps", "raw-source", "zero-time-late", false, "has time 0 (1970"},
	{"source/positions", "raw-source", "positions-repeat-late", false, "got position 1001 after 1001"},
	{"source/kinds", "raw-source", "undeclared-kind-late", false, `has kind "undeclared"`},
	{"source/kinds", "raw-source", "undeclared-kind", false, `has kind "undeclared"`},
	{"source/resume", "raw-source", "resume-skip", false, "got positions [2] lost"},
	{"source/idle-cpu", "raw-source", "busy-loop", false, "while a spinning thread ran"},
	{"source/end", "raw-source", "end-ignore-stop", false, "STOP answered after END; got nothing within"},
	{"source/end", "raw-source", "end-no-status", false, "END body truncated"},
	{"source/end-version-1", "raw-source", "end-v3-always", false, "END body has 5 unexpected trailing bytes"},
	{"source/progress", "raw-source", "progress-150", false, "percent 150 outside [0, 100]"},
	{"source/progress", "raw-source", "progress-late-150", false, "every PROGRESS over the whole stream within 0 to 100; got malformed frame: PROGRESS percent 10"},
	{"source/progress", "raw-source", "progress-no-end", false, "END within 2s of PROGRESS at 100%, which declares the end of the stream; got no END 2s after it"},
	{"source/stop-drain", "raw-source", "stop-early", false, "events after it"},
	{"source/long-stream", "raw-source", "torn", false, "malformed frame"},
	{"sink/write", "raw-sink", "sink-error", false, "sink dropped the batch"},
	{"sink/retry", "raw-sink", "drop-repeat", false, "sent again; got nothing within"},
	{"sink/retry", "raw-sink", "late-retry-error", false, `RESULT ok for WRITE batch 52; got RESULT error "lost the batch it asked to be sent again"`},
	{"sink/stop-flush", "raw-sink", "stop-before-results", false, "no RESULT for batch 1 before the REPLY"},
	{"sink/stop-flush", "raw-sink", "stop-drops-queued", false, "the RESULT of every WRITE before STOP's REPLY; got no RESULT for batch"},
	{"source/window", "raw-source", "window-ignored", false, "at most 2 unacknowledged batches while no ACK came (the source waits for an ACK at the window); got batch 3"},
	{"source/window", "raw-source", "acks-ignored", false, "it stopped at its window twice, acknowledged: after 2 batches with a window of 2"},
	{"source/stop-full-window", "raw-source", "stop-drops-waiting", false, "STOP's REPLY sent while the window was full naming the last event received, 4; got REPLY ok position 6"},
	{"source/slow-acks", "raw-source", "ack-inside-batch", false, "at most 2 unacknowledged batches under slow acknowledgements"},
	{"instances/isolated", "raw-source", "shared-instance", false, "events of instance 1 only on instance 1"},
	{"instances/isolated", "raw-sink", "shared-instance", false, "instance 2; got on instance 1"},
	{"lifecycle/heartbeat", "raw-source", "no-heartbeat", false, "a HEARTBEAT after the handshake; got nothing within"},
	{"lifecycle/sigterm", "raw-source", "sigterm-no-goodbye", false, "GOODBYE after SIGTERM; got"},
	{"lifecycle/stdin-close", "raw-source", "ignore-eof", false, "of losing the host (2s and its start-up time); got plugin still running"},
	{"lifecycle/malformed-frame", "raw-source", "ignore-malformed", false, "of a frame of unknown type 0x7f (2s and its start-up time); got plugin still running"},
	{"lifecycle/malformed-frame", "raw-source", "vague-error", false, `an error on stderr that says what was wrong (naming 0x7f or 0x7F or 127) after a frame of unknown type 0x7f; got stderr "protocol error"`},
	{"faults/truncated", "raw-source", "panic-truncated", false, `no crash after an OPEN cut to 0 of its 27 bytes (OPEN body truncated at byte 0 reading request id (need 4 bytes, 0 left)); got a crash: "panic: runtime error`},
	{"faults/out-of-state", "raw-source", "setup-after-open", false, "REPLY unsupported to SETUP after an OPEN; got REPLY ok"},
	{"faults/out-of-state", "raw-sink", "reopen-replaces", false, "REPLY unsupported to a second OPEN of instance 1; got REPLY ok"},
	{"faults/out-of-state", "raw-source", "ack-beyond-accepted", false, "one beyond the last sent"},
	{"faults/limits", "raw-source", "limit-off-by-one", false, "a REPLY to a SETUP of exactly max_frame (65536) bytes; got"},
	{"lifecycle/stdout-clean", "raw-source", "stray-after-goodbye", false, "nothing but frames on standard output; got malformed frame"},
	{"lifecycle/children", "raw-source", "leak-child", false, " (sleep)]"},
	{"lifecycle/child-fds", "raw-source", "child-fds", false, "(sleep) holds the protocol's input pipe as descriptor 3"},
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

// TestSourceWindowPause: a source that, its window full, has nothing
// more to send for a while is not failed by source/window: it may have
// had no more events. (The one stalled by its window fails:
// acks-ignored above.)
func TestSourceWindowPause(t *testing.T) {
	t.Parallel()
	rs := runSuite(t, fixtureOptions("raw-source", "pause-after-two", true), "^source/window$")
	if r := rs["source/window"]; r.Status != Skip || !strings.Contains(r.Reason, "it paused, as a source may") && !strings.Contains(r.Reason, "has little to send") {
		t.Fatalf("source/window: %s, want a skip saying it paused\n%s", r.Status, report(rs))
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

// TestSkipsForWantOfConfiguration: when no value of a required parameter
// can be found, the checks that need a configuration skip naming it, and
// a skip for what the plugin is does not.
func TestSkipsForWantOfConfiguration(t *testing.T) {
	o := fixtureOptions("raw-source", "url-unmatchable", false)
	rs := runSuite(t, o, "^(config/valid|instances/isolated|sink/write)$")
	for _, name := range []string{"config/valid", "instances/isolated"} {
		if r := rs[name]; r.Status != Skip || !slices.Equal(r.Missing, []string{"url"}) || !strings.Contains(r.Reason, "--set url=VALUE") {
			t.Errorf("%s: %s %q, missing %q; want a skip for want of url", name, r.Status, r.Reason, r.Missing)
		}
	}
	if r := rs["sink/write"]; r.Status != Skip || len(r.Missing) > 0 {
		t.Errorf("sink/write: %s, missing %q; want a skip for the plugin's role alone", r.Status, r.Missing)
	}
}

// TestInstanceSettings: a configuration given for instance 2 is the one
// instances/isolated opens it with; one naming a global parameter, which
// the instances of a process share, stops the run.
func TestInstanceSettings(t *testing.T) {
	o := fixtureOptions("good-source", "", true)
	o.InstanceSettings = map[uint16]map[string]string{2: {"burst": "7"}}
	o.Verbose = true
	r := runSuite(t, o, "^instances/isolated$")["instances/isolated"]
	if r.Status != Pass || !slices.ContainsFunc(r.Steps, func(s string) bool {
		return strings.Contains(s, "OPEN instance 2") && strings.Contains(s, "burst:7")
	}) {
		t.Errorf("instances/isolated: %s, steps:\n%s", r.Status, strings.Join(r.Steps, "\n"))
	}
	o.InstanceSettings = map[uint16]map[string]string{2: {"workers": "3"}}
	if _, err := Run(context.Background(), o); err == nil || !strings.Contains(err.Error(), "--set workers=3") {
		t.Errorf("Run with a global parameter for instance 2: %v", err)
	}
}

// TestUserSecretsRedacted: a secret value the user gives never shows in a
// report, even from a plugin that logs it.
func TestUserSecretsRedacted(t *testing.T) {
	const secret = "tok_mysecretvalue1"
	o := fixtureOptions("raw-source", "log-settings", true)
	o.Settings = map[string]string{"auth.token": secret}
	o.Verbose = true
	r := runSuite(t, o, "^config/valid$")["config/valid"]
	all := strings.Join(append(append(r.Steps, r.Stderr...), r.Expected, r.Got), "\n")
	if strings.Contains(all, secret) || !strings.Contains(all, "auth.token:<secret>") {
		t.Errorf("config/valid %s; report:\n%s", r.Status, all)
	}
}

// TestOneCauseReportedOnce: a plugin that refuses the valid configuration,
// or whose SPEC is not the manifest's, fails the one check that owns the
// cause; the checks that need a configured plugin skip, naming it, rather
// than each failing with the same cause.
func TestOneCauseReportedOnce(t *testing.T) {
	for _, tc := range []struct{ knob, owner string }{
		{"reject-valid", "config/valid"},
		{"spec-stale", "spec/matches-manifest"},
	} {
		t.Run(tc.knob, func(t *testing.T) {
			t.Parallel()
			rs := runSuite(t, fixtureOptions("raw-source", tc.knob, true), "")
			blocked := 0
			for name, r := range rs {
				switch {
				case name == tc.owner:
					if r.Status != Fail {
						t.Errorf("%s: %s, want fail", name, r.Status)
					}
				case r.Status == Fail:
					t.Errorf("%s failed too: %s", name, r.Got)
				case r.Status == Skip && strings.Contains(r.Reason, tc.owner+" failed"):
					blocked++
				}
			}
			if blocked < 10 {
				t.Errorf("%d checks skipped naming %s, want the checks that need a configured plugin\n%s", blocked, tc.owner, report(rs))
			}
		})
	}
}

// TestExitedPluginReportedAtOnce: a source that exits instead of sending
// its first event, or soon when idle, fails the checks that wait for
// events or heartbeats with its exit status, not with the check's time
// running out.
func TestExitedPluginReportedAtOnce(t *testing.T) {
	o := fixtureOptions("raw-source", "exit-at-first-event", true)
	o.Timeout = time.Minute // a wait for the timeout would fail this test's own deadline, not pass it
	rs := runSuite(t, o, "^(source/read|source/positions|lifecycle/heartbeat)$")
	for name, r := range rs {
		if r.Status != Fail || !strings.Contains(r.Got, "exit status 3") {
			t.Errorf("%s: %s, got %q; want a failure naming exit status 3\n%s", name, r.Status, r.Got, report(rs))
		}
	}
}
