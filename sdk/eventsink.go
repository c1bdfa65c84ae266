package sdk

import (
	"fmt"
	"sync"
	"time"

	"github.com/plugctl/plugctl/wire"
)

// EventSink is how a Run source emits events. It is a small value, cheap
// to copy, and safe to use from many goroutines at once. Every method
// returns ErrShutdown once the instance is stopping, whether the host
// stopped it or the plugin is shutting down; the zero EventSink always
// does.
//
// Emitting copies the payload into the batch being built. When the
// instance is quiet (nothing sent for a while, nothing being sent, room in
// the window), Emit then sends that batch itself, so an event emitted
// alone leaves at once, without waiting for another goroutine to be
// scheduled; that Emit returns once the frame is written. Otherwise it
// returns at once and a flusher goroutine sends the batch as soon as the
// connection is free, so events emitted under load share frames. When the
// host falls behind (the window of unacknowledged batches is full and both
// buffers are full), Emit blocks until it catches up: memory stays
// bounded.
//
// Positions are assigned in order: ResumeFrom+1, +2, … (1, 2, … when not
// resuming); EmitEvent may choose them, as long as they increase.
type EventSink struct {
	e *emitter
}

// Emit emits an event of the named kind, stamped now.
func (s EventSink) Emit(kind string, payload []byte) error {
	return s.EmitAt(kind, 0, payload)
}

// EmitAt emits an event of the named kind that happened at unixNano (0
// stands for now), for sources whose records carry their own time.
func (s EventSink) EmitAt(kind string, unixNano int64, payload []byte) error {
	if s.e == nil {
		return ErrShutdown
	}
	k, err := s.e.kinds.lookup(kind)
	if err != nil {
		return err
	}
	return s.e.emit(0, unixNano, k, payload, nil)
}

// EmitKind emits an event whose kind is given by index: the fast path of
// generated code. unixNano 0 stands for now.
func (s EventSink) EmitKind(kind Kind, unixNano int64, payload []byte) error {
	if s.e == nil {
		return ErrShutdown
	}
	return s.e.emit(0, unixNano, kind, payload, nil)
}

// EmitEvent emits e with full control: e.Position 0 takes the next
// position, any other must exceed the previous one; e.Time 0 stands for
// now; e.Metadata travels with the event.
func (s EventSink) EmitEvent(e wire.Event) error {
	if s.e == nil {
		return ErrShutdown
	}
	k, err := s.e.kinds.lookup(e.Kind)
	if err != nil {
		return err
	}
	return s.e.emit(e.Position, e.Time, k, e.Payload, e.Metadata)
}

// Progress reports how far a source with a known end has come: percent
// from 0 to 100 and an optional detail such as "12 of 40 MiB".
func (s EventSink) Progress(percent float64, text string) error {
	e := s.e
	if e == nil {
		return ErrShutdown
	}
	if !(percent >= 0 && percent <= 100) {
		return fmt.Errorf("progress %v is outside [0, 100]", percent)
	}
	e.in.markReady()
	select {
	case <-e.in.started:
	case <-e.in.stopCh:
		return ErrShutdown
	}
	// Under frames, so that no PROGRESS follows the instance's last frame;
	// not under mu, which stop needs while this write may block.
	e.frames.Lock()
	defer e.frames.Unlock()
	e.mu.Lock()
	stopping := e.stopping
	e.mu.Unlock()
	if stopping {
		return ErrShutdown
	}
	return e.in.s.c.send(wire.MsgProgress, e.in.id, &wire.Progress{Percent: percent, Text: clip(text)})
}

// Kind returns the kind named name, and whether Spec.Events declares it.
func (s EventSink) Kind(name string) (Kind, bool) {
	if s.e == nil {
		return 0, false
	}
	k, ok := s.e.kinds.index[name]
	return k, ok
}

