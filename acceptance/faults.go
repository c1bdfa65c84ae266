package acceptance

import (
	"context"
	"errors"
	"fmt"
	"os"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/plugctl/plugctl/wire"
)

// exitViolation is the exit code of a plugin after the host broke the
// protocol (PROTOCOL.md §8.3).
const exitViolation = 4

// faultParallel is how many faults run at once, over all the checks of a
// run together. Each has a plugin process of its own that mostly waits,
// but starting one is what costs: more at once would starve the checks
// that measure time, and the plugins' own heartbeat watches.
const faultParallel = 4

// stage is how far a fault takes a fresh plugin's session before it
// misbehaves.
type stage int

const (
	stageHello      stage = iota // HELLO read; no HELLO_ACK yet
	stageReady                   // handshake done and SPEC answered; nothing configured
	stageConfigured              // SETUP answered ok
	stageOpen                    // instance 1 open
)

// fault is one thing a host does wrong to a fresh plugin process, and the
// reaction it requires.
type fault struct {
	what     string    // what the host does, for reports
	role     wire.Role // the role it applies to; 0 for every plugin
	stage    stage
	window   uint32 // offered in HELLO_ACK; 0: checkWindow
	maxFrame uint32 // offered in HELLO_ACK; 0: checkMaxFrame
	run      func(t *checkRun, p *proc) error
}

// runFaults runs each fault that applies to the plugin against a process
// of its own, a few at a time, and returns the failure of the first one
// in list order that failed; a skip when none could run.
func (t *checkRun) runFaults(probes []fault) error {
	var todo []fault
	for _, pr := range probes {
		if pr.role == 0 || pr.role == t.env.spec.Role {
			todo = append(todo, pr)
		}
	}
	results := make([]error, len(todo))
	runs := make([]*checkRun, len(todo))
	sem := t.env.faultSlots
	var wg sync.WaitGroup
	var longest atomic.Int64 // the longest a fault took so far
	tried, untried := make([]bool, len(todo)), 0
	// In list order, so that the first failure is the same from run to run.
	for i, pr := range todo {
		sem <- struct{}{}
		runs[i] = &checkRun{name: t.name, ctx: t.ctx, env: t.env}
		// A fault needs the plugin's allowance once started: one that
		// cannot have it is not tried rather than cut short.
		if dl, ok := t.ctx.Deadline(); ok && time.Until(dl) < exitBound+time.Duration(longest.Load()) {
			<-sem
			untried++
			continue
		}
		tried[i] = true
		wg.Go(func() {
			defer func() { <-sem }()
			start := time.Now()
			results[i] = runs[i].try(pr)
			runs[i].cleanup()
			d := int64(time.Since(start))
			for old := longest.Load(); d > old && !longest.CompareAndSwap(old, d); old = longest.Load() {
			}
		})
	}
	wg.Wait()
	ran, failed := 0, -1
	var skips, missing []string
	for i, err := range results {
		if !tried[i] {
			continue
		}
		t.steps = append(t.steps, runs[i].steps...)
		var s *skipped
		switch {
		case err == nil:
			ran++
			t.logf("%s: as required", todo[i].what)
		case errors.As(err, &s):
			if !slices.Contains(skips, s.reason) {
				skips = append(skips, s.reason)
			}
			for _, m := range s.missing {
				if !slices.Contains(missing, m) {
					missing = append(missing, m)
				}
			}
			t.logf("%s: skipped: %s", todo[i].what, s.reason)
		default:
			ran++
			t.logf("%s: %v", todo[i].what, err)
			if failed < 0 {
				failed = i
			}
		}
	}
	if failed >= 0 {
		// The report's stderr is the failing plugin's, not a mix of all.
		t.logs = runs[failed].logs
		return results[failed]
	}
	if untried > 0 {
		return skipf("the check's time ran out with %d of its %d faults not tried, each taking up to %s; give more time with --timeout", untried, len(todo), time.Duration(longest.Load()).Round(time.Millisecond))
	}
	if ran == 0 {
		// A skip for want of configuration stays one: the run says what to set.
		return &skipped{reason: strings.Join(skips, "; "), missing: missing}
	}
	return nil
}

