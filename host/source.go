package host

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/plugctl/plugctl/wire"
)

// Handler receives a source's batches, on the session's read goroutine,
// in stream order. The batch and its events are valid only during the
// call. Returning nil acknowledges every event of the batch; an error
// stops delivery: the instance's later batches are dropped unacknowledged
// and Stop and Close return the error. A slow Handler slows the plugin
// (it waits for acknowledgements) but is never mistaken for a silent
// plugin. A Handler must not call the blocking methods of its Plugin,
// Source or Sink: their answers arrive on the goroutine it occupies.
type Handler func(b *wire.Events) error

// Source is one open instance of a source plugin.
type Source struct {
	p       *Plugin
	id      uint16
	handler Handler
	ended   chan struct{}

	// Owned by the read loop.
	batch    wire.Events
	last     uint64 // position of the last event received
	have     bool   // last is set
	isEnd    bool   // END received
	isStop   bool   // the STOP reply received: no event may follow
	failed   bool   // the handler returned an error
	unacked  int    // batches handled since the last ACK was scheduled
	deferred bool   // in Plugin.deferred

	acked     atomic.Uint64 // newest position the handler accepted
	ackQueued atomic.Bool   // an ACK is scheduled with the writer
	ackSent   uint64        // under the writer's out lock
	batches   atomic.Uint64 // batches received, the progress of a drain

	mu      sync.Mutex
	percent float64
	text    string
	err     error          // the handler's error
	failure *InstanceError // the plugin's, from END
	stopped bool
	closed  bool
}

// OpenSource opens an instance of a source plugin with its settings. With
// resume set, the plugin continues after that position (the last one the
// host acknowledged in an earlier run) and Acked starts there. h may be
// called before OpenSource returns. A refusal is a *RequestError.
func (p *Plugin) OpenSource(ctx context.Context, settings map[string]string, resume *uint64, h Handler) (*Source, error) {
	if h == nil {
		return nil, errors.New("open source: nil Handler")
	}
	if p.hello.Role != wire.RoleSource {
		return nil, fmt.Errorf("open source: plugin %s is a %s", p.name, p.hello.Role)
	}
	id, err := p.newInstance()
	if err != nil {
		return nil, err
	}
	s := &Source{p: p, id: id, handler: h, ended: make(chan struct{})}
	req := wire.Request{Settings: settings}
	if resume != nil {
		req.HasResume, req.Resume = true, *resume
		s.last, s.have, s.ackSent = *resume, true, *resume
		s.acked.Store(*resume)
	}
	if err := p.open(ctx, id, s, req); err != nil {
		return nil, err
	}
	return s, nil
}

// Acked returns the newest position the handler accepted: everything up
// to it is acknowledged (the ACK frame itself may still be on its way).
func (s *Source) Acked() uint64 { return s.acked.Load() }

// Progress returns the plugin's latest progress report.
func (s *Source) Progress() (percent float64, text string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.percent, s.text
}

// Ended is closed when the plugin reports that the source has finished
// for good (END): at the end of its stream or, from protocol version 3 on,
// because the instance failed; Err tells which. The instance still has to
// be stopped and closed.
func (s *Source) Ended() <-chan struct{} { return s.ended }

// Err returns the instance's failure, a *InstanceError, once the plugin
// has reported it; nil while the source runs and after a clean end. The
// session goes on. Only plugins speaking protocol version 3 or later can
// fail one instance alone: an older one that fails ends the session, which
// Plugin.Err reports.
func (s *Source) Err() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.failure == nil {
		return nil
	}
	return s.failure
}

