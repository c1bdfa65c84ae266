package acceptance

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"slices"
	"sync"
	"syscall"
	"time"

	"github.com/plugctl/plugctl/manifest"
	"github.com/plugctl/plugctl/sdk"
	"github.com/plugctl/plugctl/wire"
)

// rawPlugin is a plugin written directly against the wire codec, without
// the SDK, so that it can break the rules the SDK enforces. With
// no knob it follows PROTOCOL.md and passes every check; each knob breaks
// exactly one rule (the table in acceptance_test.go says which).
type rawPlugin struct {
	knob  string
	spec  wire.Spec
	kinds []string
	ack   wire.HelloAck

	wmu  sync.Mutex // one frame at a time on out
	out  io.Writer  // stdout, or the ring once the host chose it
	done bool       // GOODBYE sent: nothing may follow

	mu        sync.Mutex
	setup     bool
	firstInst uint16
	sources   map[uint16]*rawSource
	sinks     map[uint16]*rawSink
	children  []*exec.Cmd // started by OPEN
}

// tornAt is the position from which the "torn" knob breaks frames.
const tornAt = 500

func runRaw(m *manifest.Manifest, knob string) int {
	p := &rawPlugin{knob: knob, out: os.Stdout, spec: m.Spec(), sources: map[uint16]*rawSource{}, sinks: map[uint16]*rawSink{}}
	switch knob {
	case "spec-description":
		i := slices.IndexFunc(p.spec.Params, func(p wire.Param) bool { return p.Name == "url" })
		p.spec.Params[i].Description = "Not what the manifest says."
	case "no-summary":
		p.spec.Summary = ""
	case "version-v":
		p.spec.Version = "v" + p.spec.Version
	}
	for _, k := range p.spec.Events {
		p.kinds = append(p.kinds, k.Name)
	}
	if knob == "undeclared-kind" {
		p.kinds = append(p.kinds, "undeclared")
	}
	code := p.run()
	p.endChildren()
	return code
}

// endChildren kills the child processes OPEN started, as a plugin must
// before it exits; the "leak-child" knob leaves them running.
func (p *rawPlugin) endChildren() {
	if p.knob == "leak-child" {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.children {
		c.Process.Kill()
		c.Wait()
	}
}

func (p *rawPlugin) send(t wire.MsgType, inst uint16, body []byte) {
	p.wmu.Lock()
	defer p.wmu.Unlock()
	if p.done {
		return
	}
	p.done = t == wire.MsgGoodbye || t == wire.MsgError
	p.out.Write(append(wire.AppendHeader(nil, t, inst, len(body)), body...))
}

// sendTorn writes an EVENTS frame with a HEARTBEAT inside it, as two
// writers without a lock would.
func (p *rawPlugin) sendTorn(inst uint16, body []byte) {
	p.wmu.Lock()
	defer p.wmu.Unlock()
	p.out.Write(wire.AppendHeader(nil, wire.MsgEvents, inst, len(body)))
	hb := (&wire.Heartbeat{UnixNano: 1}).AppendTo(nil)
	p.out.Write(append(wire.AppendHeader(nil, wire.MsgHeartbeat, 0, len(hb)), hb...))
	p.out.Write(body)
}

func (p *rawPlugin) reply(inst uint16, r wire.Reply) {
	p.send(wire.MsgReply, inst, r.AppendTo(nil))
}

// fatal reports a violation by the host: ERROR, stderr, exit 1.
func (p *rawPlugin) fatal(code wire.ErrorCode, err error) int {
	logf("protocol error: %v", err)
	if p.knob == "ignore-malformed" {
		select {} // the broken behaviour: neither exit nor answer
	}
	p.send(wire.MsgError, 0, (&wire.ErrorMsg{Code: code, Message: err.Error()}).AppendTo(nil))
	return 1
}

func (p *rawPlugin) run() int {
	hello := wire.Hello{
		Versions: []uint16{1, 3}, ID: os.Getenv(wire.EnvPluginID),
		Name: p.spec.Name, Version: p.spec.Version, Role: p.spec.Role, EventKinds: p.kinds,
	}
	ring, err := sdk.OfferedRing()
	if err != nil {
		logf("cannot use the ring offered: %v", err)
	}
	if ring != nil {
		hello.Versions = []uint16{1, 2, 3}
	}
	switch p.knob {
	case "versions":
		hello.Versions = []uint16{9}
	case "hello-name":
		hello.Name += "-other"
	case "fixed-id":
		hello.ID = "00000000-0000-4000-8000-000000000000"
	case "input-ring-ignored":
		// Claims the input ring, then goes on reading frames from stdin.
		hello.Versions = append(hello.Versions, wire.InputRingVersion)
	}
	// The handler is in place before HELLO, as the SDK's is: a host may
	// signal as soon as the session starts.
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT)
	p.send(wire.MsgHello, 0, hello.AppendTo(nil))
	go p.signals(sigs)

	fr := wire.NewFrameReader(os.Stdin, wire.HelloMaxFrame)
	h, body, err := fr.Next()
	if err != nil {
		logf("no answer to HELLO: %v", err)
		return 1
	}
	switch h.Type {
	case wire.MsgReject:
		var r wire.Reject
		r.Decode(body)
		logf("rejected: %s: %s", r.Reason, r.Message)
		if p.knob == "reject-exit0" {
			return 0
		}
		return 3
	case wire.MsgHelloAck:
		if err := p.ack.Decode(body); err != nil {
			return p.fatal(wire.ErrCodeMalformed, err)
		}
		// The "ring-ignored" knob claims version 2, then keeps writing
		// frames on stdout when the host chooses the ring.
		if p.ack.Transport == wire.TransportRing && p.knob != "ring-ignored" {
			p.out = wire.NewRingWriter(ring, os.Stdout, nil)
		}
	default:
		return p.fatal(wire.ErrCodeUnexpected, fmt.Errorf("%s before HELLO_ACK", h.Type))
	}
	fr.SetMax(p.ack.MaxFrame)
	if p.knob != "no-heartbeat" {
		go p.heartbeat()
	}
	for {
		h, body, err := fr.Next()
		switch {
		case errors.Is(err, io.EOF):
			if p.knob == "ignore-eof" {
				select {}
			}
			logf("the host closed the connection")
			return 1
		case errors.Is(err, wire.ErrFrameTooLarge):
			return p.fatal(wire.ErrCodeTooLarge, err)
		case err != nil:
			return p.fatal(wire.ErrCodeMalformed, err)
		}
		if code := p.handle(h, body); code >= 0 {
			return code
		}
	}
}

