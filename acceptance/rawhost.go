package acceptance

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"sync"
	"sync/atomic"
	"time"

	"github.com/plugctl/plugctl/internal/hostwire"
	"github.com/plugctl/plugctl/internal/linelog"
	"github.com/plugctl/plugctl/wire"
)

// Limits the checks offer a plugin in HELLO_ACK.
const (
	checkMaxFrame = wire.DefaultMaxFrame
	checkWindow   = 16
	// writeTimeout bounds one frame write, so a plugin that stops reading
	// its standard input cannot block a check.
	writeTimeout = 2 * time.Second
	// exitGrace is how long a report of a plugin's closed output waits for
	// its exit status.
	exitGrace = 200 * time.Millisecond
)

// proc is one plugin process driven directly over the wire protocol. It
// plays a host, but keeps every frame the plugin sent, in order and with
// its arrival time, so a check can judge what a real host would hide: the
// order of replies and events, heartbeat gaps, stray bytes. The standard
// streams are plain pipes owned here (not exec's copying goroutines), so
// the process's exit and the end of its output are observed separately.
type proc struct {
	cmd     *exec.Cmd
	pid     int
	started time.Time // until HELLO: its start-up time
	stdin   *os.File  // our end of the plugin's standard input
	stdout  *os.File  // our end of the plugin's standard output
	stderr  *linelog.Log

	wmu sync.Mutex // serialises frame writes

	mu      sync.Mutex
	changed chan struct{} // closed and replaced whenever the state below changes
	log     []frame       // every frame the plugin sent, in order
	events  map[uint16][]wire.Event
	autoAck map[uint16]bool
	readErr error // why reading stdout stopped: io.EOF on a clean end
	lastIn  []byte
	state   *os.ProcessState // set once the process has exited
	// The window as the host sees it, per instance: the last position of
	// every EVENTS batch, the index of the first one no ACK sent covers,
	// and the first batch that came beyond the window, described.
	batches    map[uint16][]posRange
	uncovered  map[uint16]int
	overWindow map[uint16]string

	ackMu sync.Mutex        // orders ACKs, which must never go backwards
	acked map[uint16]uint64 // the last ACK sent per instance

	exited  chan struct{}
	nextID  atomic.Uint32
	version atomic.Uint32 // chosen in HELLO_ACK, stored before it is sent: bodies are decoded by it
	window  atomic.Uint32 // offered in HELLO_ACK, stored before it is sent
	stopHB  chan struct{} // ends the heartbeats: closed by stopHeartbeat, also on exit

	hbMu   sync.Mutex
	hbLast time.Time     // when the check last sent the plugin a HEARTBEAT
	hbGap  time.Duration // the longest time between two of them
	exitAt time.Time     // when the plugin's exit was seen
	hbOnce sync.Once
}

// frame is one decoded frame from the plugin.
type frame struct {
	at   time.Time
	typ  wire.MsgType
	inst uint16
	msg  any // *wire.Hello, *wire.Reply, []wire.Event, …
}

// startProc starts the plugin with the protocol on pipes and its own
// process group, so cleanup can also reach children it leaves behind.
func startProc(command, env []string, dir string) (*proc, error) {
	var fds [6]*os.File // stdin's ends, stdout's, stderr's: read end first
	for i := 0; i < len(fds); i += 2 {
		var err error
		if fds[i], fds[i+1], err = os.Pipe(); err != nil {
			closeFiles(fds[:]...)
			return nil, err
		}
	}
	inR, inW, outR, outW, errR, errW := fds[0], fds[1], fds[2], fds[3], fds[4], fds[5]
	cmd := exec.Command(command[0], command[1:]...)
	cmd.Env = env
	cmd.Dir = dir
	cmd.Stdin, cmd.Stdout, cmd.Stderr = inR, outW, errW
	ownGroup(cmd)
	started := time.Now()
	err := cmd.Start()
	// The child holds its own copies; ours must go so EOF can be seen.
	closeFiles(inR, outW, errW)
	if err != nil {
		closeFiles(inW, outR, errR)
		return nil, fmt.Errorf("start %s: %w", command[0], err)
	}
	p := &proc{
		cmd:     cmd,
		pid:     cmd.Process.Pid,
		started: started,
		stdin:   inW,
		stdout:  outR,
		stderr:  newStderrLog(),
		changed: make(chan struct{}),
		events:  map[uint16][]wire.Event{},
		autoAck: map[uint16]bool{},
		acked:   map[uint16]uint64{},

		batches:    map[uint16][]posRange{},
		uncovered:  map[uint16]int{},
		overWindow: map[uint16]string{},
		exited:     make(chan struct{}),
		stopHB:     make(chan struct{}),
	}
	go func() {
		p.stderr.Follow(errR)
		errR.Close()
	}()
	go p.readFrames()
	go func() {
		cmd.Wait()
		p.hbMu.Lock()
		p.exitAt = time.Now()
		p.hbMu.Unlock()
		p.mu.Lock()
		p.state = cmd.ProcessState
		p.notify()
		p.mu.Unlock()
		close(p.exited)
		p.stopHeartbeat()
	}()
	return p, nil
}

