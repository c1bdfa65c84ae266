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

// lateRetryFrom is the position after which the "late-retry-error" knob's
// sink first asks for a retry.
const lateRetryFrom = 100

func runRaw(m *manifest.Manifest, knob string) int {
	p := &rawPlugin{knob: knob, out: os.Stdout, spec: m.Spec(), sources: map[uint16]*rawSource{}, sinks: map[uint16]*rawSink{}}
	switch knob {
	case "spec-description":
		i := slices.IndexFunc(p.spec.Params, func(p wire.Param) bool { return p.Name == "url" })
		p.spec.Params[i].Description = "Not what the manifest says."
	case "url-unmatchable": // no value can be found for the required url
		i := slices.IndexFunc(p.spec.Params, func(p wire.Param) bool { return p.Name == "url" })
		p.spec.Params[i].Validations[1].Value = `^a\bb$`
	case "spec-stale": // a parameter added to the manifest after the code was generated
		p.spec.Params = slices.DeleteFunc(p.spec.Params, func(p wire.Param) bool { return p.Name == "url" })
	case "no-summary":
		p.spec.Summary = ""
	case "version-v":
		p.spec.Version = "v" + p.spec.Version
	}
	for _, k := range p.spec.Events {
		p.kinds = append(p.kinds, k.Name)
	}
	if knob == "undeclared-kind" || knob == "undeclared-kind-late" {
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

// fatal reports a violation by the host: ERROR, stderr, exit 4.
func (p *rawPlugin) fatal(code wire.ErrorCode, err error) int {
	if p.knob == "vague-error" {
		logf("protocol error")
	} else {
		logf("protocol error: %v", err)
	}
	if p.knob == "ignore-malformed" {
		select {} // the broken behaviour: neither exit nor answer
	}
	p.send(wire.MsgError, 0, (&wire.ErrorMsg{Code: code, Message: err.Error()}).AppendTo(nil))
	return 4
}

func (p *rawPlugin) run() int {
	hello := wire.Hello{
		Versions: []uint16{1, 3}, ID: os.Getenv(wire.EnvPluginID),
		Name: p.spec.Name, Version: p.spec.Version, Role: p.spec.Role, EventKinds: p.kinds,
	}
	_, offered := os.LookupEnv(wire.EnvRingFD)
	ring, err := sdk.OfferedRing()
	if err != nil {
		logf("cannot use the ring offered: %v", err)
	}
	// Version 2 says the plugin takes a ring it was offered; with none
	// offered it may be listed all the same.
	if ring != nil || !offered {
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
	switch {
	case errors.Is(err, wire.ErrFrameTooLarge):
		return p.fatal(wire.ErrCodeTooLarge, err)
	case errors.Is(err, wire.ErrMalformed) && !errors.Is(err, io.ErrUnexpectedEOF):
		return p.fatal(wire.ErrCodeMalformed, err)
	case err != nil:
		logf("no answer to HELLO: %v", err)
		return 3
	}
	switch h.Type {
	case wire.MsgReject:
		var r wire.Reject
		if err := r.Decode(body); err != nil {
			return p.fatal(wire.ErrCodeMalformed, err)
		}
		logf("rejected: %s: %s", r.Reason, r.Message)
		if p.knob == "reject-exit0" {
			return 0
		}
		return 2
	case wire.MsgHelloAck:
		if err := p.ack.Decode(body); err != nil {
			return p.fatal(wire.ErrCodeMalformed, err)
		}
		if !slices.Contains(hello.Versions, p.ack.Version) && p.knob != "versions" {
			return p.fatal(wire.ErrCodeUnexpected, fmt.Errorf("HELLO_ACK chose version %d, not offered", p.ack.Version))
		}
		// The "ring-ignored" knob claims version 2, then keeps writing
		// frames on stdout when the host chooses the ring.
		if p.ack.Transport == wire.TransportRing && p.knob != "ring-ignored" {
			p.out = wire.NewRingWriter(ring, os.Stdout, nil)
		}
	case wire.MsgError:
		var m wire.ErrorMsg
		if err := m.Decode(body); err != nil {
			return p.fatal(wire.ErrCodeMalformed, err)
		}
		logf("host sent ERROR %v", &m)
		return 3
	default:
		return p.fatal(wire.ErrCodeUnexpected, fmt.Errorf("%s before HELLO_ACK", h.Type))
	}
	if p.knob == "fail-v2" && p.ack.Version == 2 {
		logf("version 2 is not really spoken")
		return 1
	}
	fr.SetMax(p.ack.MaxFrame)
	if p.knob == "limit-off-by-one" { // a frame of exactly the limit is refused
		fr.SetMax(p.ack.MaxFrame - 1)
	}
	if p.knob != "no-heartbeat" {
		go p.heartbeat()
	}
	if p.knob == "exit-at-first-event" {
		// Idle too, it does not last: it dies before its second heartbeat.
		time.AfterFunc(time.Duration(p.ack.HeartbeatMS)*time.Millisecond*3/2, func() { os.Exit(3) })
	}
	for {
		h, body, err := fr.Next()
		switch {
		case errors.Is(err, io.EOF):
			if p.knob == "ignore-eof" {
				select {}
			}
			logf("the host closed the connection")
			return 3
		case errors.Is(err, wire.ErrFrameTooLarge):
			return p.fatal(wire.ErrCodeTooLarge, err)
		case errors.Is(err, io.ErrUnexpectedEOF):
			logf("the host went away inside a frame")
			return 3
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

// decoder is a message body that can decode itself.
type decoder interface{ Decode([]byte) error }

// handle acts on one frame; it returns an exit code to end, or -1.
func (p *rawPlugin) handle(h wire.Header, body []byte) int {
	var req wire.Request
	switch h.Type {
	case wire.MsgSpecRequest, wire.MsgSetup, wire.MsgOpen, wire.MsgStop, wire.MsgClose:
		if h.Type == wire.MsgOpen && p.knob == "panic-truncated" {
			naiveOpen(body)
		}
		if err := req.Decode(body, h.Type); err != nil {
			return p.fatal(wire.ErrCodeMalformed, err)
		}
	case wire.MsgHeartbeat, wire.MsgGoodbye, wire.MsgError, wire.MsgAck:
		m := map[wire.MsgType]decoder{wire.MsgHeartbeat: new(wire.Heartbeat), wire.MsgGoodbye: new(wire.Goodbye), wire.MsgError: new(wire.ErrorMsg), wire.MsgAck: new(wire.Ack)}[h.Type]
		if err := m.Decode(body); err != nil {
			return p.fatal(wire.ErrCodeMalformed, err)
		}
		if a, ok := m.(*wire.Ack); ok {
			return p.acked(h.Instance, a.Position)
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
			src.jobs <- func() { src.request(h.Type, req.ID) }
		case sink != nil:
			sink.jobs <- func() { sink.request(h.Type, req.ID) }
		default:
			p.reply(h.Instance, wire.Reply{ID: req.ID, Status: wire.StatusUnsupported, Message: fmt.Sprintf("instance %d is not open", h.Instance)})
		}
	case wire.MsgWrite:
		switch {
		case p.spec.Role == wire.RoleSource:
			return p.fatal(wire.ErrCodeUnexpected, fmt.Errorf("WRITE for instance %d of a source", h.Instance))
		case sink == nil:
			return p.fatal(wire.ErrCodeUnknownInstance, fmt.Errorf("WRITE for instance %d, not open", h.Instance))
		}
		if code, err := sink.write(body); err != nil {
			return p.fatal(code, err)
		}
	case wire.MsgGoodbye:
		p.send(wire.MsgGoodbye, 0, (&wire.Goodbye{Reason: wire.GoodbyeRequested}).AppendTo(nil))
		if p.knob == "stray-after-goodbye" {
			os.Stdout.WriteString("bye\n")
		}
		return 0
	case wire.MsgError:
		logf("host sent ERROR")
		return 3
	default:
		return p.fatal(wire.ErrCodeUnexpected, fmt.Errorf("%s from the host", h.Type))
	}
	return -1
}

// naiveOpen reads OPEN's fields at the offsets their lengths say, without
// checking them against the body: the "panic-truncated" knob's decoder,
// which a body cut short makes index past its end.
func naiveOpen(b []byte) {
	n := binary.LittleEndian.Uint32(b[4:])
	off := 8
	for range n {
		off += 4 + int(binary.LittleEndian.Uint32(b[off:]))
		off += 4 + int(binary.LittleEndian.Uint32(b[off:]))
	}
	_ = b[off] == 1 && binary.LittleEndian.Uint64(b[off+1:]) > 0
}

// acked routes an ACK: a sink takes none; an instance not open, or a
// position beyond the last one sent, breaks the protocol.
func (p *rawPlugin) acked(inst uint16, pos uint64) int {
	p.mu.Lock()
	src := p.sources[inst]
	p.mu.Unlock()
	switch {
	case p.spec.Role == wire.RoleSink:
		return p.fatal(wire.ErrCodeUnexpected, fmt.Errorf("ACK for instance %d of a sink", inst))
	case src == nil:
		return p.fatal(wire.ErrCodeUnknownInstance, fmt.Errorf("ACK for instance %d, not open", inst))
	}
	if err := src.acked(pos); err != nil {
		return p.fatal(wire.ErrCodeUnexpected, err)
	}
	return -1
}

// configure answers SETUP (inst 0) or validates OPEN's settings; it
// reports whether they were accepted.
func (p *rawPlugin) configure(inst uint16, req wire.Request, params []wire.Param) bool {
	p.mu.Lock()
	anyOpen := len(p.sources)+len(p.sinks) > 0
	p.mu.Unlock()
	lateOK := p.knob == "setup-after-open" && anyOpen
	if inst == 0 && (p.setup || anyOpen) && !lateOK || inst != 0 && !p.setup {
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
	p.mu.Lock()
	inUse := p.sources[inst] != nil || p.sinks[inst] != nil
	p.mu.Unlock()
	if inst == 0 || inUse && p.knob != "reopen-replaces" {
		p.reply(inst, wire.Reply{ID: req.ID, Status: wire.StatusUnsupported, Message: fmt.Sprintf("instance %d is 0 or in use", inst)})
		return
	}
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
	child := exec.Command("sleep", "30")
	if p.knob == "child-fds" {
		child.ExtraFiles = []*os.File{os.Stdin, os.Stdout} // the protocol's own descriptors
	}
	if child.Start() == nil {
		p.children = append(p.children, child)
	}
	// The "events-before-reply" knob answers OPEN only after the first
	// batch.
	late := p.knob == "events-before-reply" && p.spec.Role == wire.RoleSource
	if !late {
		p.reply(inst, wire.Reply{ID: req.ID})
	}
	jobs := make(chan func(), 16)
	go func() {
		for job := range jobs {
			job()
		}
	}()
	if p.spec.Role == wire.RoleSink {
		k := &rawSink{p: p, inst: inst, out: out, jobs: jobs, written: map[uint64]bool{}, retried: map[uint64]bool{}}
		k.cond = sync.NewCond(&k.mu)
		p.sinks[inst] = k
		go k.work()
		return
	}
	s := &rawSource{p: p, inst: inst, out: out, jobs: jobs, set: parseFixtureSettings(req.Settings), next: 1, stopCh: make(chan struct{}), drained: make(chan struct{})}
	s.cond = sync.NewCond(&s.mu)
	if req.HasResume {
		s.next = req.Resume + 1
		if p.knob == "resume-skip" {
			s.next++
		}
	}
	s.last = s.next - 1
	if late {
		s.lateReply = &req.ID
	}
	p.sources[inst] = s
	go s.run()
	go s.progress()
}

// rawSource emits positions 1..burst+ticks: the burst in batches of two,
// then one event per interval, then END. Each batch is made first, then
// sent once the window has room.
type rawSource struct {
	p         *rawPlugin
	inst, out uint16 // its id, and the id its frames carry
	set       fixtureSettings
	jobs      chan<- func() // STOP and CLOSE, answered in order

	mu        sync.Mutex
	cond      *sync.Cond
	next      uint64 // the next position to make
	last      uint64 // the last position sent, or the resume point
	sent      bool
	inflight  []span // unacknowledged batches
	stopped   bool
	stopCh    chan struct{} // closed with stopped
	drained   chan struct{} // closed when run has sent its last frame
	ended     bool
	torn      bool    // the "torn" knob has broken a frame
	repeated  bool    // the "positions-repeat" knob has repeated a position
	lateReply *uint32 // OPEN's request id, answered after the first batch
	batches   int     // sent so far
}

// span is the first and last position of a batch.
type span struct{ first, last uint64 }

func (s *rawSource) limit() uint64 { return s.set.burst + s.set.ticks }

func (s *rawSource) run() {
	defer close(s.drained)
	if s.p.knob == "no-events" {
		return
	}
	for {
		s.mu.Lock()
		if s.stopped {
			s.mu.Unlock()
			return
		}
		if s.next > s.limit() {
			if s.p.knob == "progress-no-end" {
				s.mu.Unlock()
				return
			}
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
		body, b := s.make(n)
		for len(s.inflight) >= int(s.p.ack.Window) && s.p.knob != "window-ignored" {
			if s.stopped && s.p.knob == "stop-drops-waiting" {
				s.last, s.sent = b.last, true // counted as sent, and dropped
				s.mu.Unlock()
				return
			}
			s.cond.Wait()
		}
		s.sendBatch(body, b)
		batches := s.batches
		s.mu.Unlock()
		if s.p.knob == "pause-after-two" && batches == 2 { // a correct source with nothing to send for a while
			select {
			case <-time.After(8 * time.Second):
			case <-s.stopCh:
			}
		}
		if !inBurst {
			s.pause()
		}
	}
}

// pause waits one interval, or until a stop; the "busy-loop" knob spins
// instead.
func (s *rawSource) pause() {
	if s.p.knob != "busy-loop" {
		select {
		case <-time.After(s.set.interval):
		case <-s.stopCh:
		}
		return
	}
	for start := time.Now(); time.Since(start) < s.set.interval; {
	}
}

// make builds the body of a batch of n events from s.next; s.mu is held.
func (s *rawSource) make(n uint64) ([]byte, span) {
	body := binary.LittleEndian.AppendUint32(nil, uint32(n))
	kind := uint16(0)
	// The -late knobs break their rule only after the first burst, so a
	// check judging the first few events alone misses them.
	late := s.next > s.set.burst
	if s.p.knob == "undeclared-kind" || s.p.knob == "undeclared-kind-late" && late {
		kind = 1
	}
	for i := range n {
		at := time.Now().UnixNano()
		if s.p.knob == "zero-time" || s.p.knob == "zero-time-late" && late {
			at = 0
		}
		pos := s.next + i
		body = wire.AppendEvent(body, pos, at, kind, fmt.Appendf(nil, `{"seq":%d}`, pos), nil)
	}
	b := span{s.next, s.next + n - 1}
	s.next = b.last + 1
	if (s.p.knob == "positions-repeat" || s.p.knob == "positions-repeat-late" && late) && !s.repeated {
		s.repeated = true
		s.next = b.last
	}
	return body, b
}

// sendBatch sends a batch made by make; s.mu is held.
func (s *rawSource) sendBatch(body []byte, b span) {
	if s.p.knob == "exit-at-first-event" {
		os.Exit(3)
	}
	s.last, s.sent = b.last, true
	if s.p.knob == "torn" && b.last >= tornAt && !s.torn {
		s.torn = true
		s.p.sendTorn(s.out, body)
	} else {
		s.p.send(wire.MsgEvents, s.out, body)
	}
	s.inflight = append(s.inflight, b)
	s.batches++
	if s.lateReply != nil {
		s.p.reply(s.inst, wire.Reply{ID: *s.lateReply})
		s.lateReply = nil
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
		switch s.p.knob {
		case "progress-150":
			pct = 150
		case "progress-late-150": // right at first, over 100 at the end
			pct = float64(s.last) / float64(s.limit()-3) * 100
		}
		s.p.send(wire.MsgProgress, s.out, (&wire.Progress{Percent: pct}).AppendTo(nil))
		s.mu.Unlock()
	}
}

// acked applies a cumulative ACK; one beyond the last position sent is
// an error.
func (s *rawSource) acked(pos uint64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if pos > s.last && s.p.knob != "ack-beyond-accepted" {
		return fmt.Errorf("ACK for instance %d at position %d, beyond the last sent, %d", s.inst, pos, s.last)
	}
	if s.p.knob == "acks-ignored" { // the window, once full, stays full
		return nil
	}
	s.inflight = slices.DeleteFunc(s.inflight, func(b span) bool {
		if s.p.knob == "ack-inside-batch" { // an ACK inside a batch frees it
			return b.first <= pos
		}
		return b.last <= pos
	})
	s.cond.Broadcast()
	return nil
}

// request answers STOP and CLOSE, each once the instance has drained, so
// that the REPLY follows every EVENTS of the instance. It runs on the
// instance's own queue: the reader goes on reading ACKs meanwhile.
func (s *rawSource) request(t wire.MsgType, id uint32) {
	s.mu.Lock()
	ended := s.ended
	if !s.stopped {
		s.stopped = true
		close(s.stopCh)
	}
	s.cond.Broadcast()
	s.mu.Unlock()
	if ended && s.p.knob == "end-ignore-stop" {
		return
	}
	<-s.drained
	s.mu.Lock()
	defer s.mu.Unlock()
	if t == wire.MsgClose {
		s.p.mu.Lock()
		delete(s.p.sources, s.inst)
		s.p.mu.Unlock()
		s.p.reply(s.inst, wire.Reply{ID: id})
		return
	}
	if s.p.knob == "stop-early" && !ended {
		s.p.reply(s.inst, wire.Reply{ID: id, HasPosition: true, Position: s.last + 3})
		body, b := s.make(3)
		s.sendBatch(body, b)
		return
	}
	s.p.reply(s.inst, wire.Reply{ID: id, HasPosition: s.sent, Position: s.last})
}

// sinkDelay is how long the raw sink takes to write a batch: slow enough
// that WRITEs arriving together wait in its queue.
const sinkDelay = 2 * time.Millisecond

// rawSink answers the first attempt of every batch starting at a position
// 3n+1 with retry, and every other one with ok. The "late-retry-error"
// knob asks for retries only after position lateRetryFrom, and answers a
// batch sent again after a retry with error. Its WRITEs wait in a queue
// for a worker that writes one at a time.
type rawSink struct {
	p         *rawPlugin
	inst, out uint16
	jobs      chan<- func() // STOP and CLOSE, answered in order

	mu       sync.Mutex
	cond     *sync.Cond      // signalled when the queue changes
	queue    []queued        // WRITEs not answered yet, oldest first
	stopping bool            // STOP or CLOSE arrived: no WRITE may follow
	last     uint64          // highest position written
	written  map[uint64]bool // batch ids answered ok
	retried  map[uint64]bool // first positions answered retry
}

// queued is a WRITE waiting for the worker.
type queued struct{ id, first, last uint64 }

// write queues a WRITE, or says which rule it breaks.
func (k *rawSink) write(body []byte) (wire.ErrorCode, error) {
	if len(body) < 8 {
		return wire.ErrCodeMalformed, fmt.Errorf("WRITE body of %d bytes", len(body))
	}
	id := binary.LittleEndian.Uint64(body)
	evs, err := wire.ParseEvents(body[8:], k.p.kinds, wire.MsgWrite)
	if err != nil {
		return wire.ErrCodeMalformed, err
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	switch {
	case k.stopping:
		return wire.ErrCodeUnexpected, fmt.Errorf("WRITE for instance %d after its STOP", k.inst)
	case len(k.queue) >= int(k.p.ack.Window):
		return wire.ErrCodeWindowExceeded, fmt.Errorf("WRITE for instance %d with %d unanswered, the window", k.inst, len(k.queue))
	}
	k.queue = append(k.queue, queued{id, evs.First(), evs.Last()})
	k.cond.Broadcast()
	return 0, nil
}

// work writes the queued batches one at a time, in order.
func (k *rawSink) work() {
	k.mu.Lock()
	defer k.mu.Unlock()
	for {
		for len(k.queue) == 0 {
			k.cond.Wait()
		}
		q := k.queue[0]
		k.mu.Unlock()
		time.Sleep(sinkDelay)
		k.mu.Lock()
		k.result(q)
		if len(k.queue) > 0 && k.queue[0] == q { // else dropped meanwhile
			k.queue = k.queue[1:]
		}
		k.cond.Broadcast()
	}
}

// result answers one batch; k.mu is held.
func (k *rawSink) result(q queued) {
	r := wire.Result{Batch: q.id}
	switch {
	case k.p.knob == "sink-error":
		r.Status, r.Message = wire.WriteError, "cannot write"
	case k.p.knob == "drop-repeat" && k.written[q.id]:
		return
	case k.p.knob == "late-retry-error" && k.retried[q.first]:
		r.Status, r.Message = wire.WriteError, "lost the batch it asked to be sent again"
	case k.p.knob == "late-retry-error" && q.first <= lateRetryFrom:
		k.written[q.id] = true
		k.last = max(k.last, q.last)
	case k.p.knob == "retry-forever" || !k.retried[q.first] && q.first%3 == 1:
		k.retried[q.first] = true
		r.Status, r.Message = wire.WriteRetry, "busy, try again"
	default:
		k.written[q.id] = true
		k.last = max(k.last, q.last)
	}
	k.p.send(wire.MsgResult, k.out, r.AppendTo(nil))
}

// request answers STOP and CLOSE once every WRITE received before it is
// answered, so that the REPLY follows their RESULTs.
func (k *rawSink) request(t wire.MsgType, id uint32) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.stopping = true
	switch k.p.knob {
	case "stop-drops-queued":
		k.queue = nil
	case "stop-before-results":
	default:
		for len(k.queue) > 0 {
			k.cond.Wait()
		}
	}
	if t == wire.MsgClose {
		k.p.mu.Lock()
		delete(k.p.sinks, k.inst)
		k.p.mu.Unlock()
		k.p.reply(k.inst, wire.Reply{ID: id})
		return
	}
	k.p.reply(k.inst, wire.Reply{ID: id, HasPosition: k.last > 0, Position: k.last})
}