func (p *rawPlugin) signals(ch <-chan os.Signal) {
	<-ch
	if p.knob != "sigterm-no-goodbye" {
		p.send(wire.MsgGoodbye, 0, (&wire.Goodbye{Reason: wire.GoodbyeSignal}).AppendTo(nil))
	}
	p.endChildren()
	os.Exit(0)
}

func (p *rawPlugin) heartbeat() {
	for now := range time.Tick(time.Duration(p.ack.HeartbeatMS) * time.Millisecond) {
		p.send(wire.MsgHeartbeat, 0, (&wire.Heartbeat{UnixNano: now.UnixNano()}).AppendTo(nil))
	}
}

// handle acts on one frame; it returns an exit code to end, or -1.
func (p *rawPlugin) handle(h wire.Header, body []byte) int {
	var req wire.Request
	switch h.Type {
	case wire.MsgSpecRequest, wire.MsgSetup, wire.MsgOpen, wire.MsgStop, wire.MsgClose:
		if err := req.Decode(body, h.Type); err != nil {
			return p.fatal(wire.ErrCodeMalformed, err)
		}
	}
	p.mu.Lock()
	src, sink := p.sources[h.Instance], p.sinks[h.Instance]
	p.mu.Unlock()
	switch h.Type {
	case wire.MsgHeartbeat:
	case wire.MsgSpecRequest:
		p.send(wire.MsgSpec, 0, (&wire.SpecReply{ID: req.ID, Spec: p.spec}).AppendTo(nil))
	case wire.MsgSetup:
		p.configure(0, req, p.spec.Global)
	case wire.MsgOpen:
		p.open(h.Instance, req)
	case wire.MsgStop, wire.MsgClose:
		switch {
		case src != nil:
			src.request(h.Type, req.ID)
		case sink != nil:
			sink.request(h.Type, req.ID)
		default:
			return p.fatal(wire.ErrCodeUnknownInstance, fmt.Errorf("%s for instance %d", h.Type, h.Instance))
		}
	case wire.MsgAck:
		var a wire.Ack
		if err := a.Decode(body); err != nil {
			return p.fatal(wire.ErrCodeMalformed, err)
		}
		if src != nil {
			src.acked(a.Position)
		}
	case wire.MsgWrite:
		if sink == nil {
			return p.fatal(wire.ErrCodeUnknownInstance, fmt.Errorf("WRITE for instance %d", h.Instance))
		}
		if err := sink.write(body); err != nil {
			return p.fatal(wire.ErrCodeMalformed, err)
		}
	case wire.MsgGoodbye:
		p.send(wire.MsgGoodbye, 0, (&wire.Goodbye{Reason: wire.GoodbyeRequested}).AppendTo(nil))
		if p.knob == "stray-after-goodbye" {
			os.Stdout.WriteString("bye\n")
		}
		return 0
	case wire.MsgError:
		logf("host sent ERROR")
		return 1
	default:
		return p.fatal(wire.ErrCodeUnexpected, fmt.Errorf("%s from the host", h.Type))
	}
	return -1
}

