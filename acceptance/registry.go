package acceptance

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/plugctl/plugctl/host"
	"github.com/plugctl/plugctl/internal/linelog"
	"github.com/plugctl/plugctl/wire"
)

// check is one named acceptance check with one job.
type check struct {
	name string
	role wire.Role // the role it applies to; 0 for every plugin
	want string    // the rule, reported as expected when it breaks unexpectedly
	run  func(t *checkRun) error
}

// registry lists every check in report order. Each launches its own
// plugin processes, so any two can run at once.
var registry = []check{
	{"handshake/version", 0, "HELLO offers protocol version 1 and the plugin proceeds once the host picks it", checkVersion},
	{"handshake/every-version", 0, "under each protocol version the plugin offers, a whole session runs: SPEC, SETUP, OPEN, a short stream or a WRITE, STOP naming the last position, CLOSE, GOODBYE and exit 0", checkEveryVersion},
	{"handshake/identity", 0, "HELLO's name, version, role and kind table agree with the expected spec", checkIdentity},
	{"handshake/plugin-id", 0, "HELLO's plugin id is the PLUGCTL_PLUGIN_ID it was started with", checkPluginID},
	{"handshake/ring", 0, "a plugin offering protocol version 2 takes the shared ring the reference host offers and answers through it, and a sink offering 4 the input ring too", checkRing},
	{"handshake/reject", 0, "after REJECT the plugin exits non-zero within 2s and its start-up time, with the reason on stderr", checkReject},

	{"spec/matches-manifest", 0, "SPEC equals the manifest's specification", checkSpecMatches},
	{"spec/metadata", 0, "SPEC's name, summary and version are not empty", checkSpecMetadata},
	{"spec/semver", 0, "SPEC's version is a semantic version", checkSpecSemver},

	{"config/valid", 0, "a valid configuration is accepted by SETUP and OPEN under the reference host", checkConfigValid},
	{"config/required", 0, "leaving out a required parameter, or sending it empty, is rejected, naming it", checkConfigRequired},
	{"config/greater-than", 0, "a value not greater than its bound (the bound, one step below it, far below it) is rejected, naming the parameter; one step above it (1, 1ns, the next float), where the other rules allow, is accepted", checkConfigRule(wire.ValidationGreaterThan)},
	{"config/less-than", 0, "a value not less than its bound (the bound, one step above it, far above it) is rejected, naming the parameter; one step below it (1, 1ns, the next float), where the other rules allow, is accepted", checkConfigRule(wire.ValidationLessThan)},
	{"config/inclusion", 0, "a value outside the inclusion list, or a part of an allowed value or one holding it, is rejected, naming the parameter; each allowed value (for strings, also all at once) is accepted", checkConfigRule(wire.ValidationInclusion)},
	{"config/exclusion", 0, "each excluded value is rejected, naming the parameter; a part of an excluded value or one holding it, where the other rules allow, is accepted", checkConfigRule(wire.ValidationExclusion)},
	{"config/regex", 0, "a value not matching the regex is rejected, naming the parameter; matches (the configured value and ones built from the pattern, bare and with text around them) are accepted where the rules allow", checkConfigRule(wire.ValidationRegex)},
	{"config/edge-values", 0, "values at the edges of each type are accepted where the rules allow: the default sent explicitly, an empty value (no value), the largest and smallest int, float and duration, a negative duration, both bools, a strings list of one and of several items", checkConfigEdges},
	{"config/wrong-type", 0, "a value of the wrong type is rejected, naming the parameter", checkConfigWrongType},
	{"config/unknown-param", 0, "an unknown parameter is rejected, naming it", checkConfigUnknown},
	{"config/secret", 0, "secret values, sent with values that pass their rules and again with ones that break them, appear in no REPLY and not on stderr", checkConfigSecret},

	{"source/read", wire.RoleSource, "under the reference host, an opened source delivers events and drains on STOP", checkSourceRead},
	{"source/positions", wire.RoleSource, "positions are unique and increasing", checkSourcePositions},
	{"source/timestamps", wire.RoleSource, "event times are within a day of now", checkSourceTimestamps},
	{"source/kinds", wire.RoleSource, "every event's kind is declared in the spec", checkSourceKinds},
	{"source/resume", wire.RoleSource, "a source resumed after its last ack re-delivers every unacked event", checkSourceResume},
	{"source/idle-cpu", wire.RoleSource, "a source waiting for events uses under 20% of the CPU a spinning thread gets meanwhile", checkSourceIdleCPU},
	{"source/end", wire.RoleSource, "END of the chosen version says finished, then the instance still answers STOP and CLOSE and sends nothing", checkSourceEnd},
	{"source/end-version-1", wire.RoleSource, "when the host picks version 1, END has version 1's layout though the plugin offers newer versions", checkSourceEndVersion1},
	{"source/progress", wire.RoleSource, "every PROGRESS over the whole stream reports a percent within 0-100, and one at 100 is followed by END within 2s", checkSourceProgress},
	{"source/stop-drain", wire.RoleSource, "STOP's REPLY names the last event sent, and follows it", checkSourceStopDrain},
	{"source/window", wire.RoleSource, "with acknowledgements held back, a source sends no more batches than the window; once they resume it goes on where it stopped, losing nothing, and drains on STOP", checkSourceWindow},
	{"source/stop-full-window", wire.RoleSource, "STOP while the window is full: no batch beyond the window until acknowledgements come, then what was made, and STOP's REPLY names the last event sent", checkSourceStopFullWindow},
	{"source/slow-acks", wire.RoleSource, "acknowledged slowly, one batch at a time and at times inside a batch, a source with as many emitters as its parameters allow never exceeds the window and loses nothing", checkSourceSlowAcks},
	{"source/long-stream", wire.RoleSource, "a long stream of events arrives in whole frames", checkSourceLongStream},

	{"sink/write", wire.RoleSink, "under the reference host, every batch is written and STOP names the last position", checkSinkWrite},
	{"sink/retry", wire.RoleSink, "a batch answered retry is written when sent again, and a batch sent twice is answered; to be exercised, a sink must answer retry to one of the first 128 batches of 2 events, written one at a time", checkSinkRetry},
	{"sink/stop-flush", wire.RoleSink, "STOP's REPLY comes after the RESULT of every WRITE sent before it", checkSinkStopFlush},

	{"instances/isolated", 0, "two instances with their own configurations (the second's given with --set-instance 2:key=value, else one string at its default changed within its rules) run at once without mixing", checkInstances},

	{"lifecycle/heartbeat", 0, "HEARTBEAT every interval the host chose", checkHeartbeat},
	{"lifecycle/sigterm", 0, "SIGTERM gives GOODBYE and exit 0 within 2s and its start-up time", checkSigterm},
	{"lifecycle/stdin-close", 0, "closing the host's end ends the plugin within 2s and its start-up time, exit code non-zero", checkStdinClose},
	{"lifecycle/malformed-frame", 0, "a malformed frame from the host gives ERROR with its code, an error line on stderr saying what was wrong, and exit 4, within 2s and its start-up time", checkMalformed},
	{"lifecycle/stdout-clean", 0, "every byte on standard output is a frame, from HELLO to GOODBYE", checkStdoutClean},
	{"lifecycle/children", 0, "no child process outlives the plugin", checkChildren},
	{"lifecycle/child-fds", 0, "a child process the plugin starts holds neither of the protocol's pipes: they are close-on-exec", checkChildFDs},

	{"faults/truncated", 0, "every message a host sends, cut short at the start of each field and inside each, gives ERROR malformed, an error line naming the message and exit 4, without a crash", checkTruncated},
	{"faults/out-of-state", 0, "a message at the wrong time, for the wrong instance or role gets its documented reaction: a request REPLY unsupported and the session goes on, anything else ERROR with its code and exit 4", checkOutOfState},
	{"faults/limits", 0, "a frame of exactly the size limit is read, one byte more is too_large; one WRITE beyond a sink's window is window_exceeded", checkLimits},
}

