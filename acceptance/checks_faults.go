package acceptance

import (
	"encoding/binary"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/plugctl/plugctl/wire"
)

// checkTruncated: every message a host sends, cut short at the start of
// each of its fields and inside each, is malformed: the plugin says so
// (ERROR malformed, an error line naming the message) and exits 4,
// instead of reading past the body, guessing or crashing.
func checkTruncated(t *checkRun) error { return t.runFaults(truncations(t.env)) }

// layout is a host→plugin message as the truncation faults send it: a
// sample body, wire's decoder for it, and where the message is valid.
type layout struct {
	typ   wire.MsgType
	role  wire.Role // 0: either role
	stage stage
	inst  uint16
	// body returns a sample body and the decoder that reads it; nil when
	// the plugin gives nothing to build one from.
	body func(e *env) ([]byte, func([]byte) error)
}

// sampleSettings has one pair, so that a cut can land in a key or a value.
var sampleSettings = map[string]string{"k": "v"}

// layouts lists every message a host sends, with the stage at which it is
// valid: each is cut where it would otherwise be accepted.
var layouts = []layout{
	{wire.MsgHelloAck, 0, stageHello, 0, func(e *env) ([]byte, func([]byte) error) {
		m := wire.HelloAck{Version: chosenVersion(&e.hello), MaxFrame: checkMaxFrame, HeartbeatMS: 1000, Window: checkWindow}
		return m.AppendTo(nil), func(b []byte) error { return new(wire.HelloAck).Decode(b) }
	}},
	{wire.MsgReject, 0, stageHello, 0, func(*env) ([]byte, func([]byte) error) {
		m := wire.Reject{Reason: wire.RejectPolicy, Message: "cut"}
		return m.AppendTo(nil), func(b []byte) error { return new(wire.Reject).Decode(b) }
	}},
	{wire.MsgHeartbeat, 0, stageReady, 0, func(*env) ([]byte, func([]byte) error) {
		m := wire.Heartbeat{UnixNano: time.Now().UnixNano()}
		return m.AppendTo(nil), func(b []byte) error { return new(wire.Heartbeat).Decode(b) }
	}},
	{wire.MsgGoodbye, 0, stageReady, 0, func(*env) ([]byte, func([]byte) error) {
		m := wire.Goodbye{Reason: wire.GoodbyeNormal, Message: "cut"}
		return m.AppendTo(nil), func(b []byte) error { return new(wire.Goodbye).Decode(b) }
	}},
	{wire.MsgError, 0, stageReady, 0, func(*env) ([]byte, func([]byte) error) {
		m := wire.ErrorMsg{Code: wire.ErrCodeInternal, Message: "cut"}
		return m.AppendTo(nil), func(b []byte) error { return new(wire.ErrorMsg).Decode(b) }
	}},
	{wire.MsgSpecRequest, 0, stageReady, 0, requestLayout(wire.MsgSpecRequest, wire.Request{ID: 99})},
	{wire.MsgSetup, 0, stageReady, 0, requestLayout(wire.MsgSetup, wire.Request{ID: 99, Settings: sampleSettings})},
	{wire.MsgOpen, 0, stageReady, 1, requestLayout(wire.MsgOpen, wire.Request{ID: 99, Settings: sampleSettings, HasResume: true, Resume: 7})},
	{wire.MsgStop, 0, stageOpen, 1, requestLayout(wire.MsgStop, wire.Request{ID: 99})},
	{wire.MsgClose, 0, stageOpen, 1, requestLayout(wire.MsgClose, wire.Request{ID: 99})},
	{wire.MsgAck, wire.RoleSource, stageOpen, 1, func(*env) ([]byte, func([]byte) error) {
		m := wire.Ack{Position: 1}
		return m.AppendTo(nil), func(b []byte) error { return new(wire.Ack).Decode(b) }
	}},
	{wire.MsgWrite, wire.RoleSink, stageOpen, 1, func(e *env) ([]byte, func([]byte) error) {
		if len(e.hello.EventKinds) == 0 {
			return nil, nil
		}
		return sampleWrite(1, 1, map[string]string{"k": "v"}), func(b []byte) error { return decodeWrite(b, e.hello.EventKinds) }
	}},
}