func closeFiles(fs ...*os.File) {
	for _, f := range fs {
		if f != nil {
			f.Close()
		}
	}
}

// notify wakes every waiter; p.mu must be held.
func (p *proc) notify() {
	close(p.changed)
	p.changed = make(chan struct{})
}

// tailReader remembers the last bytes read, to show what broke the stream.
type tailReader struct {
	r    io.Reader
	tail []byte
}

func (t *tailReader) Read(b []byte) (int, error) {
	n, err := t.r.Read(b)
	t.tail = append(t.tail, b[:n]...)
	if len(t.tail) > 16 {
		t.tail = t.tail[len(t.tail)-16:]
	}
	return n, err
}

// readFrames decodes the plugin's standard output until it ends or breaks
// the protocol. A broken stream cannot be resynchronised, so the first
// error ends reading and is kept for the checks to report.
func (p *proc) readFrames() {
	tr := &tailReader{r: p.stdout}
	fr := wire.NewFrameReader(tr, wire.HelloMaxFrame)
	var kinds []string
	for first := true; ; first = false {
		h, body, err := fr.Next()
		at := time.Now()
		var msg any
		if err == nil {
			msg, err = decodeFrame(h, body, kinds, first, uint16(p.version.Load()))
		}
		p.mu.Lock()
		if err != nil {
			if !errors.Is(err, io.EOF) {
				p.lastIn = tr.tail
			}
			p.readErr = err
			p.notify()
			p.mu.Unlock()
			return
		}
		p.log = append(p.log, frame{at: at, typ: h.Type, inst: h.Instance, msg: msg})
		ack, ackAt := false, uint64(0)
		switch m := msg.(type) {
		case *wire.Hello:
			kinds = m.EventKinds
			fr.SetMax(checkMaxFrame)
		case []wire.Event:
			p.events[h.Instance] = append(p.events[h.Instance], m...)
			p.noteBatch(h.Instance, m)
			ack, ackAt = p.autoAck[h.Instance], m[len(m)-1].Position
		}
		p.notify()
		p.mu.Unlock()
		if ack {
			p.ack(h.Instance, ackAt)
		}
	}
}

// noteBatch records a batch of inst and whether it came beyond the
// window: with more of the instance's batches than the window not covered
// by an ACK the host had sent (PROTOCOL.md §6.3). An ACK counts from just
// before it is written, so a plugin that sent after reading it is never
// held to less. p.mu is held.
func (p *proc) noteBatch(inst uint16, evs []wire.Event) {
	r := posRange{evs[0].Position, evs[len(evs)-1].Position}
	b := append(p.batches[inst], r)
	p.batches[inst] = b
	i := p.oldestUnacked(inst)
	p.uncovered[inst] = i
	if w, n := int(p.window.Load()), len(b)-i; n > w && p.overWindow[inst] == "" {
		p.overWindow[inst] = fmt.Sprintf("batch %d (positions %d to %d) with %d batches unacknowledged, the window being %d", len(b), r.first, r.last, n, w)
	}
}

// posRange is the first and last position of a batch.
type posRange struct{ first, last uint64 }

// oldestUnacked is the index of inst's first batch that no ACK sent
// covers (len(p.batches[inst]) if there is none). p.mu is held.
func (p *proc) oldestUnacked(inst uint16) int {
	b := p.batches[inst]
	acked, ok := p.ackedAt(inst)
	i := p.uncovered[inst]
	for ok && i < len(b) && b[i].last <= acked {
		i++
	}
	return i
}

// ackedAt is the last position acknowledged on inst, if any was.
func (p *proc) ackedAt(inst uint16) (uint64, bool) {
	p.ackMu.Lock()
	defer p.ackMu.Unlock()
	pos, ok := p.acked[inst]
	return pos, ok
}