// emitter builds the batches of one Run instance with two buffers: while
// one is being sent, by the flusher or by an emit, producers fill the
// other.
type emitter struct {
	in     *instance
	kinds  *kindTable
	limits batchLimits

	mu       sync.Mutex
	room     sync.Cond // producers waiting for cur to be swapped out
	cur      []byte    // the batch being filled
	n        int       // events in cur
	spare    []byte    // the other buffer; nil while it is being sent
	last     uint64    // the last position given out
	stopping bool
	out      *outlet         // set when the flusher starts: batches may go out
	abort    <-chan struct{} // the session's, with out
	sentAt   time.Time       // when the last batch was sent
	kicked   bool            // the flusher has been told cur holds events
	kick     chan struct{}   // 1 slot: wakes the flusher
	flushed  chan struct{}   // closed when the flusher is done

	// On a ring, while events keep coming, cur lies in room of the shared
	// ring that the emitter holds (conn.reserve), and each batch is
	// committed where producers encoded it instead of being copied in;
	// priv is the buffer cur was. The flusher gives the room up when the
	// events stop (quietAfter), the window fills or the instance stops,
	// since every other frame of the session waits behind it. Conn calls
	// are made with mu released: a write may block, and stop needs mu.
	inRing    bool
	priv      []byte
	reserving bool // the flusher is taking room in the ring
	full      bool // a producer found no room in cur since it was swapped in

	frames sync.Mutex // held by a Progress while it writes; see quiesce
}

func newEmitter(in *instance, kinds *kindTable, limits batchLimits, last uint64) *emitter {
	e := &emitter{
		in:      in,
		kinds:   kinds,
		limits:  limits,
		cur:     make([]byte, batchPrefix, limits.soft),
		spare:   make([]byte, batchPrefix, limits.soft),
		last:    last,
		kick:    make(chan struct{}, 1),
		flushed: make(chan struct{}),
	}
	e.room.L = &e.mu
	return e
}

func (e *emitter) emit(pos uint64, unixNano int64, kind Kind, payload []byte, meta map[string]string) error {
	if int(kind) >= len(e.kinds.names) {
		return e.kinds.check(kind)
	}
	e.in.markReady()
	if unixNano == 0 {
		unixNano = nowNano()
	}
	size := wire.EventHeaderSize + len(payload)
	if meta != nil {
		size = eventSize(payload, meta)
	}
	e.mu.Lock()
	if e.stopping || e.n >= e.limits.count || len(e.cur)+size > e.limit() {
		if err := e.waitRoom(size); err != nil {
			e.mu.Unlock()
			return err
		}
	}
	if pos == 0 {
		pos = e.last + 1
	} else if pos <= e.last {
		e.mu.Unlock()
		return fmt.Errorf("event position %d does not follow %d: positions must increase", pos, e.last)
	}
	if meta == nil && cap(e.cur)-len(e.cur) >= size {
		e.cur = wire.PutEvent(e.cur, pos, unixNano, uint16(kind), payload)
	} else {
		e.cur = wire.AppendEvent(e.cur, pos, unixNano, uint16(kind), payload, meta)
	}
	e.n++
	e.last = pos
	if e.out != nil && e.spare != nil && !e.kicked && !e.inRing && !e.reserving && time.Since(e.sentAt) > quietAfter && e.out.hasRoom() {
		return e.sendLocked()
	}
	e.wakeFlusher()
	e.mu.Unlock()
	return nil
}

// quietAfter is how long after the last batch was sent an emit finds the
// instance quiet and sends its event itself. An event that follows the
// last sooner is likely to be followed soon too: it waits for the
// flusher, whose hand-off lets the next ones join its batch, rather than
// leave alone, one event per frame.
const quietAfter = 100 * time.Microsecond

// cutAfter is how long a batch in the ring may grow before the flusher
// commits it, about what copying a full batch in would take: the batches
// of a steady stream stay as large as they were when copied, and its
// events wait no longer.
const cutAfter = 50 * time.Microsecond