// try takes a fresh plugin to pr's stage, then runs pr. A plugin that
// crashed fails for that, whatever went wrong first.
func (t *checkRun) try(pr fault) error {
	err := t.reach(pr)
	if err == nil {
		err = pr.run(t, t.procs[0])
	}
	var f *failure
	var s *skipped
	if err == nil || errors.As(err, &s) {
		return err
	}
	if len(t.procs) > 0 {
		p := t.procs[0]
		p.stderr.Settle(drainStdout)
		if c := crash(p.exitState(), p.stderr.Lines()); c != "" {
			return failf("no crash after "+pr.what, "%s", c)
		}
	}
	if !errors.As(err, &f) {
		err = failf("the plugin's reaction to "+pr.what, "%v", err)
	}
	return err
}

// reach starts a plugin and takes its session to pr's stage.
func (t *checkRun) reach(pr fault) error {
	var c config
	if pr.stage >= stageConfigured {
		var err error
		if c, err = t.config(); err != nil {
			return err
		}
	}
	p, _, err := t.launch()
	if err != nil {
		return err
	}
	h, err := p.hello(t.ctx)
	if err != nil || pr.stage == stageHello {
		return err
	}
	ack := wire.HelloAck{Version: chosenVersion(h), MaxFrame: checkMaxFrame, Window: checkWindow}
	if pr.maxFrame != 0 {
		ack.MaxFrame = pr.maxFrame
	}
	if pr.window != 0 {
		ack.Window = pr.window
	}
	if err := p.acceptAck(defaultHeartbeat, ack); err != nil {
		return err
	}
	if _, err := p.spec(t.ctx); err != nil {
		return err
	}
	if pr.stage >= stageConfigured {
		if err := t.setup(p, c); err != nil {
			return err
		}
	}
	if pr.stage >= stageOpen {
		return t.open(p, 1, c, nil)
	}
	return nil
}

// exitState is the process's exit state, nil while it runs.
func (p *proc) exitState() *os.ProcessState {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.state
}

// crashLine starts the report of a crash: a Go panic or fatal error and
// its goroutine dump, or a Python traceback.
var crashLine = regexp.MustCompile(`^(panic: |fatal error: |goroutine \d+ \[|Traceback \(most recent call last\):)`)

// crash describes how the plugin crashed, from its exit state (nil
// while it runs) and stderr lines; empty if it did not.
func crash(st *os.ProcessState, lines []string) string {
	for _, l := range lines {
		if crashLine.MatchString(l) {
			return "a crash: " + quote(l) + " on stderr"
		}
	}
	if st != nil && strings.HasPrefix(st.String(), "signal: ") {
		return "the plugin killed by a signal: " + st.String()
	}
	return ""
}

// frameOf is a whole frame: header and body.
func frameOf(t wire.MsgType, inst uint16, body []byte) []byte {
	return append(wire.AppendHeader(nil, t, inst, len(body)), body...)
}

// typeNames are the ways an error line may name message type m.
func typeNames(m wire.MsgType) []string {
	return []string{m.String(), fmt.Sprintf("0x%02x", uint8(m)), fmt.Sprintf("0x%02X", uint8(m))}
}

// fatal sends frame, which breaks the protocol, and requires the reaction
// PROTOCOL.md §8.1 gives: ERROR with code; a line on stderr, written
// after the frame, that says what was wrong by containing one of names;
// exit status 4 (§8.3), within the plugin's allowance; no crash.
func (t *checkRun) fatal(p *proc, what string, frame []byte, code wire.ErrorCode, names ...string) error {
	mark := len(p.stderr.Lines())
	if err := p.sendRaw(frame); err != nil {
		t.logf("sending %s: %v", what, err) // it may be gone already: its exit says why
	}
	return t.reaction(p, what, mark, code, names...)
}