// decodeFrame decodes one frame body. A stream that does not start with
// its only HELLO breaks the protocol.
func decodeFrame(h wire.Header, body []byte, kinds []string, first bool, version uint16) (any, error) {
	if first && h.Type != wire.MsgHello {
		return nil, fmt.Errorf("first frame is %s, want HELLO", h.Type)
	}
	if !first && h.Type == wire.MsgHello {
		return nil, errors.New("second HELLO")
	}
	return hostwire.Decode(h, body, version, kinds)
}

// send writes one frame, bounded by writeTimeout.
func (p *proc) send(t wire.MsgType, inst uint16, body []byte) error {
	b := make([]byte, 0, wire.HeaderSize+len(body))
	b = wire.AppendHeader(b, t, inst, len(body))
	return p.sendRaw(append(b, body...))
}

// sendRaw writes bytes as they are, for checks that send broken frames.
func (p *proc) sendRaw(b []byte) error {
	p.wmu.Lock()
	defer p.wmu.Unlock()
	p.stdin.SetWriteDeadline(time.Now().Add(writeTimeout))
	if _, err := p.stdin.Write(b); err != nil {
		return fmt.Errorf("write to plugin: %w", err)
	}
	return nil
}

// waitFor blocks until cond holds (evaluated with p.mu held), the context
// ends, or no frame can come any more. what names the wait in errors.
func (p *proc) waitFor(ctx context.Context, what string, cond func() bool) error {
	for {
		p.mu.Lock()
		if cond() {
			p.mu.Unlock()
			return nil
		}
		if p.readErr != nil {
			if p.state == nil {
				// The exit follows the end of the output at once as a rule;
				// a moment's wait lets the report say how the plugin exited.
				p.mu.Unlock()
				select {
				case <-p.exited:
				case <-time.After(exitGrace):
				}
				p.mu.Lock()
			}
			err := p.streamError()
			p.mu.Unlock()
			return fmt.Errorf("%s: %w", what, err)
		}
		ch := p.changed
		p.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return fmt.Errorf("%s: no answer within the check's time (%w)", what, context.Cause(ctx))
		}
	}
}

// broken reports whether the plugin's output has ended or broken, so no
// frame can come any more.
func (p *proc) broken() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.readErr != nil
}

// streamError describes why the plugin's output ended; p.mu must be held.
func (p *proc) streamError() error {
	err := p.readErr
	if err == nil {
		err = errors.New("standard output still open")
	} else if errors.Is(err, io.EOF) {
		err = errors.New("plugin closed its standard output")
	} else if len(p.lastIn) > 0 {
		err = fmt.Errorf("%w (last bytes read: %q)", err, p.lastIn)
	}
	if p.state != nil {
		err = fmt.Errorf("%w; plugin exited: %s", err, p.state)
	}
	return err
}

// wait is a waitFor that cannot hang past d even with a long-lived ctx.
func (p *proc) wait(ctx context.Context, d time.Duration, what string, cond func() bool) error {
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	return p.waitFor(ctx, what, cond)
}