// sendLocked sends cur from the emitting goroutine, the instance being
// quiet, and unlocks mu. The flusher leaves cur alone until spare is back,
// and is kicked then if more events came, or to let it finish a stop.
func (e *emitter) sendLocked() error {
	err := e.sendCur()
	if e.n > 0 || e.stopping {
		e.kicked = true
		notify(e.kick)
	}
	e.mu.Unlock()
	if err != nil {
		return ErrShutdown // the session is over
	}
	return nil
}

// sendCur sends cur, with mu held on entry and on return but not during
// the send, which spare being nil marks; producers fill the other buffer
// meanwhile. A batch in the ring is committed where it lies.
func (e *emitter) sendCur() error {
	buf, n, last, inRing := e.cur, e.n, e.last, e.inRing
	back := buf // the buffer that is spare again once the batch is out
	if inRing {
		back = e.spare
		e.cur, e.priv, e.inRing = e.priv[:batchPrefix], nil, false
	} else {
		e.cur = e.spare[:batchPrefix]
	}
	e.spare, e.n, e.kicked, e.full = nil, 0, false, false
	e.mu.Unlock()
	e.room.Broadcast()
	var err error
	if inRing {
		err = e.out.sendInRing(buf, n, last)
	} else {
		err = e.out.send(buf, n, last, e.abort)
	}
	e.mu.Lock()
	e.spare, e.sentAt = back, time.Now()
	return err
}

// enterRing moves cur, with the events it holds, into room it reserves in
// the ring, where the next events are encoded. Called with mu released,
// after a send during which events came: they are likely to keep coming.
// The caller has set reserving, in the same hold of mu as its send ended,
// so that no emit sends meanwhile: its frame would queue behind the room,
// and the batch encoded there, which follows it, would overtake it.
func (e *emitter) enterRing() {
	room := e.out.c.reserve(e.limits.soft/4, e.limits.soft)
	e.mu.Lock()
	e.reserving = false
	if room == nil {
		e.mu.Unlock()
		return
	}
	if e.stopping || len(e.cur) > len(room) {
		e.mu.Unlock()
		e.out.c.release()
		return
	}
	e.priv, e.cur, e.inRing = e.cur, append(room[:0], e.cur...), true
	e.mu.Unlock()
}

// leaveRing moves cur and its events out of the ring, if it is there, and
// gives the room up, so that the frames queued behind it go out. Called
// with mu released.
func (e *emitter) leaveRing() {
	e.mu.Lock()
	if !e.inRing {
		e.mu.Unlock()
		return
	}
	e.cur, e.priv, e.inRing, e.full = append(e.priv[:0], e.cur...), nil, false, false
	e.mu.Unlock()
	e.room.Broadcast() // cur may hold more than the room did
	e.out.c.release()
}

// limit is how long cur may grow, with mu held: the batch budget, and in
// the ring the room held.
func (e *emitter) limit() int {
	if e.inRing {
		return cap(e.cur)
	}
	return e.limits.soft
}

// waitRoom waits, with mu held, until an event of size bytes fits in cur:
// within the batch limits, and in the ring within the room held, which an
// event too large for it waits for the flusher to give up.
func (e *emitter) waitRoom(size int) error {
	for {
		if e.stopping {
			return ErrShutdown
		}
		err := e.limits.fits(len(e.cur), e.n, size)
		if err == nil && (!e.inRing || len(e.cur)+size <= cap(e.cur)) {
			return nil
		}
		if err != nil && err != ErrBatchFull {
			return err
		}
		// Every time, not once per batch: the flusher may be waiting
		// for a batch in the ring to fill, or, if it is empty, lingering
		// in room too small for this event.
		e.full, e.kicked = true, true
		notify(e.kick)
		e.room.Wait()
	}
}

// nap waits, with mu held on entry and released on return, for a kick,
// for d or for abort, and reports false on abort. A kick pending from
// before is dropped: what it signalled is in the state just checked.
func (e *emitter) nap(t *time.Timer, d time.Duration, abort <-chan struct{}) bool {
	select {
	case <-e.kick:
	default:
	}
	e.mu.Unlock()
	t.Reset(d)
	select {
	case <-e.kick:
		t.Stop()
	case <-t.C:
	case <-abort:
		t.Stop()
		return false
	}
	return true
}

