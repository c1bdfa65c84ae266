package host

import (
	"context"
	"encoding/binary"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/plugctl/plugctl/wire"
)

// Retries of a batch a sink asks to retry: the wait doubles from
// retryFirst up to retryMax, for at most retryAttempts sends in all.
const (
	retryFirst    = 10 * time.Millisecond
	retryMax      = time.Second
	retryAttempts = 10
)

// writeHeader is the WRITE body's prefix: batch id u64 and event count u32.
const writeHeader = 12

// Sink is one open instance of a sink plugin. Its methods are safe for
// concurrent use; Write keeps at most the window's batches in flight (Options.Window).
type Sink struct {
	p        *Plugin
	id       uint16
	slots    chan struct{} // one per WRITE in flight
	answered atomic.Uint64 // RESULTs received: progress while waiting
	retries  atomic.Int64  // RESULTs that asked to retry

	mu      sync.Mutex
	last    uint64                      // last batch id issued
	waiting map[uint64]chan wire.Result // nil: abandoned by its Write
	spare   []spareFrame                // frames of answered batches, for reuse
	stopped bool
	closed  bool
}

// maxSpare bounds the frames a Sink keeps for reuse: one per concurrent
// Write is enough, and a few cover the usual callers.
const maxSpare = 4

// spareFrame is a frame kept for reuse, free once the writer's count of
// frames written reaches sent.
type spareFrame struct {
	f    []byte
	sent uint64
}

// OpenSink opens an instance of a sink plugin with its settings. A
// refusal is a *RequestError.
func (p *Plugin) OpenSink(ctx context.Context, settings map[string]string) (*Sink, error) {
	if p.hello.Role != wire.RoleSink {
		return nil, fmt.Errorf("open sink: plugin %s is a %s", p.name, p.hello.Role)
	}
	id, err := p.newInstance()
	if err != nil {
		return nil, err
	}
	s := &Sink{p: p, id: id, slots: make(chan struct{}, p.ack.Window), waiting: make(map[uint64]chan wire.Result)}
	if err := p.open(ctx, id, s, wire.Request{Settings: settings}); err != nil {
		return nil, err
	}
	return s, nil
}

// Write sends events to the sink and waits for its verdict. Each event's
// Kind must be in the plugin's kind table. Events that do not fit in one
// frame go as several batches, in order. A batch the sink asks to retry is
// sent again, unchanged, after a growing pause (10ms doubling up to 1s,
// 10 attempts at most); one it refuses, or still asks to retry after the
// last attempt, fails with a *WriteError; batches of the same Write sent
// before it stay written. The events may be reused once Write returns.
func (s *Sink) Write(ctx context.Context, events []wire.Event) error {
	frames, err := s.encode(events)
	if err != nil {
		return err
	}
	var last uint64 // the writer's number of the last frame sent
	for _, f := range frames {
		if last, err = s.send(ctx, f); err != nil {
			return err // a frame may still be queued: none is reused
		}
	}
	// Each frame was answered, so the writer is done with it: a sink
	// answers only what it has read whole. The writer's count of frames
	// written says so too, in terms the race detector sees, though it may
	// lag the answer a little: a spare is taken only once it has caught up.
	s.mu.Lock()
	for _, f := range frames {
		if len(s.spare) < maxSpare {
			s.spare = append(s.spare, spareFrame{f, last})
		}
	}
	s.mu.Unlock()
	return nil
}

// frame returns an empty frame buffer with room for size bytes, a spare
// one if one is large enough and free: a fresh buffer per batch would
// have the garbage collector run all the time under a stream of large
// batches.
func (s *Sink) frame(size int) []byte {
	written := s.p.w.written.Load()
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, sp := range s.spare {
		if cap(sp.f) >= size && sp.sent <= written {
			s.spare = slices.Delete(s.spare, i, i+1)
			return sp.f[:wire.HeaderSize+writeHeader]
		}
	}
	return make([]byte, wire.HeaderSize+writeHeader, size)
}

// encode builds WRITE frames of at most MaxFrame bytes of body; the batch
// id is filled in when a frame is sent.
func (s *Sink) encode(events []wire.Event) ([][]byte, error) {
	limit := int(s.p.ack.MaxFrame)
	size := wire.HeaderSize + min(limit, writeSize(events))
	var frames [][]byte
	var f []byte
	n := 0
	seal := func() {
		wire.PutHeader(f, wire.MsgWrite, s.id, len(f)-wire.HeaderSize)
		binary.LittleEndian.PutUint32(f[wire.HeaderSize+8:], uint32(n))
		frames = append(frames, f)
		f, n = nil, 0
	}
	var kind uint16
	var kindName string // kind's name: a batch's events mostly share one
	for i := range events {
		e := &events[i]
		if e.Kind != kindName || i == 0 {
			k, ok := s.p.kinds[e.Kind]
			if !ok {
				return nil, fmt.Errorf("write: event at position %d has kind %q, which plugin %s does not declare", e.Position, e.Kind, s.p.name)
			}
			kind, kindName = k, e.Kind
		}
		for {
			if f == nil {
				f = s.frame(size)
			}
			mark := len(f)
			if len(e.Metadata) == 0 && cap(f)-len(f) >= wire.EventHeaderSize+len(e.Payload) {
				f = wire.PutEvent(f, e.Position, e.Time, kind, e.Payload)
			} else {
				f = wire.AppendEvent(f, e.Position, e.Time, kind, e.Payload, e.Metadata)
			}
			if len(f)-wire.HeaderSize <= limit {
				n++
				break
			}
			if n == 0 {
				return nil, fmt.Errorf("write: event at position %d takes %d bytes, over the frame limit of %d",
					e.Position, len(f)-mark, limit-writeHeader)
			}
			f = f[:mark]
			seal()
		}
	}
	if n > 0 {
		seal()
	}
	return frames, nil
}