// hello waits for the plugin's HELLO.
func (p *proc) hello(ctx context.Context) (*wire.Hello, error) {
	if err := p.waitFor(ctx, "waiting for HELLO", func() bool { return len(p.log) > 0 }); err != nil {
		return nil, err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.log[0].msg.(*wire.Hello), nil
}

// handshake reads HELLO and accepts it with the newest protocol version
// both sides speak and the given heartbeat interval, then heartbeats to the plugin at that interval
// so it never declares the host dead.
func (p *proc) handshake(ctx context.Context, heartbeat time.Duration) (*wire.Hello, error) {
	return p.handshakeLimits(ctx, heartbeat, checkWindow, checkMaxFrame)
}

// handshakeLimits is handshake offering a window and a frame limit of
// the check's choice.
func (p *proc) handshakeLimits(ctx context.Context, heartbeat time.Duration, window, maxFrame uint32) (*wire.Hello, error) {
	h, err := p.hello(ctx)
	if err != nil {
		return nil, err
	}
	return h, p.acceptAck(heartbeat, wire.HelloAck{Version: chosenVersion(h), MaxFrame: maxFrame, Window: window})
}

// chosenVersion is the version the raw host picks for h: the newest both
// speak. With none in common, version 1 still lets the checks see how the
// plugin takes a choice it did not offer.
func chosenVersion(h *wire.Hello) uint16 { return max(wire.NewestVersion(h.Versions), 1) }

// accept answers HELLO with HELLO_ACK choosing version, then heartbeats.
func (p *proc) accept(heartbeat time.Duration, version uint16) error {
	return p.acceptAck(heartbeat, wire.HelloAck{Version: version, MaxFrame: checkMaxFrame, Window: checkWindow})
}

// acceptAck answers HELLO with ack, its interval set to heartbeat, then
// heartbeats. The raw host offers no ring: the transport stays the stream.
func (p *proc) acceptAck(heartbeat time.Duration, ack wire.HelloAck) error {
	ack.HeartbeatMS = uint32(heartbeat / time.Millisecond)
	p.version.Store(uint32(ack.Version))
	p.window.Store(ack.Window)
	if err := p.send(wire.MsgHelloAck, 0, ack.AppendTo(nil)); err != nil {
		return err
	}
	go hostwire.Heartbeats(heartbeat, p.stopHB, func(frame []byte) error {
		p.hbMu.Lock()
		now := time.Now()
		if !p.hbLast.IsZero() {
			p.hbGap = max(p.hbGap, now.Sub(p.hbLast))
		}
		p.hbLast = now
		p.hbMu.Unlock()
		return p.sendRaw(frame)
	})
	return nil
}

// hostSilence is the longest the check's own heartbeats left the plugin
// without a frame, up to its exit: a loaded machine can starve the check,
// and a plugin that then gives up on its host is right to.
func (p *proc) hostSilence() time.Duration {
	p.hbMu.Lock()
	defer p.hbMu.Unlock()
	gap := p.hbGap
	if !p.hbLast.IsZero() && !p.exitAt.IsZero() {
		gap = max(gap, p.exitAt.Sub(p.hbLast))
	}
	return gap
}

// stopHeartbeat ends the host's heartbeats.
func (p *proc) stopHeartbeat() { p.hbOnce.Do(func() { close(p.stopHB) }) }

// find returns the index of the first frame at or after from that match
// reports true for, or -1; p.mu must be held.
func (p *proc) find(from int, match func(f frame) bool) int {
	for i := from; i < len(p.log); i++ {
		if match(p.log[i]) {
			return i
		}
	}
	return -1
}

// frames returns a copy of the log.
func (p *proc) frames() []frame {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]frame(nil), p.log...)
}

// request sends a SETUP, OPEN, STOP or CLOSE and waits for its REPLY.
func (p *proc) request(ctx context.Context, t wire.MsgType, inst uint16, r wire.Request) (*wire.Reply, error) {
	r.ID = p.nextID.Add(1)
	if err := p.send(t, inst, r.AppendTo(nil, t)); err != nil {
		return nil, err
	}
	return p.awaitReply(ctx, t, r.ID)
}

// awaitReply waits for the REPLY to request id, of type t.
func (p *proc) awaitReply(ctx context.Context, t wire.MsgType, id uint32) (*wire.Reply, error) {
	var reply *wire.Reply
	err := p.waitFor(ctx, fmt.Sprintf("waiting for the REPLY to %s", t), func() bool {
		i := p.find(0, func(f frame) bool {
			m, ok := f.msg.(*wire.Reply)
			return ok && m.ID == id
		})
		if i >= 0 {
			reply = p.log[i].msg.(*wire.Reply)
		}
		return i >= 0
	})
	return reply, err
}

// spec asks for the specification.
func (p *proc) spec(ctx context.Context) (*wire.Spec, error) {
	id := p.nextID.Add(1)
	if err := p.send(wire.MsgSpecRequest, 0, (&wire.Request{ID: id}).AppendTo(nil, wire.MsgSpecRequest)); err != nil {
		return nil, err
	}
	var got any
	err := p.waitFor(ctx, "waiting for SPEC", func() bool {
		i := p.find(0, func(f frame) bool {
			switch m := f.msg.(type) {
			case *wire.SpecReply:
				return m.ID == id
			case *wire.Reply:
				return m.ID == id
			}
			return false
		})
		if i >= 0 {
			got = p.log[i].msg
		}
		return i >= 0
	})
	if err != nil {
		return nil, err
	}
	if r, ok := got.(*wire.Reply); ok {
		return nil, fmt.Errorf("SPEC_REQUEST answered with REPLY %s: %s", r.Status, r.Message)
	}
	return &got.(*wire.SpecReply).Spec, nil
}

