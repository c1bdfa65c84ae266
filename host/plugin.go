package host

import (
	"bufio"
	"context"
	"fmt"
	"maps"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/plugctl/plugctl/wire"
)

// Plugin is a session with one plugin process, from an accepted handshake
// to the end of its stream. Its methods are safe for concurrent use.
//
// Failure behaviour: when the plugin crashes, closes its stream, breaks
// the protocol, stays silent for three heartbeat intervals or leaves a
// request unanswered for Options.Timeout, the session ends: the plugin is
// sent an ERROR where it broke the protocol, killed, and reaped; every
// pending and later call fails with an error wrapping the *SessionError
// that Err returns; Done is closed.
type Plugin struct {
	opts  Options
	conn  conn
	proc  *process    // nil for a plugin accepted on a socket
	ring  *sharedRing // the ring offered to a launched plugin, if any
	id    identity
	name  string // from HELLO once known
	hello wire.Hello
	ack   wire.HelloAck
	kinds map[string]uint16 // event kind name → index in the HELLO table

	inRing *sharedRing // the input ring offered to a launched plugin, if any

	rd *waitingReader
	br *bufio.Reader
	fr *wire.FrameReader
	w  *writer

	// deferred holds sources whose ACK waits until the read loop runs out
	// of buffered frames, half the window is used or, on a ring that never
	// runs dry, ringAckDelay has passed (owned by the read loop): under
	// load one ACK covers many batches, and the plugin is not woken once
	// per batch.
	deferred []*Source
	ackEvery int

	// instances is replaced, never changed, so the read loop looks
	// instances up without a lock.
	instances atomic.Pointer[map[uint16]instance]

	mu       sync.Mutex
	pending  map[uint32]waiter
	lastReq  uint32
	lastInst uint16
	cause    error // the first reason the session is ending
	ending   bool  // the read loop has begun tearing down
	goodbye  *wire.Goodbye
	closing  bool  // the host sent GOODBYE
	started  bool  // start has run the session's goroutines
	ended    error // why the Enrollment ended the session, if it did

	release func() // the Enrollment's, called once the session has ended

	closeOnce sync.Once
	closed    atomic.Bool   // the host closed the connection
	quit      chan struct{} // stops the writer and the heartbeat watch
	done      chan struct{}
	err       error // set before done closes
}

// instance is an open source or sink, fed frames by the read loop.
type instance interface {
	handle(h wire.Header, body []byte) error
}

// Hello returns the plugin's HELLO: its id, name, version, role and kinds.
func (p *Plugin) Hello() wire.Hello { return p.hello }

// HelloAck returns the host's answer to HELLO: the protocol version,
// limits and transport of the session.
func (p *Plugin) HelloAck() wire.HelloAck { return p.ack }

// Poll returns how long the read loop polls an empty ring between frames
// (Options.Poll after its defaults and bound), or 0 when it does not poll
// beyond the 20 µs spin.
func (p *Plugin) Poll() time.Duration { return max(p.opts.Poll, 0) }

// Pid returns the plugin's process id, or 0 for a plugin accepted on a
// socket.
func (p *Plugin) Pid() int {
	if p.proc == nil {
		return 0
	}
	return p.proc.cmd.Process.Pid
}

// Done is closed when the session has ended and a launched plugin has
// been reaped.
func (p *Plugin) Done() <-chan struct{} { return p.done }

// Err says why the session ended: nil while it runs and after a clean
// end (a GOODBYE from either side, and exit status 0 for a launched
// plugin), a *SessionError otherwise.
func (p *Plugin) Err() error {
	select {
	case <-p.done:
		return p.err
	default:
		return nil
	}
}

// Spec asks the plugin for its specification.
func (p *Plugin) Spec(ctx context.Context) (wire.Spec, error) {
	r, err := p.do(ctx, &call{t: wire.MsgSpecRequest, op: "spec"})
	if err != nil {
		return wire.Spec{}, err
	}
	if r.spec == nil {
		if err := replyErr("spec", &r.reply); err != nil {
			return wire.Spec{}, err
		}
		return wire.Spec{}, fmt.Errorf("spec: plugin %s answered with a REPLY, not a SPEC", p.name)
	}
	return *r.spec, nil
}

// Setup sends the process-wide settings, once, before any instance is
// opened. A refusal is a *RequestError.
func (p *Plugin) Setup(ctx context.Context, settings map[string]string) error {
	r, err := p.do(ctx, &call{t: wire.MsgSetup, op: "setup", req: wire.Request{Settings: settings}})
	if err != nil {
		return err
	}
	return replyErr("setup", &r.reply)
}

// Close ends the session gracefully: it sends GOODBYE and waits for the
// plugin to end its stream and exit. A plugin still running after
// Options.Grace, or when ctx ends, is killed. Close returns Err. It must
// not be called from a Handler, whose return the session's end awaits.
func (p *Plugin) Close(ctx context.Context) error {
	p.mu.Lock()
	first := !p.closing
	p.closing = true
	p.mu.Unlock()
	if first {
		p.sendGoodbye(wire.GoodbyeNormal, "host closing")
	}
	p.awaitEnd(ctx)
	return p.err
}

