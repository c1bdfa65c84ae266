package acceptance

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/plugctl/plugctl/wire"
)

// checkVersion: HELLO offers protocol version 1, which every host speaks,
// and once the host picks it the plugin goes on to answer SPEC_REQUEST.
func checkVersion(t *checkRun) error {
	p, _, err := t.launch()
	if err != nil {
		return err
	}
	h, err := p.hello(t.ctx)
	if err != nil {
		return err
	}
	t.logf("HELLO offers protocol versions %v", h.Versions)
	if !slices.Contains(h.Versions, 1) {
		return failf("HELLO offering protocol version 1", "versions %v", h.Versions)
	}
	if err := p.accept(defaultHeartbeat, 1); err != nil {
		return err
	}
	if _, err := p.spec(t.ctx); err != nil {
		return failf("SPEC after HELLO_ACK chose version 1", "%v", err)
	}
	return nil
}

// checkRing: a plugin that offers version 2 must take the ring a launching
// host offers with it: every frame after HELLO then travels through shared
// memory, so SPEC, SETUP and OPEN are answered there, and a source's first
// events arrive there too. A sink that offers version 4 must likewise take
// the input ring, through which the host's requests and WRITEs then come:
// one that does not read it hears nothing more, so its answers are bounded
// by 2s and its start-up time.
func checkRing(t *checkRun) error {
	started := time.Now()
	p, _, err := t.launchHost()
	if err != nil {
		return err
	}
	startup := time.Since(started)
	h := p.Hello()
	if !slices.Contains(h.Versions, 2) {
		return skipf("the plugin offers protocol versions %v, not 2", h.Versions)
	}
	ack := p.HelloAck()
	if ack.Transport != wire.TransportRing {
		return skipf("this system offers no shared ring (HELLO_ACK version %d, transport %d)", ack.Version, ack.Transport)
	}
	input := h.Role == wire.RoleSink && slices.Contains(h.Versions, wire.InputRingVersion)
	via := "the ring"
	if input {
		if ack.InputTransport != wire.TransportRing {
			return failf("HELLO_ACK choosing the input ring for a sink offering version 4", "input transport %d", ack.InputTransport)
		}
		via = "the rings"
		d := exitBound + startup
		ctx, cancel := context.WithTimeout(t.ctx, d)
		defer cancel()
		parent := t.ctx
		t.ctx = ctx
		defer func() { t.ctx = parent }()
		via += fmt.Sprintf(" within %s (%s and its start-up time)", d.Round(time.Millisecond), exitBound)
	}
	c, err := t.config()
	if err != nil {
		return err
	}
	if _, err := p.Spec(t.ctx); err != nil {
		return failf("SPEC answered through "+via, "%v", err)
	}
	if err := p.Setup(t.ctx, c.global); err != nil {
		return failf("SETUP answered through "+via, "%v", err)
	}
	in, err := t.hostOpen(p, c.instance)
	if err != nil {
		return failf("OPEN answered through "+via, "%v", err)
	}
	if in.source != nil {
		if _, err := in.wait(t, 1); err != nil {
			return err
		}
	}
	if input {
		evs, err := t.sampleEvents(&h, 1)
		if err != nil {
			return err
		}
		if err := in.sink.Write(t.ctx, evs); err != nil {
			return failf("a WRITE answered through "+via, "%v", err)
		}
		t.logf("the session runs on both rings: SPEC, SETUP, OPEN and a WRITE answered")
		return nil
	}
	t.logf("the session runs on the ring: SPEC, SETUP and OPEN answered")
	return nil
}

// checkIdentity: HELLO's name, version and role are the expected ones, and
// its kind table lists the plugin's SPEC event kinds in order (an event's
// kind is an index into it).
func checkIdentity(t *checkRun) error {
	p, err := t.start(defaultHeartbeat)
	if err != nil {
		return err
	}
	h, _ := p.hello(t.ctx)
	s, err := p.spec(t.ctx)
	if err != nil {
		return err
	}
	want := t.env.spec
	t.logf("HELLO name %q version %q role %s kinds %v", h.Name, h.Version, h.Role, h.EventKinds)
	switch {
	case h.Name != want.Name:
		return failf("HELLO name "+quote(want.Name), "%q", h.Name)
	case h.Version != want.Version:
		return failf("HELLO version "+quote(want.Version), "%q", h.Version)
	case h.Role != want.Role:
		return failf("HELLO role "+want.Role.String(), "%s", h.Role)
	}
	var kinds []string
	for _, k := range s.Events {
		kinds = append(kinds, k.Name)
	}
	if !slices.Equal(h.EventKinds, kinds) {
		return failf("HELLO kind table equal to SPEC's event kinds ["+strings.Join(kinds, " ")+"]", "[%s]", strings.Join(h.EventKinds, " "))
	}
	return nil
}

// checkPluginID: the plugin id comes from the environment, so that one
// binary can be enrolled under several ids.
func checkPluginID(t *checkRun) error {
	p, id, err := t.launch()
	if err != nil {
		return err
	}
	h, err := p.hello(t.ctx)
	if err != nil {
		return err
	}
	if h.ID != id {
		return failf("HELLO id "+quote(id)+" (from "+wire.EnvPluginID+")", "%q", h.ID)
	}
	return nil
}

