package host

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"time"

	"github.com/plugctl/plugctl/internal/hostwire"
	"github.com/plugctl/plugctl/wire"
)

// readBuffer is the host's read buffer per plugin. Bodies larger than
// what is buffered are read straight into the frame buffer, so a big batch
// is not copied twice.
const readBuffer = 256 << 10

// start runs the handshake on a fresh connection and, when the plugin is
// accepted, starts the session's goroutines. On failure the connection is
// closed and a launched plugin is reaped before start returns.
func start(ctx context.Context, c conn, proc *process, rings offers, id identity, name string, opts Options) (*Plugin, error) {
	p := &Plugin{
		opts:    opts,
		conn:    c,
		proc:    proc,
		ring:    rings.ring,
		inRing:  rings.input,
		id:      id,
		name:    name,
		rd:      &waitingReader{r: c},
		quit:    make(chan struct{}),
		done:    make(chan struct{}),
		pending: make(map[uint32]waiter),
	}
	p.br = bufio.NewReaderSize(p.rd, readBuffer)
	p.fr = wire.NewFrameReader(p.br, wire.HelloMaxFrame)
	p.instances.Store(&map[uint16]instance{})

	deadline := time.Now().Add(opts.Timeout)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	c.SetReadDeadline(deadline)
	c.SetWriteDeadline(deadline)
	stop := context.AfterFunc(ctx, func() { c.SetReadDeadline(time.Unix(1, 0)) })
	err := p.handshake()
	stop()
	if err == nil && ctx.Err() != nil {
		err = ctx.Err()
	}
	if err != nil {
		return nil, p.failHandshake(ctx, err)
	}
	c.SetReadDeadline(time.Time{})
	c.SetWriteDeadline(time.Time{})

	p.fr.SetMax(opts.MaxFrame)
	p.ackEvery = max(1, int(p.ack.Window)/2)
	if p.ack.Transport == wire.TransportRing {
		p.useRing()
	} else {
		p.releaseRing() // a version 1 plugin: the ring offered goes unused
		p.rd.onRead = p.flushAcks
	}
	var out io.Writer = c
	if p.ack.InputTransport == wire.TransportRing {
		out = p.useInputRing()
	} else {
		p.releaseInputRing()
	}
	p.w = newWriter(out, p.quit, p.writeFailed)
	go p.w.run()
	go hostwire.Heartbeats(opts.Heartbeat, p.quit, func(frame []byte) error {
		p.w.send(frame)
		return nil
	})
	go p.watch()
	go p.readLoop()
	p.mu.Lock()
	p.started = true
	pending := p.ended
	p.mu.Unlock()
	if pending != nil {
		p.sendEnd(pending)
	}
	return p, nil
}

// handshake reads HELLO, decides, and answers HELLO_ACK or REJECT.
func (p *Plugin) handshake() error {
	hdr, err := p.br.Peek(wire.HeaderSize)
	if err != nil {
		if len(hdr) == 0 && err == io.EOF {
			return fmt.Errorf("%w: the plugin closed its output before sending HELLO", ErrConnectionLost)
		}
		return p.notHello(err)
	}
	if h, err := wire.ParseHeader(hdr, wire.HelloMaxFrame); err != nil || h.Type != wire.MsgHello {
		if err == nil {
			err = fmt.Errorf("first frame is %s", h.Type)
		}
		return p.notHello(err)
	}
	_, body, err := p.fr.Next()
	if err != nil {
		return p.notHello(err)
	}
	if err := p.hello.Decode(body); err != nil {
		return p.reject(wire.RejectBadHello, err.Error())
	}
	if p.hello.Name != "" {
		p.name = p.hello.Name
		if p.proc != nil {
			p.proc.stderr.SetPrefix(stderrPrefix(p.name))
		}
	}
	return p.decide()
}

// notHello describes a stream that does not start with a HELLO frame,
// showing its first bytes: usually a program that prints to stdout.
func (p *Plugin) notHello(cause error) error {
	if errors.Is(cause, os.ErrDeadlineExceeded) {
		cause = fmt.Errorf("%w: no HELLO within %v", ErrTimeout, p.opts.Timeout)
	}
	first, _ := p.br.Peek(min(p.br.Buffered(), 32))
	if len(first) == 0 {
		return cause
	}
	return fmt.Errorf("not a plugctl plugin: first bytes %q are not a HELLO frame (%w)", first, cause)
}