// configure answers SETUP (inst 0) or validates OPEN's settings; it
// reports whether they were accepted.
func (p *rawPlugin) configure(inst uint16, req wire.Request, params []wire.Param) bool {
	if inst == 0 && p.setup || inst != 0 && !p.setup {
		p.reply(inst, wire.Reply{ID: req.ID, Status: wire.StatusUnsupported, Message: "out of order"})
		return false
	}
	if p.knob == "log-settings" {
		logf("configuring instance %d with %v", inst, req.Settings)
	}
	err := validateFixture(params, req.Settings, p.knob)
	if inst != 0 && p.knob == "reject-valid" {
		err = &sdk.ConfigError{Problems: []wire.Problem{{Param: "level", Message: "rejected whatever it is"}}}
	}
	if ce := (*sdk.ConfigError)(nil); errors.As(err, &ce) {
		p.reply(inst, wire.Reply{ID: req.ID, Status: wire.StatusInvalidConfig, Message: "invalid configuration", Problems: ce.Problems})
		return false
	}
	if inst == 0 {
		p.setup = true
		p.reply(0, wire.Reply{ID: req.ID})
	}
	return true
}

func (p *rawPlugin) open(inst uint16, req wire.Request) {
	if !p.configure(inst, req, p.spec.Params) {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.firstInst == 0 {
		p.firstInst = inst
	}
	out := inst
	if p.knob == "shared-instance" {
		out = p.firstInst
	}
	// A child of every instance gives lifecycle/children something to
	// check. Where there is no sleep command, that check skips anyway.
	if child := exec.Command("sleep", "30"); child.Start() == nil {
		p.children = append(p.children, child)
	}
	p.reply(inst, wire.Reply{ID: req.ID})
	if p.spec.Role == wire.RoleSink {
		p.sinks[inst] = &rawSink{p: p, inst: inst, out: out, written: map[uint64]bool{}, retried: map[uint64]bool{}}
		return
	}
	s := &rawSource{p: p, inst: inst, out: out, set: parseFixtureSettings(req.Settings), next: 1}
	s.cond = sync.NewCond(&s.mu)
	if req.HasResume {
		s.next = req.Resume + 1
		if p.knob == "resume-skip" {
			s.next++
		}
	}
	p.sources[inst] = s
	go s.run()
	go s.progress()
}

// rawSource emits positions 1..burst+ticks: the burst in batches of two,
// then one event per interval, then END.
type rawSource struct {
	p         *rawPlugin
	inst, out uint16 // its id, and the id its frames carry
	set       fixtureSettings

	mu       sync.Mutex
	cond     *sync.Cond
	next     uint64
	last     uint64
	sent     bool
	inflight []uint64 // last positions of unacknowledged batches
	stopped  bool
	ended    bool
	torn     bool // the "torn" knob has broken a frame
	repeated bool // the "positions-repeat" knob has repeated a position
}

func (s *rawSource) limit() uint64 { return s.set.burst + s.set.ticks }

func (s *rawSource) run() {
	if s.p.knob == "no-events" {
		return
	}
	for {
		s.mu.Lock()
		for len(s.inflight) >= int(s.p.ack.Window) && !s.stopped {
			s.cond.Wait()
		}
		if s.stopped {
			s.mu.Unlock()
			return
		}
		if s.next > s.limit() {
			s.ended = true
			version := s.p.ack.Version
			switch s.p.knob {
			case "end-v3-always":
				version = wire.EndStatusVersion
			case "end-no-status":
				version = 1
			}
			s.p.send(wire.MsgEnd, s.out, (&wire.End{HasPosition: s.sent, Position: s.last}).AppendTo(nil, version))
			s.mu.Unlock()
			for s.p.knob == "busy-loop" { // nothing more to send, and it spins
			}
			return
		}
		inBurst := s.next <= s.set.burst
		n := uint64(1)
		if inBurst {
			n = min(2, s.set.burst-s.next+1)
		}
		s.emit(n)
		s.mu.Unlock()
		if !inBurst {
			s.pause()
		}
	}
}

// pause waits one interval; the "busy-loop" knob spins instead.
func (s *rawSource) pause() {
	if s.p.knob != "busy-loop" {
		time.Sleep(s.set.interval)
		return
	}
	for start := time.Now(); time.Since(start) < s.set.interval; {
	}
}

// emit sends n events from s.next; s.mu is held.
func (s *rawSource) emit(n uint64) {
	body := binary.LittleEndian.AppendUint32(nil, uint32(n))
	kind := uint16(0)
	if s.p.knob == "undeclared-kind" {
		kind = 1
	}
	for i := range n {
		at := time.Now().UnixNano()
		if s.p.knob == "zero-time" {
			at = 0
		}
		pos := s.next + i
		body = wire.AppendEvent(body, pos, at, kind, fmt.Appendf(nil, `{"seq":%d}`, pos), nil)
	}
	s.last, s.sent = s.next+n-1, true
	s.next = s.last + 1
	if s.p.knob == "torn" && s.last >= tornAt && !s.torn {
		s.torn = true
		s.p.sendTorn(s.out, body)
	} else {
		s.p.send(wire.MsgEvents, s.out, body)
	}
	s.inflight = append(s.inflight, s.last)
	if s.p.knob == "positions-repeat" && !s.repeated {
		s.repeated = true
		s.next = s.last
	}
}

func (s *rawSource) progress() {
	for range time.Tick(200 * time.Millisecond) {
		s.mu.Lock()
		if s.stopped || s.ended {
			s.mu.Unlock()
			return
		}
		pct := float64(s.last) / float64(s.limit()) * 100
		if s.p.knob == "progress-150" {
			pct = 150
		}
		s.p.send(wire.MsgProgress, s.out, (&wire.Progress{Percent: pct}).AppendTo(nil))
		s.mu.Unlock()
	}
}

func (s *rawSource) acked(pos uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.inflight = slices.DeleteFunc(s.inflight, func(last uint64) bool { return last <= pos })
	s.cond.Broadcast()
}

// request answers STOP and CLOSE. Frames are sent under s.mu, so the REPLY
// to STOP follows every EVENTS of the instance.
func (s *rawSource) request(t wire.MsgType, id uint32) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ended && s.p.knob == "end-ignore-stop" {
		return
	}
	if t == wire.MsgClose {
		if !s.stopped && !s.ended {
			s.p.reply(s.inst, wire.Reply{ID: id, Status: wire.StatusUnsupported, Message: "not stopped"})
			return
		}
		s.p.mu.Lock()
		delete(s.p.sources, s.inst)
		s.p.mu.Unlock()
		s.p.reply(s.inst, wire.Reply{ID: id})
		return
	}
	s.stopped = true
	s.cond.Broadcast()
	if s.p.knob == "stop-early" && !s.ended {
		s.p.reply(s.inst, wire.Reply{ID: id, HasPosition: true, Position: s.last + 3})
		s.emit(3)
		return
	}
	s.p.reply(s.inst, wire.Reply{ID: id, HasPosition: s.sent, Position: s.last})
}