// Bounds of the checks' own waits.
const (
	defaultHeartbeat = time.Second     // the interval checks that do not measure heartbeats offer
	exitBound        = 2 * time.Second // how long a plugin may take to exit when it must
)

// checkRun is what a running check works with: its deadline, the run's shared
// expectations, and the processes it launched (killed when it ends).
type checkRun struct {
	name   string // the check's
	ctx    context.Context
	env    *env
	steps  []string
	procs  []*proc        // driven over raw frames
	hosted []*host.Plugin // run by the reference host
	logs   []*linelog.Log // every process's stderr, in launch order
}

// logf records a step, reported with -v.
func (t *checkRun) logf(format string, args ...any) {
	t.steps = append(t.steps, fmt.Sprintf(format, args...))
}

// launch starts a fresh plugin process with a fresh plugin id.
func (t *checkRun) launch() (*proc, string, error) {
	id := newUUID()
	env := append(os.Environ(), t.env.opts.Env...)
	env = append(env, wire.EnvPluginID+"="+id)
	p, err := startProc(t.env.opts.Command, env, t.env.dir)
	if err != nil {
		return nil, "", err
	}
	t.procs = append(t.procs, p)
	t.logs = append(t.logs, p.stderr)
	t.logf("started pid %d with plugin id %s", p.pid, id)
	return p, id, nil
}

// start launches a plugin and completes the handshake.
func (t *checkRun) start(heartbeat time.Duration) (*proc, error) {
	p, _, err := t.launch()
	if err != nil {
		return nil, err
	}
	if _, err := p.handshake(t.ctx, heartbeat); err != nil {
		return nil, err
	}
	t.logf("handshake done, heartbeat %s", heartbeat)
	return p, nil
}

// errSlow is the cause of a promptly step's running out of time.
var errSlow = errors.New("the plugin's allowance ran out")