func requestLayout(t wire.MsgType, r wire.Request) func(*env) ([]byte, func([]byte) error) {
	return func(*env) ([]byte, func([]byte) error) {
		return r.AppendTo(nil, t), func(b []byte) error { return new(wire.Request).Decode(b, t) }
	}
}

// sampleWrite is a WRITE body of batch id holding one event at position
// pos, of the first kind, with meta (nil: none).
func sampleWrite(id, pos uint64, meta map[string]string) []byte {
	b := binary.LittleEndian.AppendUint64(nil, id)
	b = binary.LittleEndian.AppendUint32(b, 1)
	return wire.AppendEvent(b, pos, time.Now().UnixNano(), 0, []byte(`{}`), meta)
}

// decodeWrite reads a WRITE body as PROTOCOL.md §4.6.4 lays it out: a
// batch id, then a batch as in EVENTS.
func decodeWrite(b []byte, kinds []string) error {
	if len(b) < 8 {
		return fmt.Errorf("%w: WRITE body is %d bytes, too short for a batch id", wire.ErrMalformed, len(b))
	}
	_, err := wire.ParseEvents(b[8:], kinds, wire.MsgWrite)
	return err
}

// truncations are the faults of checkTruncated: for each layout, its
// sample body cut at each of the places cuts finds.
func truncations(e *env) []fault {
	var out []fault
	for _, l := range layouts {
		body, decode := l.body(e)
		if body == nil {
			continue
		}
		for _, c := range cuts(body, decode) {
			what := fmt.Sprintf("%s cut to %d of its %d bytes (%s)", article(l.typ), c.n, len(body), c.why)
			frame := frameOf(l.typ, l.inst, body[:c.n])
			out = append(out, fault{what: what, role: l.role, stage: l.stage, run: func(t *checkRun, p *proc) error {
				return t.fatal(p, what, frame, wire.ErrCodeMalformed, typeNames(l.typ)...)
			}})
		}
	}
	return out
}

// cut is one length a body is cut to, and what wire's decoder says of it.
type cut struct {
	n   int
	why string
}

// numbers are left out when telling decoding errors apart: the same
// error but for its offsets and counts is the same field.
var numbers = regexp.MustCompile(`[0-9]+`)

// cuts finds where to cut body from its layout as wire's decoder reads it,
// so that a field added to a message is cut too: every prefix is decoded,
// and prefixes that fail for the same reason (the same error but for its
// numbers) end in the same field. The first of each run is a cut at the
// start of that field (or, where a list's count leaves too few bytes for
// its items, right after the count); the middle of a run of two or more
// is a cut inside it.
func cuts(body []byte, decode func([]byte) error) []cut {
	var out []cut
	from, key := 0, ""
	add := func(n int) {
		why := strings.TrimPrefix(decode(body[:n:n]).Error(), wire.ErrMalformed.Error()+": ")
		out = append(out, cut{n, why})
	}
	flush := func(to int) {
		if key == "" {
			return
		}
		add(from)
		if to-from >= 2 {
			add((from + to) / 2)
		}
	}
	for n := 0; n < len(body); n++ {
		err := decode(body[:n:n])
		k := ""
		if err != nil {
			k = numbers.ReplaceAllString(err.Error(), "#")
		}
		if k != key {
			flush(n)
			from, key = n, k
		}
	}
	flush(len(body))
	return out
}

// checkOutOfState: messages at the wrong time, for the wrong instance or
// the wrong role get the reaction PROTOCOL.md §8.1 gives each: a request
// REPLY unsupported and the session goes on; any other message ERROR with
// its code, an error line naming it, and exit 4.
func checkOutOfState(t *checkRun) error { return t.runFaults(outOfState) }

// fatalFrame is the run of a fault that sends one frame needing the
// ERROR code; body builds the frame's body.
func fatalFrame(typ wire.MsgType, inst uint16, code wire.ErrorCode, body func(t *checkRun, p *proc) ([]byte, error)) func(*checkRun, *proc) error {
	return func(t *checkRun, p *proc) error {
		b, err := body(t, p)
		if err != nil {
			return err
		}
		return t.fatal(p, describeFrame(typ, inst), frameOf(typ, inst, b), code, typeNames(typ)...)
	}
}