// wakeFlusher tells the flusher, once per batch, that cur holds events.
func (e *emitter) wakeFlusher() {
	if !e.kicked {
		e.kicked = true
		notify(e.kick)
	}
}

// stop makes every later emit fail with ErrShutdown, wakes blocked
// producers, and lets the flusher send what is left and finish.
func (e *emitter) stop() {
	e.mu.Lock()
	e.stopping = true
	e.mu.Unlock()
	e.room.Broadcast()
	notify(e.kick)
}

// quiesce waits for a Progress being written, the emitter being stopped,
// so that the instance's last frame follows it.
func (e *emitter) quiesce() {
	e.frames.Lock()
	e.frames.Unlock()
}

// flush sends batches until the emitter is stopped and empty, or abort.
// From its start on, an emit may send a batch itself.
func (e *emitter) flush(out *outlet, abort <-chan struct{}) {
	defer close(e.flushed)
	defer e.leaveRing() // on every exit: the session's last frames queue behind the room
	e.mu.Lock()
	e.out, e.abort = out, abort
	e.mu.Unlock()
	timer := time.NewTimer(quietAfter)
	timer.Stop()
	for {
		select {
		case <-e.kick:
		case <-abort:
			return
		}
		lingered, delayed := false, false
		for {
			e.mu.Lock()
			if e.spare == nil {
				// An emit is sending: it kicks when done if there is
				// more, and until then later emits need not.
				e.mu.Unlock()
				break
			}
			if e.inRing && !e.stopping && !e.full {
				if e.n == 0 && !lingered {
					// Room just reserved: the next events usually come
					// within quietAfter. Hold it that long, and no
					// longer.
					lingered, e.kicked = true, false
					if !e.nap(timer, quietAfter, abort) {
						return
					}
					continue
				}
				if e.n > 0 && !delayed {
					// Committing costs no copy, so the batch would stay
					// as small as the events of one commit: let it grow
					// for cutAfter, or until a producer finds it full.
					delayed = true
					if !e.nap(timer, cutAfter, abort) {
						return
					}
					continue
				}
			}
			if e.n == 0 {
				e.kicked = false
				done := e.stopping
				e.mu.Unlock()
				e.leaveRing()
				if done {
					return
				}
				break
			}
			lingered, delayed = false, false
			// After a batch in the ring, or one that producers found
			// full or kept adding to while it was sent, the next events
			// go straight into the ring. The window keeps the room it
			// has for that batch: acks only free room, and while it is
			// in the ring (inRing, reserving) no emit sends a batch.
			stream := e.inRing || e.full
			err := e.sendCur()
			stream = err == nil && (stream || e.n > 0) && !e.stopping && out.hasRoom()
			e.reserving = stream
			e.mu.Unlock()
			if err != nil {
				return
			}
			if stream {
				e.enterRing()
			}
		}
	}
}

// Session is a Run instance's view of its own lifetime: it ends when the
// host stops the instance or the plugin shuts down.
type Session struct {
	in *instance
}

// ShuttingDown reports whether the session has begun to end.
func (s *Session) ShuttingDown() bool {
	s.in.markReady()
	select {
	case <-s.in.stopCh:
		return true
	default:
		return false
	}
}

// Done is closed when the session begins to end.
func (s *Session) Done() <-chan struct{} {
	s.in.markReady()
	return s.in.stopCh
}

// Wait parks the calling goroutine until the session begins to end.
func (s *Session) Wait() {
	s.in.markReady()
	<-s.in.stopCh
}

// Sleep pauses for d, or less if the session begins to end, and reports
// whether it slept the whole time.
func (s *Session) Sleep(d time.Duration) bool {
	s.in.markReady()
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-s.in.stopCh:
		return false
	}
}