// promptly runs step with the check's time cut to p's allowance, for what
// a plugin must do at once; running out of it fails the rule expected,
// rather than waiting out the whole check.
func (t *checkRun) promptly(p *proc, expected string, step func() error) error {
	d, parent := p.allowance(), t.ctx
	ctx, cancel := context.WithTimeoutCause(parent, d, errSlow)
	defer cancel()
	t.ctx = ctx
	defer func() { t.ctx = parent }()
	err := step()
	if err != nil && parent.Err() == nil && errors.Is(context.Cause(ctx), errSlow) {
		return failf(expected, "nothing within %s (%s and its start-up time)", d.Round(time.Millisecond), exitBound)
	}
	return err
}

// sleep waits d, or fails when the check's time runs out first.
func (t *checkRun) sleep(d time.Duration) error {
	select {
	case <-time.After(d):
		return nil
	case <-t.ctx.Done():
		return t.ctx.Err()
	}
}

// config returns the valid configuration (instance 1's), or a skip saying
// why there is none.
func (t *checkRun) config() (config, error) {
	if b := t.env.blocker; b != nil && b.check != t.name {
		return config{}, skipf("not run: it needs %s, and %s failed", b.needs, b.check)
	}
	if t.env.cfgErr != nil {
		return config{}, t.env.cfgErr
	}
	return t.env.cfg.clone(), nil
}

// setup sends SETUP with c's global settings and expects ok.
func (t *checkRun) setup(p *proc, c config) error {
	r, err := p.request(t.ctx, wire.MsgSetup, 0, wire.Request{Settings: c.global})
	if err != nil {
		return err
	}
	t.logf("SETUP %v: %s", redact(t.env, c.global), describeReply(r))
	if r.Status != wire.StatusOK {
		return failf("SETUP accepted (REPLY ok)", "REPLY %s", describeReply(r))
	}
	return nil
}

// open sends OPEN for inst with c's instance settings and expects ok.
func (t *checkRun) open(p *proc, inst uint16, c config, resume *uint64) error {
	req := wire.Request{Settings: c.instance}
	if resume != nil {
		req.HasResume, req.Resume = true, *resume
	}
	r, err := p.request(t.ctx, wire.MsgOpen, inst, req)
	if err != nil {
		return err
	}
	t.logf("OPEN instance %d %v (resume %v): %s", inst, redact(t.env, c.instance), resume != nil, describeReply(r))
	if r.Status != wire.StatusOK {
		return failf("OPEN accepted (REPLY ok)", "REPLY %s", describeReply(r))
	}
	return nil
}

// startOpen starts a plugin, configures it and opens instance 1.
func (t *checkRun) startOpen() (*proc, error) {
	c, err := t.config()
	if err != nil {
		return nil, err
	}
	p, err := t.start(defaultHeartbeat)
	if err != nil {
		return nil, err
	}
	if err := t.setup(p, c); err != nil {
		return nil, err
	}
	return p, t.open(p, 1, c, nil)
}

// describeReply renders a REPLY for reports.
func describeReply(r *wire.Reply) string {
	s := r.Status.String()
	if r.Message != "" {
		s += fmt.Sprintf(" %q", r.Message)
	}
	for _, p := range r.Problems {
		s += fmt.Sprintf(" [%s: %s]", p.Param, p.Message)
	}
	if r.HasPosition {
		s += fmt.Sprintf(" position %d", r.Position)
	}
	return s
}

// redact hides the values of secret parameters in steps.
func redact(e *env, settings map[string]string) map[string]string {
	out := cloneMap(settings)
	for k := range out {
		if e.secret[k] {
			out[k] = "<secret>"
		}
	}
	return out
}

// failure is a check's verdict that the plugin broke its rule.
type failure struct{ expected, got string }

func (f *failure) Error() string { return "expected " + f.expected + ", got " + f.got }

// failf reports a broken rule: what was expected and what happened.
func failf(expected, format string, args ...any) error {
	return &failure{expected: expected, got: fmt.Sprintf(format, args...)}
}

// skipped says a check could not judge this plugin, and why. missing
// names the parameters it lacked values for: a skip for want of
// configuration, which the user can remedy, unlike one for what the
// plugin is or declares.
type skipped struct {
	reason  string
	missing []string
}

func (s *skipped) Error() string { return "skipped: " + s.reason }

func skipf(format string, args ...any) error {
	return &skipped{reason: fmt.Sprintf(format, args...)}
}

// needf is a skip for want of values of the parameters ps; the reason
// ends with how to give them.
func needf(ps []wire.Param, format string, args ...any) error {
	var names, ways []string
	for _, p := range ps {
		names = append(names, p.Name)
		way := "--set " + p.Name + "=VALUE"
		if !p.Secret {
			way += " or an example in plugin.toml"
		}
		ways = append(ways, way)
	}
	return &skipped{
		reason:  fmt.Sprintf(format, args...) + "; give a value with " + strings.Join(ways, "; "),
		missing: names,
	}
}

// newUUID returns a random (version 4) UUID.
func newUUID() string {
	var b [16]byte
	rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}