// rawSink answers the first attempt of every batch starting at a position
// 3n+1 with retry, and every other one with ok.
type rawSink struct {
	p         *rawPlugin
	inst, out uint16

	mu      sync.Mutex
	last    uint64          // highest position written
	written map[uint64]bool // batch ids answered ok
	retried map[uint64]bool // first positions answered retry
}

func (k *rawSink) write(body []byte) error {
	if len(body) < 8 {
		return fmt.Errorf("WRITE body of %d bytes", len(body))
	}
	id := binary.LittleEndian.Uint64(body)
	evs, err := wire.ParseEvents(body[8:], k.p.kinds, wire.MsgWrite)
	if err != nil {
		return err
	}
	first, last := evs.First(), evs.Last()
	if k.p.knob == "stop-before-results" {
		// Answered later, so a STOP arriving meanwhile overtakes it.
		time.AfterFunc(30*time.Millisecond, func() { k.result(id, first, last) })
		return nil
	}
	k.result(id, first, last)
	return nil
}

func (k *rawSink) result(id, first, last uint64) {
	k.mu.Lock()
	defer k.mu.Unlock()
	r := wire.Result{Batch: id}
	switch {
	case k.p.knob == "sink-error":
		r.Status, r.Message = wire.WriteError, "cannot write"
	case k.p.knob == "drop-repeat" && k.written[id]:
		return
	case k.p.knob == "retry-forever" || !k.retried[first] && first%3 == 1:
		k.retried[first] = true
		r.Status, r.Message = wire.WriteRetry, "busy, try again"
	default:
		k.written[id] = true
		k.last = max(k.last, last)
	}
	k.p.send(wire.MsgResult, k.out, r.AppendTo(nil))
}

func (k *rawSink) request(t wire.MsgType, id uint32) {
	if t == wire.MsgClose {
		k.p.mu.Lock()
		delete(k.p.sinks, k.inst)
		k.p.mu.Unlock()
		k.p.reply(k.inst, wire.Reply{ID: id})
		return
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	k.p.reply(k.inst, wire.Reply{ID: id, HasPosition: k.last > 0, Position: k.last})
}