// writeSize estimates the encoded size of events, to size frame buffers.
func writeSize(events []wire.Event) int {
	n := writeHeader
	for i := range events {
		n += wire.EventHeaderSize + len(events[i].Payload)
	}
	return n
}

// send writes one frame and waits for its RESULT, retrying as asked. It
// returns the writer's number of the frame's last sending.
func (s *Sink) send(ctx context.Context, frame []byte) (uint64, error) {
	select {
	case s.slots <- struct{}{}:
	case <-ctx.Done():
		return 0, fmt.Errorf("write: %w", ctx.Err())
	case <-s.p.done:
		return 0, s.p.endErr("write")
	}
	// The slot is freed when the plugin answers, even after the caller
	// gave up waiting: the window counts WRITEs the plugin has not answered.
	free := true
	defer func() {
		if free {
			<-s.slots
		}
	}()

	s.mu.Lock()
	s.last++
	id := s.last
	s.mu.Unlock()
	binary.LittleEndian.PutUint64(frame[wire.HeaderSize:], id)
	op := fmt.Sprintf("write batch %d to instance %d", id, s.id)
	pause := retryFirst
	for attempt := 1; ; attempt++ {
		ch := make(chan wire.Result, 1)
		s.mu.Lock()
		s.waiting[id] = ch
		s.mu.Unlock()
		n := s.p.w.send(frame)
		r, err := await(ctx, s.p, ch, op, s.answered.Load, func() {
			s.mu.Lock()
			if _, ok := s.waiting[id]; ok {
				s.waiting[id] = nil // handle frees the slot
				free = false
			}
			s.mu.Unlock()
		})
		switch {
		case err != nil:
			return 0, err
		case r.Status == wire.WriteOK:
			return n, nil
		case r.Status == wire.WriteError || attempt == retryAttempts:
			return 0, &WriteError{Status: r.Status, Message: r.Message, Attempts: attempt}
		}
		t := time.NewTimer(pause)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return 0, fmt.Errorf("write: %w", ctx.Err())
		case <-s.p.done:
			t.Stop()
			return 0, s.p.endErr("write")
		}
		pause = min(2*pause, retryMax)
		s.retries.Add(1)
	}
}

// Retries is how many times, in all, the sink asked to write a batch
// again.
func (s *Sink) Retries() int64 { return s.retries.Load() }

// Stop flushes the instance: the plugin writes what it buffered and
// answers with the position of the last event it wrote (ok false when it
// has none). Call it once the Writes have returned.
func (s *Sink) Stop(ctx context.Context) (last uint64, ok bool, err error) {
	c := &call{t: wire.MsgStop, instance: s.id, op: fmt.Sprintf("stop instance %d", s.id), progress: s.answered.Load}
	r, err := s.p.do(ctx, c)
	if err == nil {
		err = replyErr(c.op, &r.reply)
	}
	if err != nil {
		return 0, false, err
	}
	s.mu.Lock()
	s.stopped = true
	s.mu.Unlock()
	return r.reply.Position, r.reply.HasPosition, nil
}

// Close releases the instance, stopping (flushing) it first if Stop was
// not called.
func (s *Sink) Close(ctx context.Context) error {
	s.mu.Lock()
	stopped, closed := s.stopped, s.closed
	s.mu.Unlock()
	if closed {
		return nil
	}
	if !stopped {
		if _, _, err := s.Stop(ctx); err != nil {
			return err
		}
	}
	if err := closeInstance(ctx, s.p, s.id); err != nil {
		return err
	}
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	return nil
}

// handle routes a RESULT to the Write waiting for it.
func (s *Sink) handle(h wire.Header, body []byte) error {
	if h.Type != wire.MsgResult {
		return violationf(wire.ErrCodeUnexpected, "%s frame for sink instance %d", h.Type, s.id)
	}
	var m wire.Result
	if err := m.Decode(body); err != nil {
		return malformed(err)
	}
	s.answered.Add(1)
	s.mu.Lock()
	ch, ok := s.waiting[m.Batch]
	delete(s.waiting, m.Batch)
	issued := m.Batch != 0 && m.Batch <= s.last
	s.mu.Unlock()
	switch {
	case ok && ch == nil:
		<-s.slots // its Write gave up waiting; the slot was kept until now
	case ok:
		ch <- m
	case !issued:
		return violationf(wire.ErrCodeUnexpected, "RESULT for batch %d, which the host never wrote to instance %d", m.Batch, s.id)
	}
	return nil
}