// checkReject: a plugin the host refuses exits at once, non-zero, saying
// why on stderr (its log), so an operator sees the reason.
func checkReject(t *checkRun) error {
	p, _, err := t.launch()
	if err != nil {
		return err
	}
	if _, err := p.hello(t.ctx); err != nil {
		return err
	}
	reason := "plugctl acceptance rejects this plugin on purpose " + newUUID()[:8]
	rej := wire.Reject{Reason: wire.RejectNotEnrolled, Message: reason}
	if err := p.send(wire.MsgReject, 0, rej.AppendTo(nil)); err != nil {
		return err
	}
	t.logf("sent REJECT %s %q", rej.Reason, reason)
	st, err := p.mustExit("REJECT")
	if err != nil {
		return err
	}
	if st.ExitCode() == 0 {
		return failf("a non-zero exit after REJECT", "%s", st)
	}
	p.stderr.Settle(exitBound)
	log := p.stderr.String()
	if !strings.Contains(log, reason) && !strings.Contains(log, rej.Reason.String()) {
		return failf("stderr naming the reason ("+quote(rej.Reason.String())+" or the message)", "stderr %q", lastLine(log))
	}
	return nil
}

func quote(s string) string { return `"` + s + `"` }

// lastLine returns the last non-empty line of s, for short reports.
func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}

// checkEveryVersion: every protocol version the plugin offers, that a
// host may choose, works for a whole session, as a host built for that
// version runs it: SPEC, SETUP, OPEN, a short stream (a source's first
// events; a WRITE to a sink), STOP naming the last position, CLOSE, and
// GOODBYE with exit 0. Each version has a plugin of its own.
func checkEveryVersion(t *checkRun) error {
	var versions []uint16
	for _, v := range t.env.hello.Versions {
		if v >= 1 && v <= wire.ProtocolVersion && !slices.Contains(versions, v) {
			versions = append(versions, v)
		}
	}
	slices.Sort(versions)
	if len(versions) == 0 {
		return skipf("the plugin offers protocol versions %v, none of 1 to %d: handshake/version covers it", t.env.hello.Versions, wire.ProtocolVersion)
	}
	var sessions []fault
	for _, v := range versions {
		sessions = append(sessions, fault{what: fmt.Sprintf("a session under protocol version %d", v), stage: stageHello, run: func(t *checkRun, p *proc) error {
			return t.sessionAt(p, v)
		}})
	}
	return t.runFaults(sessions)
}

// sessionAt runs a whole short session with p under version v. Its
// failures say under which version.
func (t *checkRun) sessionAt(p *proc, v uint16) error {
	under := fmt.Sprintf("under protocol version %d", v)
	err := t.session(p, v)
	var f *failure
	var s *skipped
	switch {
	case err == nil || errors.As(err, &s):
		return err
	case errors.As(err, &f):
		return failf(f.expected+" "+under, "%s", f.got)
	}
	return failf("a whole session "+under, "%v", describeFailure(p, err))
}

// session is sessionAt's work.
func (t *checkRun) session(p *proc, v uint16) error {
	c, err := t.config()
	if err != nil {
		return err
	}
	if err := p.accept(defaultHeartbeat, v); err != nil {
		return err
	}
	t.logf("HELLO_ACK chose version %d", v)
	ctx, cancel := context.WithTimeout(t.ctx, p.allowance())
	_, err = p.spec(ctx)
	cancel()
	if err != nil {
		return failf("SPEC answered", "%v", describeFailure(p, err))
	}
	if err := t.setup(p, c); err != nil {
		return err
	}
	if err := t.open(p, 1, c, nil); err != nil {
		return err
	}
	if t.env.spec.Role == wire.RoleSink {
		h, _ := p.hello(t.ctx)
		b, err := t.makeBatch(h, 1, 1)
		if err != nil {
			return err
		}
		if _, err := p.write(t, 1, b); err != nil {
			return err
		}
		r, err := t.within(p, wire.MsgStop, 1, wire.Request{})
		last := b.first + batchEvents - 1
		if err != nil || r.Status != wire.StatusOK || !r.HasPosition || r.Position != last {
			return failf(fmt.Sprintf("STOP answered ok with the last position written, %d", last), "%v", replyOrErr(r, describeFailure(p, err)))
		}
	} else {
		p.setAutoAck(1, true)
		if err := p.wait(t.ctx, endWindow, "waiting for EVENTS", func() bool { return len(p.events[1]) > 0 }); err != nil && p.broken() {
			return err
		}
		if err := t.stopDrained(p, "after a short stream", 0); err != nil {
			return err
		}
	}
	if r, err := t.within(p, wire.MsgClose, 1, wire.Request{}); err != nil || r.Status != wire.StatusOK {
		return failf("CLOSE answered ok", "%v", replyOrErr(r, describeFailure(p, err)))
	}
	st, err := p.goodbye(t.ctx)
	if err != nil {
		return err
	}
	if st.ExitCode() != 0 {
		return failf("exit status 0 after GOODBYE", "%s", st)
	}
	t.logf("the whole session ran under protocol version %d", v)
	return nil
}