// sendGoodbye asks the plugin to end the session.
func (p *Plugin) sendGoodbye(reason wire.GoodbyeReason, msg string) {
	m := wire.Goodbye{Reason: reason, Message: msg}
	p.w.send(m.AppendTo(wire.AppendHeader(nil, wire.MsgGoodbye, 0, 6+len(m.Message))))
}

// awaitEnd waits for the session to end after GOODBYE, killing a plugin
// that takes longer than Options.Grace or than ctx allows.
func (p *Plugin) awaitEnd(ctx context.Context) {
	t := time.NewTimer(p.opts.Grace)
	defer t.Stop()
	select {
	case <-p.done:
	case <-t.C:
		p.abort(fmt.Errorf("%w: the plugin did not end its session within %v of GOODBYE", ErrKilled, p.opts.Grace), 0)
	case <-ctx.Done():
		p.abort(fmt.Errorf("%w: close: %w", ErrKilled, ctx.Err()), 0)
	}
	<-p.done
}

// endFor ends the session for the Enrollment (Candidate.End). Before start
// has run the writer, the cause waits for it.
func (p *Plugin) endFor(cause error) {
	p.mu.Lock()
	if p.ended != nil || p.cause != nil || p.ending {
		p.mu.Unlock()
		return
	}
	p.ended = cause
	started := p.started
	p.mu.Unlock()
	if started {
		p.sendEnd(cause)
	}
}

// sendEnd sends the Enrollment's GOODBYE and bounds the plugin's exit.
func (p *Plugin) sendEnd(cause error) {
	p.mu.Lock()
	first := !p.closing
	p.closing = true
	p.mu.Unlock()
	if first {
		p.sendGoodbye(wire.GoodbyeRevoked, cause.Error())
	}
	go p.awaitEnd(context.Background())
}

// released calls the Enrollment's release, once, as the session ends.
func (p *Plugin) released() {
	if p.release != nil {
		p.release()
	}
}

// Kill ends the session at once: the plugin (and its process group) is
// killed, its connection closed and the process reaped. Kill returns Err,
// which wraps ErrKilled unless the session had already ended. Like Close,
// it must not be called from a Handler.
func (p *Plugin) Kill() error {
	p.abort(ErrKilled, 0)
	<-p.done
	return p.err
}

// newInstance allocates an instance id; ids are never reused, so late
// frames of a closed instance are told apart from a plugin's mistakes.
func (p *Plugin) newInstance() (uint16, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.lastInst == 1<<16-1 {
		return 0, fmt.Errorf("plugin %s: all 65535 instance ids used", p.name)
	}
	p.lastInst++
	return p.lastInst, nil
}

// open installs inst as instance id and sends OPEN; on failure the id is
// freed again. The instance is installed before OPEN is sent because the
// first batch may overtake the reply.
func (p *Plugin) open(ctx context.Context, id uint16, inst instance, req wire.Request) error {
	p.setInstance(id, inst)
	c := &call{t: wire.MsgOpen, instance: id, op: fmt.Sprintf("open instance %d", id), req: req}
	r, err := p.do(ctx, c)
	if err == nil {
		err = replyErr(c.op, &r.reply)
	}
	if err != nil {
		p.setInstance(id, nil)
	}
	return err
}

// setInstance installs inst under id, or removes id when inst is nil.
func (p *Plugin) setInstance(id uint16, inst instance) {
	p.mu.Lock()
	defer p.mu.Unlock()
	m := maps.Clone(*p.instances.Load())
	if inst == nil {
		delete(m, id)
	} else {
		m[id] = inst
	}
	p.instances.Store(&m)
}

// abort ends the session for a fatal cause: the first cause wins. With a
// non-zero code the plugin is told with ERROR, best effort; then it is
// killed and the connection closed, which ends the read loop.
func (p *Plugin) abort(cause error, code wire.ErrorCode) {
	p.mu.Lock()
	if p.cause != nil || p.ending {
		p.mu.Unlock()
		return
	}
	p.cause = cause
	p.mu.Unlock()
	if code != 0 {
		m := wire.ErrorMsg{Code: code, Message: cause.Error()}
		body := m.AppendTo(nil)
		p.w.sendWait(append(wire.AppendHeader(nil, wire.MsgError, 0, len(body)), body...), errorWait)
	}
	if p.proc != nil {
		p.proc.kill()
	}
	p.closeConn()
}

// errorWait bounds the wait for an ERROR frame to be written.
const errorWait = 100 * time.Millisecond

func (p *Plugin) closeConn() {
	p.closeOnce.Do(func() {
		p.closed.Store(true)
		p.conn.Close()
	})
}

func (p *Plugin) sessionError() error {
	e := &SessionError{Plugin: p.name, Err: p.cause}
	if p.proc != nil {
		e.Exit = p.proc.state
		e.Stderr = p.proc.stderr.Lines()
		if c := p.proc.stderr.Crash(); c != "" && !slices.Contains(e.Stderr, c) {
			e.Stderr = append([]string{c, "…"}, e.Stderr...)
		}
	}
	return e
}
