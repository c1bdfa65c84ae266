package host

import (
	"errors"
	"fmt"
	"io"

	"github.com/plugctl/plugctl/internal/hostwire"
	"github.com/plugctl/plugctl/wire"
)

// readLoop is the session's only reader: it hands frames to their
// instance or request in stream order and ends the session when the
// stream ends or breaks.
func (p *Plugin) readLoop() {
	var err error
	for {
		var h wire.Header
		var body []byte
		if h, body, err = p.fr.Next(); err != nil {
			err = readErr(err)
			break
		}
		if err = p.dispatch(h, body); err != nil {
			break
		}
	}
	var v *violation
	switch {
	case errors.As(err, &v):
		p.abort(err, v.code)
	case errors.As(err, new(*wire.ErrorMsg)):
		p.abort(err, 0) // the plugin gave up: kill it rather than wait
	}
	p.finish(err)
}

// readErr tells a broken stream (the plugin died inside a frame) from a
// frame that breaks the protocol.
func readErr(err error) error {
	switch {
	case errors.Is(err, io.ErrUnexpectedEOF):
		return fmt.Errorf("%w: %w", ErrConnectionLost, err)
	case errors.Is(err, wire.ErrFrameTooLarge):
		return &violation{wire.ErrCodeTooLarge, err}
	case errors.Is(err, wire.ErrMalformed):
		return &violation{wire.ErrCodeMalformed, err}
	case err == io.EOF:
		return fmt.Errorf("%w: the plugin closed its stream without GOODBYE", ErrConnectionLost)
	}
	return fmt.Errorf("%w: %w", ErrConnectionLost, err)
}

func (p *Plugin) dispatch(h wire.Header, body []byte) error {
	if h.Type != wire.MsgEvents {
		// A reply may end a drain: its events must be acknowledged first.
		p.flushAcks()
	}
	switch h.Type {
	case wire.MsgEvents, wire.MsgProgress, wire.MsgEnd, wire.MsgResult:
		inst, err := p.instance(h)
		if inst == nil {
			return err
		}
		return inst.handle(h, body)
	case wire.MsgHello:
		return unexpected(h) // a second one, whatever its body
	}
	msg, err := hostwire.Decode(h, body, p.ack.Version, nil)
	if errors.Is(err, hostwire.ErrHostOnly) {
		return unexpected(h)
	}
	if err != nil {
		return malformed(err)
	}
	switch m := msg.(type) {
	case *wire.Reply:
		return p.respond(m.ID, response{reply: *m})
	case *wire.SpecReply:
		return p.respond(m.ID, response{reply: wire.Reply{ID: m.ID}, spec: &m.Spec})
	case *wire.Goodbye:
		p.mu.Lock()
		p.goodbye = m
		p.mu.Unlock()
		return nil // the stream ends next
	case *wire.ErrorMsg:
		return fmt.Errorf("plugin sent ERROR: %w", m)
	}
	return nil // a HEARTBEAT: its arrival is all that counts
}

func unexpected(h wire.Header) error {
	return violationf(wire.ErrCodeUnexpected, "%s frame sent by a plugin", h.Type)
}

func malformed(err error) error {
	if err == nil {
		return nil
	}
	return &violation{wire.ErrCodeMalformed, err}
}

// instance finds the instance a frame is for. Frames of an instance the
// host closed or gave up opening are dropped.
func (p *Plugin) instance(h wire.Header) (instance, error) {
	if inst := (*p.instances.Load())[h.Instance]; inst != nil {
		return inst, nil
	}
	p.mu.Lock()
	issued := h.Instance != 0 && h.Instance <= p.lastInst
	p.mu.Unlock()
	if issued {
		return nil, nil
	}
	return nil, violationf(wire.ErrCodeUnknownInstance, "%s frame for instance %d, which the host never opened", h.Type, h.Instance)
}

// finish tears the session down once the read loop has stopped: it stops
// the writer and the heartbeat watch, closes the connection, reaps a
// launched plugin (killing it after Options.Grace) and records the result.
func (p *Plugin) finish(readErr error) {
	p.mu.Lock()
	p.ending = true
	cause, bye := p.cause, p.goodbye
	clean := cause == nil && (bye != nil || p.closing)
	if clean && p.ended != nil {
		clean, cause = false, p.ended // the Enrollment ended it: not a clean end for the caller
	}
	if cause == nil && !clean {
		cause = readErr
	}
	p.mu.Unlock()

	close(p.quit)
	p.closeConn()
	p.releaseRing()
	<-p.w.done // quit and the closed connection end its last write
	p.releaseInputRing()
	if p.proc != nil {
		p.proc.wait(p.opts.Grace)
	}
	if clean && bye != nil && bye.Reason == wire.GoodbyeError {
		clean, cause = false, fmt.Errorf("plugin failed: %s", bye.Message)
	}
	if clean && p.proc != nil && (p.proc.state == nil || !p.proc.state.Success()) {
		clean, cause = false, errors.New("exited with a failure after GOODBYE")
	}
	if !clean {
		p.mu.Lock()
		p.cause = cause
		p.mu.Unlock()
		p.err = p.sessionError()
	}
	p.released()
	close(p.done)
}