// reaction is fatal's verdict on what the plugin did after what, its
// stderr lines from mark on.
func (t *checkRun) reaction(p *proc, what string, mark int, code wire.ErrorCode, names ...string) error {
	st, err := p.mustExit(what)
	if err != nil {
		return err
	}
	p.stderr.Settle(exitBound)
	p.wait(t.ctx, drainStdout, "waiting for the end of standard output", func() bool { return p.readErr != nil })
	lines := p.stderr.Lines()
	lines = lines[min(mark, len(lines)):]
	got := lastError(p)
	t.logf("after %s: %s, %s; stderr %q", what, describeError(got), st, strings.Join(lines, " | "))
	if c := crash(st, lines); c != "" {
		return failf("no crash after "+what, "%s", c)
	}
	switch {
	case got == nil || got.Code != code:
		p.mu.Lock()
		stream := p.streamError()
		p.mu.Unlock()
		return failf(fmt.Sprintf("ERROR %s after %s", code, what), "%s (%v)", describeError(got), stream)
	case st.ExitCode() != exitViolation:
		return failf(fmt.Sprintf("exit status %d (the host broke the protocol, PROTOCOL.md §8.3) after %s", exitViolation, what), "%s", st)
	case !mentions(lines, names):
		got := "nothing on stderr after it"
		if len(lines) > 0 {
			got = "stderr " + quote(strings.Join(lines, " | "))
		}
		return failf(fmt.Sprintf("an error on stderr that says what was wrong (naming %s) after %s", strings.Join(names, " or "), what), "%s", got)
	}
	return nil
}

// mentions reports whether any line contains any of names.
func mentions(lines, names []string) bool {
	for _, l := range lines {
		for _, n := range names {
			if strings.Contains(l, n) {
				return true
			}
		}
	}
	return false
}

// lastError is the last ERROR the plugin sent, or nil.
func lastError(p *proc) *wire.ErrorMsg {
	var got *wire.ErrorMsg
	for _, f := range p.frames() {
		if e, ok := f.msg.(*wire.ErrorMsg); ok {
			got = e
		}
	}
	return got
}

// describeFailure adds to err, when the plugin sent one, its ERROR: what
// it found wrong says more than how the wait ended.
func describeFailure(p *proc, err error) error {
	if e := lastError(p); err != nil && e != nil {
		return fmt.Errorf("%w; the plugin sent ERROR %s", err, e.Error())
	}
	return err
}

// within is a request whose REPLY must come within p's allowance.
func (t *checkRun) within(p *proc, typ wire.MsgType, inst uint16, req wire.Request) (*wire.Reply, error) {
	ctx, cancel := context.WithTimeout(t.ctx, p.allowance())
	defer cancel()
	return p.request(ctx, typ, inst, req)
}

// unsupported sends a request that is well-formed but not valid in the
// session's state, and requires REPLY unsupported, after which the
// session goes on (PROTOCOL.md §4.3).
func (t *checkRun) unsupported(p *proc, what string, typ wire.MsgType, inst uint16, req wire.Request) error {
	r, err := t.within(p, typ, inst, req)
	if err != nil {
		return failf("REPLY unsupported to "+what, "%v", describeFailure(p, err))
	}
	t.logf("%s: REPLY %s", what, describeReply(r))
	if r.Status != wire.StatusUnsupported {
		return failf("REPLY unsupported to "+what, "REPLY %s", describeReply(r))
	}
	return t.goesOn(p, what)
}

// goesOn requires that the session survived what the host did: the
// plugin still answers SPEC_REQUEST, and sent no ERROR.
func (t *checkRun) goesOn(p *proc, what string) error {
	ctx, cancel := context.WithTimeout(t.ctx, p.allowance())
	defer cancel()
	if _, err := p.spec(ctx); err != nil {
		return failf("the session going on after "+what, "%v", describeFailure(p, err))
	}
	if e := lastError(p); e != nil {
		return failf("no ERROR after "+what, "ERROR %s", e.Error())
	}
	return nil
}