// Stop drains the instance: the plugin stops reading, sends what it has
// and answers with its last position (ok false when it never had one).
// Stop returns once every event up to that position was handed to the
// handler and acknowledged; if the handler had stopped delivery, Stop
// returns its error with the position. Options.Timeout bounds each wait
// for the next batch of the drain, not the whole drain. An instance that
// failed (Err) is stopped as one that ended: the plugin answers at once,
// and Stop does not repeat the failure.
func (s *Source) Stop(ctx context.Context) (last uint64, ok bool, err error) {
	c := &call{
		t: wire.MsgStop, instance: s.id, op: fmt.Sprintf("stop instance %d", s.id),
		progress: s.batches.Load, check: s.checkStop,
	}
	r, err := s.p.do(ctx, c)
	if err == nil {
		err = replyErr(c.op, &r.reply)
	}
	if err != nil {
		return 0, false, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stopped = true
	return r.reply.Position, r.reply.HasPosition, s.err
}

// checkStop runs on the read loop: every batch before the reply has been
// handled, so the last position the plugin claims must have arrived.
func (s *Source) checkStop(r *wire.Reply) error {
	if r.Status != wire.StatusOK {
		return nil
	}
	if r.HasPosition && (!s.have || r.Position > s.last) {
		return violationf(wire.ErrCodePositionOrder,
			"instance %d stopped at position %d, but the last event it sent is at %d", s.id, r.Position, s.last)
	}
	s.isStop = true
	return nil
}

// Close releases the instance, stopping it first if Stop was not called.
// It returns the handler's error if the handler stopped delivery, and,
// like Stop, not the instance's failure, which Err reports.
func (s *Source) Close(ctx context.Context) error {
	s.mu.Lock()
	stopped, closed := s.stopped, s.closed
	s.mu.Unlock()
	if closed {
		return nil
	}
	if !stopped {
		if _, _, err := s.Stop(ctx); err != nil && err != s.handlerErr() {
			return err
		}
	}
	if err := closeInstance(ctx, s.p, s.id); err != nil {
		return err
	}
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	return s.handlerErr()
}

func (s *Source) handlerErr() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

// closeInstance sends CLOSE and forgets the instance.
func closeInstance(ctx context.Context, p *Plugin, id uint16) error {
	c := &call{t: wire.MsgClose, instance: id, op: fmt.Sprintf("close instance %d", id)}
	r, err := p.do(ctx, c)
	if err == nil {
		err = replyErr(c.op, &r.reply)
	}
	p.setInstance(id, nil)
	return err
}

func (s *Source) handle(h wire.Header, body []byte) error {
	switch h.Type {
	case wire.MsgEvents:
		return s.events(body)
	case wire.MsgProgress:
		var m wire.Progress
		if err := m.Decode(body); err != nil {
			return malformed(err)
		}
		s.mu.Lock()
		s.percent, s.text = m.Percent, m.Text
		s.mu.Unlock()
	case wire.MsgEnd:
		var m wire.End
		if err := m.Decode(body, s.p.ack.Version); err != nil {
			return malformed(err)
		}
		switch {
		case s.isEnd:
			return violationf(wire.ErrCodeUnexpected, "second END for instance %d", s.id)
		case m.HasPosition && (!s.have || m.Position > s.last):
			return violationf(wire.ErrCodePositionOrder,
				"instance %d ended at position %d, but the last event it sent is at %d", s.id, m.Position, s.last)
		}
		s.isEnd = true
		if m.Status == wire.EndFailed {
			s.mu.Lock()
			s.failure = &InstanceError{Plugin: s.p.name, Instance: s.id, Message: m.Message}
			s.mu.Unlock()
		}
		close(s.ended)
	default:
		return violationf(wire.ErrCodeUnexpected, "%s frame for source instance %d", h.Type, s.id)
	}
	return nil
}

// events validates a batch, hands it to the handler and schedules its ACK.
// Nothing here allocates: the batch refers to the frame buffer.
func (s *Source) events(body []byte) error {
	if s.isEnd || s.isStop {
		return violationf(wire.ErrCodeUnexpected, "EVENTS for instance %d after its END or STOP reply", s.id)
	}
	b, err := wire.ParseEvents(body, s.p.hello.EventKinds, wire.MsgEvents)
	if err != nil {
		return malformed(fmt.Errorf("instance %d: %w", s.id, err))
	}
	if s.have && b.First() <= s.last {
		return violationf(wire.ErrCodePositionOrder,
			"instance %d: batch starts at position %d, not after %d", s.id, b.First(), s.last)
	}
	s.last, s.have = b.Last(), true
	s.batches.Add(1)
	if s.failed {
		return nil
	}
	s.batch = b
	if err := s.handler(&s.batch); err != nil {
		s.failed = true
		s.mu.Lock()
		s.err = fmt.Errorf("instance %d: handler: %w", s.id, err)
		s.mu.Unlock()
		return nil
	}
	s.acked.Store(b.Last())
	s.p.ackLater(s)
	return nil
}

// ackLater schedules the ACK of s's newest handled position now if half
// the window is unacknowledged, or else when the read loop next waits for
// bytes (on a ring, that has stayed empty for a moment, or every
// ringAckDelay): a lone batch is acknowledged at once, a stream in bulk.
func (p *Plugin) ackLater(s *Source) {
	s.unacked++
	if s.unacked >= p.ackEvery {
		s.unacked = 0
		p.w.ack(s)
		return
	}
	if !s.deferred {
		s.deferred = true
		p.deferred = append(p.deferred, s)
	}
}

// flushAcks schedules the deferred ACKs.
func (p *Plugin) flushAcks() {
	for i, s := range p.deferred {
		s.deferred, s.unacked = false, 0
		p.w.ack(s)
		p.deferred[i] = nil
	}
	p.deferred = p.deferred[:0]
}