// split returns the events received on inst before and after the frame
// that carried reply.
func (p *proc) split(inst uint16, reply *wire.Reply) (before, after []wire.Event) {
	seen := false
	for _, f := range p.frames() {
		seen = seen || f.msg == any(reply)
		if evs, ok := f.msg.([]wire.Event); ok && f.inst == inst {
			if seen {
				after = append(after, evs...)
			} else {
				before = append(before, evs...)
			}
		}
	}
	return before, after
}

// setAutoAck makes the reader acknowledge every batch of inst on arrival,
// as a fast host does, or stop doing so. Turning it on acknowledges what
// already arrived, which may have filled the window.
func (p *proc) setAutoAck(inst uint16, on bool) {
	p.mu.Lock()
	p.autoAck[inst] = on
	evs := p.events[inst]
	p.mu.Unlock()
	if on && len(evs) > 0 {
		p.ack(inst, evs[len(evs)-1].Position)
	}
}

// ack acknowledges every event of inst up to pos, unless a later ACK
// already did.
func (p *proc) ack(inst uint16, pos uint64) error {
	p.ackMu.Lock()
	defer p.ackMu.Unlock()
	if last, ok := p.acked[inst]; ok && pos <= last {
		return nil
	}
	p.acked[inst] = pos
	return p.send(wire.MsgAck, inst, (&wire.Ack{Position: pos}).AppendTo(nil))
}

// eventsOn returns the events received on inst so far.
func (p *proc) eventsOn(inst uint16) []wire.Event {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]wire.Event(nil), p.events[inst]...)
}

// waitEvents waits until at least n events arrived on inst.
func (p *proc) waitEvents(ctx context.Context, inst uint16, n int) ([]wire.Event, error) {
	err := p.waitFor(ctx, fmt.Sprintf("waiting for %d events on instance %d", n, inst), func() bool {
		return len(p.events[inst]) >= n
	})
	if err != nil {
		return p.eventsOn(inst), fmt.Errorf("%w (got %d)", err, len(p.eventsOn(inst)))
	}
	return p.eventsOn(inst), nil
}

// exit waits at most d for the process to exit.
func (p *proc) exit(d time.Duration) (*os.ProcessState, error) {
	select {
	case <-p.exited:
		return p.cmd.ProcessState, nil
	case <-time.After(d):
		return nil, fmt.Errorf("plugin still running %s later", d)
	}
}

// allowance is how long p may take for what it must do at once, exit or
// answer: exitBound plus the time it took to start, as a machine that
// slows a plugin's start-up slows the rest of its work too.
func (p *proc) allowance() time.Duration {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.log) == 0 {
		return exitBound
	}
	return exitBound + p.log[0].at.Sub(p.started)
}

// mustExit waits for the exit that after requires, within the allowance.
func (p *proc) mustExit(after string) (*os.ProcessState, error) {
	d := p.allowance()
	st, err := p.exit(d)
	if err != nil {
		return nil, failf(fmt.Sprintf("exit within %s of %s (%s and its start-up time)", d.Round(time.Millisecond), after, exitBound), "%v", err)
	}
	return st, nil
}

// goodbye ends the session as a host does: GOODBYE, then the plugin's
// GOODBYE and its exit, each bounded by the allowance.
func (p *proc) goodbye(ctx context.Context) (*os.ProcessState, error) {
	d := p.allowance()
	if err := p.send(wire.MsgGoodbye, 0, (&wire.Goodbye{Reason: wire.GoodbyeNormal}).AppendTo(nil)); err != nil {
		return nil, err
	}
	// A slow shutdown is its own fault: say so, so that a check about
	// something else (children, stdout) does not report it as its own.
	expected := fmt.Sprintf("GOODBYE and exit within %s of the host's GOODBYE (%s and its start-up time)", d.Round(time.Millisecond), exitBound)
	if err := p.wait(ctx, d, "waiting for GOODBYE", func() bool {
		return p.find(0, func(f frame) bool { return f.typ == wire.MsgGoodbye }) >= 0
	}); err != nil {
		return nil, failf(expected, "%v", err)
	}
	st, err := p.exit(d)
	if err != nil {
		return nil, failf(expected, "GOODBYE, then %v", err)
	}
	return st, nil
}

// kill ends the process group and releases the pipes. Safe to call twice.
func (p *proc) kill() {
	p.stopHeartbeat()
	killGroup(p)
	<-p.exited
	p.stdin.Close()
	p.stdout.Close()
}
