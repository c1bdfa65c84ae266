package host

import (
	"context"
	"fmt"
	"time"

	"github.com/plugctl/plugctl/wire"
)

// response is the answer to a request: a REPLY, or a SPEC.
type response struct {
	reply wire.Reply
	spec  *wire.Spec // set for SPEC
}

// waiter is a request waiting for its answer.
type waiter struct {
	ch    chan response
	check func(*wire.Reply) error
}

// call is one request and how to wait for its answer.
type call struct {
	t        wire.MsgType
	instance uint16
	req      wire.Request
	op       string // for errors: "open instance 3"
	// progress, when set, returns a count that moves while the plugin
	// works on the request (batches received while a source drains), so
	// that Timeout bounds silence rather than the whole drain.
	progress func() uint64
	// check runs on the read loop with the reply; an error is a protocol
	// violation.
	check func(*wire.Reply) error
}

// do sends a request and waits for its answer.
func (p *Plugin) do(ctx context.Context, c *call) (response, error) {
	select {
	case <-p.done:
		return response{}, p.endErr(c.op)
	default:
	}
	ch := make(chan response, 1)
	p.mu.Lock()
	p.lastReq++
	id := p.lastReq
	p.pending[id] = waiter{ch, c.check}
	p.mu.Unlock()
	c.req.ID = id
	frame := c.req.AppendTo(make([]byte, wire.HeaderSize, 64), c.t)
	wire.PutHeader(frame, c.t, c.instance, len(frame)-wire.HeaderSize)
	p.w.send(frame)
	return await(ctx, p, ch, c.op, c.progress, func() {
		p.mu.Lock()
		delete(p.pending, id)
		p.mu.Unlock()
	})
}

// await waits for an answer on ch. When ctx ends first, forget drops the
// waiter and a late answer is ignored; when Options.Timeout passes with
// no answer and no progress, the plugin is considered hung and the
// session ends.
func await[T any](ctx context.Context, p *Plugin, ch <-chan T, op string, progress func() uint64, forget func()) (T, error) {
	var zero T
	t := time.NewTimer(p.opts.Timeout)
	defer t.Stop()
	var seen uint64
	if progress != nil {
		seen = progress()
	}
	for {
		select {
		case r := <-ch:
			return r, nil
		case <-p.done:
			return zero, p.endErr(op)
		case <-ctx.Done():
			forget()
			return zero, fmt.Errorf("%s: %w", op, ctx.Err())
		case <-t.C:
			if progress != nil {
				if n := progress(); n != seen {
					seen = n
					t.Reset(p.opts.Timeout)
					continue
				}
			}
			p.abort(fmt.Errorf("%w: no answer to %s within %v", ErrTimeout, op, p.opts.Timeout), 0)
			<-p.done
			return zero, p.endErr(op)
		}
	}
}

// respond hands a reply to the request waiting for it.
func (p *Plugin) respond(id uint32, r response) error {
	p.mu.Lock()
	w, ok := p.pending[id]
	delete(p.pending, id)
	issued := id != 0 && id <= p.lastReq
	p.mu.Unlock()
	if !ok {
		if issued {
			return nil // answered already, or abandoned by its caller
		}
		return violationf(wire.ErrCodeUnexpected, "answer to request %d, which the host never sent", id)
	}
	if w.check != nil {
		if err := w.check(&r.reply); err != nil {
			return err
		}
	}
	w.ch <- r
	return nil
}

// endErr is the error of a call made while or after the session ended.
func (p *Plugin) endErr(op string) error {
	<-p.done
	if p.err != nil {
		return fmt.Errorf("%s: %w", op, p.err)
	}
	return fmt.Errorf("%s: %w", op, ErrClosed)
}

func replyErr(op string, r *wire.Reply) error {
	if r.Status == wire.StatusOK {
		return nil
	}
	return &RequestError{Op: op, Status: r.Status, Message: r.Message, Problems: r.Problems}
}