// article is "a SETUP", "an OPEN".
func article(typ wire.MsgType) string {
	if strings.ContainsRune("AEIOU", rune(typ.String()[0])) {
		return "an " + typ.String()
	}
	return "a " + typ.String()
}

// describeFrame is "a HEARTBEAT", "an ACK for instance 9".
func describeFrame(typ wire.MsgType, inst uint16) string {
	if inst == 0 {
		return article(typ)
	}
	return fmt.Sprintf("%s for instance %d", article(typ), inst)
}

// Bodies of the frames the out-of-state faults send.
func heartbeatBody(*checkRun, *proc) ([]byte, error) {
	return (&wire.Heartbeat{UnixNano: time.Now().UnixNano()}).AppendTo(nil), nil
}

func requestBody(typ wire.MsgType) func(*checkRun, *proc) ([]byte, error) {
	return func(_ *checkRun, p *proc) ([]byte, error) {
		return (&wire.Request{ID: p.nextID.Add(1)}).AppendTo(nil, typ), nil
	}
}

func ackBody(pos uint64) func(*checkRun, *proc) ([]byte, error) {
	return func(*checkRun, *proc) ([]byte, error) { return (&wire.Ack{Position: pos}).AppendTo(nil), nil }
}

// writeBody is a valid WRITE for the plugin's kind table.
func writeBody(t *checkRun, _ *proc) ([]byte, error) {
	if len(t.env.hello.EventKinds) == 0 {
		return nil, skipf("the plugin declares no event kind, so no WRITE can be built for it")
	}
	return sampleWrite(1, 1, nil), nil
}

// unused is an instance id no fault opens.
const unused = 9