// decide negotiates the version and runs the host's checks.
func (p *Plugin) decide() error {
	version := wire.NewestVersion(p.hello.Versions)
	h := &p.hello
	switch {
	case version == 0:
		return p.reject(wire.RejectUnsupportedVersion,
			fmt.Sprintf("host speaks protocol versions 1 to %d, plugin speaks %v", wire.ProtocolVersion, h.Versions))
	case h.Role != wire.RoleSource && h.Role != wire.RoleSink:
		return p.reject(wire.RejectBadHello, fmt.Sprintf("unknown role %d", h.Role))
	case p.opts.Role != 0 && h.Role != p.opts.Role:
		return p.reject(wire.RejectWrongRole, fmt.Sprintf("host wants a %s, plugin is a %s", p.opts.Role, h.Role))
	}
	if p.opts.Check != nil {
		release, err := p.opts.Check.Admit(p.id.candidate(p))
		if err != nil {
			var re *RejectError
			if errors.As(refusal(err), &re) {
				return p.reject(re.Reason, re.Message)
			}
			return p.reject(wire.RejectPolicy, err.Error())
		}
		p.release = release
	}
	p.kinds = make(map[string]uint16, len(h.EventKinds))
	for i, k := range slices.Backward(h.EventKinds) {
		p.kinds[k] = uint16(i) // the first of duplicate names wins
	}
	p.ack = wire.HelloAck{
		Version:     version,
		MaxFrame:    p.opts.MaxFrame,
		HeartbeatMS: uint32(max(p.opts.Heartbeat.Milliseconds(), 1)),
	}
	// A plugin lists wire.RingVersion only if it can take the ring it was
	// offered: one that cannot lists the later versions without it.
	if version >= wire.RingVersion && p.ring != nil && slices.Contains(h.Versions, wire.RingVersion) {
		p.ack.Transport = wire.TransportRing
	}
	p.ack.Window = uint32(p.window(h.Role))
	// The same with wire.InputRingVersion for the input ring, which pays
	// only for a sink's WRITEs: a source's input is a trickle of acks.
	if version >= wire.InputRingVersion && p.inRing != nil && h.Role == wire.RoleSink && slices.Contains(h.Versions, wire.InputRingVersion) {
		p.ack.InputTransport = wire.TransportRing
	}
	body := p.ack.AppendTo(nil)
	frame := append(wire.AppendHeader(nil, wire.MsgHelloAck, 0, len(body)), body...)
	if _, err := p.conn.Write(frame); err != nil {
		return fmt.Errorf("%w: sending HELLO_ACK: %w", ErrConnectionLost, err)
	}
	return nil
}

// window is Options.Window, or its default for a plugin of role on the
// transport chosen.
func (p *Plugin) window(role wire.Role) int {
	switch {
	case p.opts.Window > 0:
		return p.opts.Window
	case role == wire.RoleSource && p.ack.Transport == wire.TransportRing:
		return ringSourceWindow
	}
	return defaultWindow
}

// reject tells the plugin why it is refused, best effort, and returns the
// refusal as the handshake's error.
func (p *Plugin) reject(reason wire.RejectReason, msg string) error {
	m := wire.Reject{Reason: reason, Message: msg}
	body := m.AppendTo(nil)
	p.conn.Write(append(wire.AppendHeader(nil, wire.MsgReject, 0, len(body)), body...))
	return &RejectError{Reason: reason, Message: msg}
}

// failHandshake ends a session that never started and explains why.
func (p *Plugin) failHandshake(ctx context.Context, cause error) error {
	var re *RejectError
	rejected := errors.As(cause, &re)
	if !rejected && ctx.Err() != nil {
		cause = fmt.Errorf("handshake: %w", ctx.Err())
	}
	p.cause = cause
	p.conn.Close()
	p.releaseRing()
	p.releaseInputRing()
	if p.proc != nil {
		if !rejected {
			p.proc.kill() // a rejected plugin exits by itself, with status 2
		}
		p.proc.wait(p.opts.Grace)
	}
	close(p.quit)
	p.err = p.sessionError()
	p.released()
	close(p.done)
	return p.err
}