// firstBatch waits for the first EVENTS of instance 1 and returns its
// last position; a source that sends none in time skips.
func firstBatch(t *checkRun, p *proc) (uint64, error) {
	if err := p.wait(t.ctx, endWindow, "waiting for EVENTS", func() bool { return len(p.batches[1]) > 0 }); err != nil {
		if p.broken() {
			return 0, err
		}
		return 0, skipf("the source sent no event within %s", endWindow)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.batches[1][0].last, nil
}

// outOfState are the faults of checkOutOfState.
var outOfState = []fault{
	{what: "a HEARTBEAT before HELLO_ACK", stage: stageHello,
		run: fatalFrame(wire.MsgHeartbeat, 0, wire.ErrCodeUnexpected, heartbeatBody)},
	{what: "a SPEC_REQUEST before HELLO_ACK", stage: stageHello,
		run: fatalFrame(wire.MsgSpecRequest, 0, wire.ErrCodeUnexpected, requestBody(wire.MsgSpecRequest))},
	{what: "a HELLO_ACK after the handshake", stage: stageReady,
		run: fatalFrame(wire.MsgHelloAck, 0, wire.ErrCodeUnexpected, func(_ *checkRun, p *proc) ([]byte, error) {
			return (&wire.HelloAck{Version: uint16(p.version.Load()), MaxFrame: checkMaxFrame, HeartbeatMS: 1000, Window: checkWindow}).AppendTo(nil), nil
		})},
	{what: "a REJECT after the handshake", stage: stageReady,
		run: fatalFrame(wire.MsgReject, 0, wire.ErrCodeUnexpected, func(*checkRun, *proc) ([]byte, error) {
			return (&wire.Reject{Reason: wire.RejectPolicy, Message: "late"}).AppendTo(nil), nil
		})},
	{what: "a HELLO from the host, which only a plugin sends", stage: stageReady,
		run: fatalFrame(wire.MsgHello, 0, wire.ErrCodeUnexpected, func(t *checkRun, _ *proc) ([]byte, error) {
			return t.env.hello.AppendTo(nil), nil
		})},
	{what: "a second SETUP after one answered ok", stage: stageConfigured, run: func(t *checkRun, p *proc) error {
		c, _ := t.config()
		return t.unsupported(p, "a second SETUP", wire.MsgSetup, 0, wire.Request{Settings: c.global})
	}},
	{what: "SETUP after an OPEN", stage: stageOpen, run: func(t *checkRun, p *proc) error {
		c, _ := t.config()
		return t.unsupported(p, "SETUP after an OPEN", wire.MsgSetup, 0, wire.Request{Settings: c.global})
	}},
	{what: "OPEN of instance 0", stage: stageConfigured, run: func(t *checkRun, p *proc) error {
		c, _ := t.config()
		return t.unsupported(p, "OPEN of instance 0", wire.MsgOpen, 0, wire.Request{Settings: c.instance})
	}},
	{what: "a second OPEN of an open instance", stage: stageOpen, run: reopen},
	{what: "STOP of an instance never opened", stage: stageReady, run: func(t *checkRun, p *proc) error {
		return t.unsupported(p, fmt.Sprintf("STOP of instance %d, never opened", unused), wire.MsgStop, unused, wire.Request{})
	}},
	{what: "CLOSE of an instance never opened", stage: stageReady, run: func(t *checkRun, p *proc) error {
		return t.unsupported(p, fmt.Sprintf("CLOSE of instance %d, never opened", unused), wire.MsgClose, unused, wire.Request{})
	}},
	{what: "CLOSE of an instance already closed", stage: stageOpen, run: func(t *checkRun, p *proc) error {
		// STOP, with every event acknowledged, then CLOSE: as a host
		// closes, so that no ACK can follow the CLOSE.
		p.setAutoAck(1, true)
		for _, typ := range []wire.MsgType{wire.MsgStop, wire.MsgClose} {
			if r, err := t.within(p, typ, 1, wire.Request{}); err != nil || r.Status != wire.StatusOK {
				return failf(typ.String()+" of an open instance answered ok", "%v", replyOrErr(r, err))
			}
		}
		return t.unsupported(p, "CLOSE of instance 1 after its CLOSE", wire.MsgClose, 1, wire.Request{})
	}},
	{what: "an ACK for an instance never opened", role: wire.RoleSource, stage: stageReady,
		run: fatalFrame(wire.MsgAck, unused, wire.ErrCodeUnknownInstance, ackBody(1))},
	{what: "an ACK beyond the last position sent", role: wire.RoleSource, stage: stageOpen, window: 1, run: func(t *checkRun, p *proc) error {
		// With a window of 1 and no ACK yet, the first batch is all the
		// plugin may have sent: its last position is the last sent.
		last, err := firstBatch(t, p)
		if err != nil {
			return err
		}
		what := fmt.Sprintf("an ACK of position %d, one beyond the last sent (%d)", last+1, last)
		return t.fatal(p, what, frameOf(wire.MsgAck, 1, (&wire.Ack{Position: last + 1}).AppendTo(nil)), wire.ErrCodeUnexpected, typeNames(wire.MsgAck)...)
	}},
	{what: "an ACK repeating the previous one", role: wire.RoleSource, stage: stageOpen, window: 1, run: func(t *checkRun, p *proc) error {
		last, err := firstBatch(t, p)
		if err != nil {
			return err
		}
		// Sent directly: p.ack leaves out what a previous ACK covered.
		for range 2 {
			if err := p.send(wire.MsgAck, 1, (&wire.Ack{Position: last}).AppendTo(nil)); err != nil {
				return err
			}
		}
		return t.goesOn(p, fmt.Sprintf("an ACK of position %d twice (the second changes nothing and is ignored)", last))
	}},
	{what: "a WRITE to a source instance", role: wire.RoleSource, stage: stageOpen,
		run: fatalFrame(wire.MsgWrite, 1, wire.ErrCodeUnexpected, writeBody)},
	{what: "a WRITE for an instance never opened", role: wire.RoleSink, stage: stageReady,
		run: fatalFrame(wire.MsgWrite, unused, wire.ErrCodeUnknownInstance, writeBody)},
	{what: "a WRITE after STOP", role: wire.RoleSink, stage: stageOpen, run: func(t *checkRun, p *proc) error {
		if r, err := t.within(p, wire.MsgStop, 1, wire.Request{}); err != nil || r.Status != wire.StatusOK {
			return failf("STOP answered ok", "%v", replyOrErr(r, err))
		}
		return fatalFrame(wire.MsgWrite, 1, wire.ErrCodeUnexpected, writeBody)(t, p)
	}},
	{what: "an ACK to a sink's open instance", role: wire.RoleSink, stage: stageOpen,
		run: fatalFrame(wire.MsgAck, 1, wire.ErrCodeUnexpected, ackBody(1))},
	{what: "an ACK to a sink, naming an instance never opened", role: wire.RoleSink, stage: stageReady,
		run: fatalFrame(wire.MsgAck, unused, wire.ErrCodeUnexpected, ackBody(1))},
}

// reopen: a second OPEN of an open instance is refused, and the first
// goes on untouched: a source's positions keep growing and its STOP names
// the last one received; a sink still answers a WRITE.
func reopen(t *checkRun, p *proc) error {
	c, _ := t.config()
	if err := t.unsupported(p, "a second OPEN of instance 1", wire.MsgOpen, 1, wire.Request{Settings: c.instance}); err != nil {
		return err
	}
	if t.env.spec.Role == wire.RoleSink {
		b, err := writeBody(t, p)
		if err != nil {
			return err
		}
		var res *wire.Result
		err = t.promptly(p, "a RESULT for a WRITE to instance 1 after its second OPEN was refused", func() (err error) {
			res, _, err = p.writeOnce(t, 1, batch{id: 1, first: 1, body: b})
			return err
		})
		if err == nil {
			t.logf("WRITE after the refused OPEN: RESULT %s", res.Status)
		}
		return err
	}
	p.setAutoAck(1, true)
	r, err := t.within(p, wire.MsgStop, 1, wire.Request{})
	if err != nil || r.Status != wire.StatusOK {
		return failf("instance 1 going on after its second OPEN was refused: STOP answered ok", "%v", replyOrErr(r, err))
	}
	before, _ := p.split(1, r)
	if err := increasing(before); err != nil {
		return failf("instance 1 going on untouched after its second OPEN was refused (positions increasing)", "%s", err.(*failure).got)
	}
	if len(before) > 0 && (!r.HasPosition || r.Position != before[len(before)-1].Position) {
		return failf(fmt.Sprintf("instance 1 going on untouched after its second OPEN was refused: STOP naming the last event, %d", before[len(before)-1].Position), "REPLY %s", describeReply(r))
	}
	return nil
}

func replyOrErr(r *wire.Reply, err error) string {
	if err != nil {
		return err.Error()
	}
	return "REPLY " + describeReply(r)
}

// checkLimits: the limits of PROTOCOL.md §3.1 and §6.6 hold on both sides
// of each bound: a frame of exactly the limit is read (and answered or
// found malformed by its body), one byte more is too_large before the body
// is read; a sink given one WRITE beyond its window says window_exceeded,
// unless it answered each WRITE before reading the next.
func checkLimits(t *checkRun) error { return t.runFaults(limits) }

// limitFrame is the frame limit the limit faults offer after the
// handshake: the smallest a host may, so that a frame of exactly the
// limit stays small.
const limitFrame = wire.HelloMaxFrame

var limits = []fault{
	{what: fmt.Sprintf("a frame announcing %d bytes before the handshake, whose limit is %d", wire.HelloMaxFrame+1, wire.HelloMaxFrame), stage: stageHello,
		run: func(t *checkRun, p *proc) error {
			what := fmt.Sprintf("a HELLO_ACK header announcing %d bytes, one over the limit before the handshake", wire.HelloMaxFrame+1)
			return t.fatal(p, what, wire.AppendHeader(nil, wire.MsgHelloAck, 0, wire.HelloMaxFrame+1), wire.ErrCodeTooLarge, tooLargeNames(wire.HelloMaxFrame+1)...)
		}},
	{what: fmt.Sprintf("a HELLO_ACK of exactly %d bytes, the limit before the handshake", wire.HelloMaxFrame), stage: stageHello,
		run: func(t *checkRun, p *proc) error {
			h, _ := p.hello(t.ctx)
			body := (&wire.HelloAck{Version: chosenVersion(h), MaxFrame: checkMaxFrame, HeartbeatMS: 1000, Window: checkWindow}).AppendTo(nil)
			body = append(body, make([]byte, wire.HelloMaxFrame-len(body))...)
			what := fmt.Sprintf("a HELLO_ACK of exactly %d bytes, the limit, its valid fields followed by zeros (read, then malformed: trailing bytes)", wire.HelloMaxFrame)
			return t.fatal(p, what, frameOf(wire.MsgHelloAck, 0, body), wire.ErrCodeMalformed, typeNames(wire.MsgHelloAck)...)
		}},
	{what: fmt.Sprintf("a frame one byte over max_frame %d", limitFrame), stage: stageReady, maxFrame: limitFrame,
		run: func(t *checkRun, p *proc) error {
			what := fmt.Sprintf("a HEARTBEAT header announcing %d bytes, one over max_frame %d", limitFrame+1, limitFrame)
			return t.fatal(p, what, wire.AppendHeader(nil, wire.MsgHeartbeat, 0, limitFrame+1), wire.ErrCodeTooLarge, tooLargeNames(limitFrame+1)...)
		}},
	{what: fmt.Sprintf("a SETUP of exactly max_frame %d bytes", limitFrame), stage: stageReady, maxFrame: limitFrame,
		run: func(t *checkRun, p *proc) error {
			const key = "plugctl_acceptance_pad"
			pad := limitFrame - len((&wire.Request{Settings: map[string]string{key: ""}}).AppendTo(nil, wire.MsgSetup))
			req := wire.Request{Settings: map[string]string{key: strings.Repeat("x", pad)}}
			what := fmt.Sprintf("a SETUP of exactly max_frame (%d) bytes", limitFrame)
			r, err := t.within(p, wire.MsgSetup, 0, req)
			if err != nil {
				return failf("a REPLY to "+what, "%v", describeFailure(p, err))
			}
			t.logf("%s: REPLY %s", what, r.Status)
			return t.goesOn(p, what)
		}},
	{what: "one WRITE more than the window", role: wire.RoleSink, stage: stageOpen, window: 2, run: overWindow},
}

// tooLargeNames are the words of an error line about a frame of size
// bytes over its limit.
func tooLargeNames(size int) []string {
	return []string{fmt.Sprint(size), "large", "limit", "too_large"}
}

// overWindow sends a sink one WRITE more than its window, all arriving
// together while the plugin is held, and requires ERROR window_exceeded,
// unless the sink answered every one: one that answers each WRITE before
// reading the next never has more than one unanswered.
func overWindow(t *checkRun, p *proc) error {
	h, _ := p.hello(t.ctx)
	w := int(p.window.Load())
	var frames []byte
	for i := range w + 1 {
		b, err := t.makeBatch(h, uint64(i+1), uint64(1+i*batchEvents))
		if err != nil {
			return err
		}
		frames = append(frames, frameOf(wire.MsgWrite, 1, b.body)...)
	}
	what := fmt.Sprintf("%d WRITEs at once, the window being %d", w+1, w)
	mark := len(p.stderr.Lines())
	release := hold(p)
	err := p.sendRaw(frames)
	release()
	if err != nil {
		return err
	}
	answered := func() bool {
		n := 0
		for _, f := range p.log {
			if _, ok := f.msg.(*wire.Result); ok {
				n++
			}
		}
		return n > w
	}
	p.wait(t.ctx, p.allowance(), "waiting for RESULTs or ERROR", func() bool {
		return answered() || p.readErr != nil || slices.ContainsFunc(p.log, func(f frame) bool { return f.typ == wire.MsgError })
	})
	p.mu.Lock()
	all := answered()
	p.mu.Unlock()
	if all && lastError(p) == nil {
		t.logf("%s: every one answered; the sink never had more than the window unanswered", what)
		return nil
	}
	return t.reaction(p, what, mark, wire.ErrCodeWindowExceeded, append(typeNames(wire.MsgWrite), "window")...)
}
