package sdk

import (
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/plugctl/plugctl/wire"
)

// outlet sends the EVENTS frames of one source instance and enforces the
// window: at most window batches may wait for the host's ACK.
type outlet struct {
	c       *conn
	version uint16 // the session's protocol version, for END's layout
	id      uint16
	window  int

	mu       sync.Mutex
	inflight []uint64 // last position of each unacknowledged batch, oldest first
	head     int      // inflight[head:] are the live entries
	acked    uint64
	sent     uint64 // last position sent, or the resume point
	anySent  bool
	credit   chan struct{} // 1 slot: an ACK freed room
}

func newOutlet(c *conn, version, id uint16, window int, resume uint64) *outlet {
	return &outlet{c: c, version: version, id: id, window: window, acked: resume, sent: resume, credit: make(chan struct{}, 1)}
}

// send waits for room in the window, then writes the batch held in buf
// (n events, the last at position last). Only abort ends the wait: a stop
// still sends what was produced.
func (o *outlet) send(buf []byte, n int, last uint64, abort <-chan struct{}) error {
	if !o.waitRoom(nil, abort) {
		return errAborted
	}
	o.record(last)
	sealBatch(buf, o.id, n)
	return o.c.writeFrame(buf)
}

// waitRoom waits until the window has room for another batch, and
// reports false if stop or abort ended the wait first, or stop was closed
// already: a stopped source must not be polled again.
func (o *outlet) waitRoom(stop, abort <-chan struct{}) bool {
	for {
		select {
		case <-stop:
			return false
		default:
		}
		if o.hasRoom() {
			return true
		}
		select {
		case <-o.credit:
		case <-stop:
			return false
		case <-abort:
			return false
		}
	}
}

// hasRoom reports whether the window has room for another batch. Only
// the instance's own sender adds batches, so the room stays until it does.
func (o *outlet) hasRoom() bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	return len(o.inflight)-o.head < o.window
}

// record enters a batch ending at position last in the window, which has
// room. It is called before the batch is written, so that an ACK racing
// back is never beyond what was sent.
func (o *outlet) record(last uint64) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.head > 0 && len(o.inflight) == cap(o.inflight) {
		o.inflight = o.inflight[:copy(o.inflight, o.inflight[o.head:])]
		o.head = 0
	}
	o.inflight = append(o.inflight, last)
	o.sent, o.anySent = last, true
}

// sendInRing sends a batch encoded in the ring's room (Batch.resetInRing),
// for which the window has room.
func (o *outlet) sendInRing(buf []byte, n int, last uint64) error {
	o.record(last)
	sealBatch(buf, o.id, n)
	return o.c.commit(buf)
}

// ack applies the host's cumulative acknowledgement.
func (o *outlet) ack(pos uint64) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	if pos > o.sent {
		return fmt.Errorf("ACK for instance %d at position %d, beyond the last position sent (%d)", o.id, pos, o.sent)
	}
	if pos <= o.acked {
		return nil
	}
	o.acked = pos
	for o.head < len(o.inflight) && o.inflight[o.head] <= pos {
		o.head++
	}
	if o.head == len(o.inflight) {
		o.inflight, o.head = o.inflight[:0], 0
	}
	notify(o.credit)
	return nil
}

// position is the last position sent, if any event was.
func (o *outlet) position() (uint64, bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.sent, o.anySent
}

func (o *outlet) ackedPosition() uint64 {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.acked
}

// end tells the host the instance has finished for good, and how: the
// status and message travel from wire.EndStatusVersion on.
func (o *outlet) end(status wire.EndStatus, msg string) error {
	pos, any := o.position()
	m := wire.End{HasPosition: any, Position: pos, Status: status, Message: msg}
	return o.c.send(wire.MsgEnd, o.id, appender(func(dst []byte) []byte { return m.AppendTo(dst, o.version) }))
}

var errAborted = errors.New("session aborted")

// Bounds of the pause after NextBatch returns no event, so that a source
// returning ErrTimeout at once does not spin the CPU.
const (
	minIdlePause = time.Millisecond
	maxIdlePause = 50 * time.Millisecond
)

// streamingBatch bounds the time a NextBatch may take to fill a batch for
// the next one to be encoded straight into the ring. Every other frame
// waits behind a batch in the ring until its next event or the end of
// NextBatch, so only a source that keeps up gets the ring's room: one
// whose NextBatch waits for its events fills a buffer of its own.
const streamingBatch = 2 * time.Millisecond

// progressEvery is how often a Progresser is asked.
const progressEvery = time.Second

// filled is a batch handed to the flusher.
type filled struct {
	buf  []byte
	n    int
	last uint64
}

// poll runs a polled source: NextBatch fills one buffer while a flusher
// goroutine writes the other.
func (in *instance) poll() {
	defer close(in.drained)
	s := in.s
	free := make(chan []byte, 2)
	free <- make([]byte, batchPrefix, s.limits.soft)
	free <- make([]byte, batchPrefix, s.limits.soft)
	ready := make(chan filled)
	flushed := make(chan struct{})
	go func() {
		defer close(flushed)
		for f := range ready {
			if in.out.send(f.buf, f.n, f.last, s.abort) != nil {
				return
			}
			free <- f.buf
		}
	}()

	b := &Batch{last: in.o.ResumeFrom, limits: s.limits, kinds: s.kinds}
	streaming := false // the last NextBatch filled its batch quickly
	progresser, _ := in.src.(Progresser)
	var nextProgress time.Time
	var pause time.Duration
	idle := time.NewTimer(maxIdlePause)
	idle.Stop()
	var err error
loop:
	for {
		if err = in.deliverAck(); err != nil {
			break
		}
		if progresser != nil {
			if now := time.Now(); !now.Before(nextProgress) {
				nextProgress = now.Add(progressEvery)
				if err = in.sendProgress(progresser); err != nil {
					break
				}
			}
		}
		// Checked alone first: a select with a free buffer ready too
		// would pick at random, and a stopped source must not be polled.
		select {
		case <-in.stopCh:
			break loop
		default:
		}
		var buf []byte
		select {
		case buf = <-free:
		case <-in.stopCh:
			break loop
		case <-s.abort:
			break loop
		}
		b.reset(buf)
		if streaming && s.c.ring != nil {
			// A source that fills its batches as fast as it is asked
			// encodes the next one straight into the ring, once the
			// flusher has written the last (its buffer is back: batches
			// must not overtake each other) and the window has room.
			// Waiting for that room here, and for room in the ring,
			// rather than filling a buffer meanwhile, saves copying every
			// batch of a source the host cannot keep up with.
			var spare []byte
			select {
			case spare = <-free:
			case <-in.stopCh:
				break loop
			case <-s.abort:
				break loop
			}
			if !in.out.waitRoom(in.stopCh, s.abort) || !s.c.waitRingRoom(s.limits.soft/4, in.stopCh, s.abort) {
				break loop
			}
			if room := s.c.reserve(s.limits.soft/4, s.limits.soft); room != nil {
				b.resetInRing(room, &s.c, spare)
			}
			if b.inRing() {
				free <- buf
			} else {
				free <- spare
			}
		}
		start := time.Now()
		err = in.src.NextBatch(b)
		streaming = (b.filled || b.Full() || errors.Is(err, ErrBatchFull)) && time.Since(start) < streamingBatch
		if b.inRing() {
			free <- b.spare
			var werr error
			if b.n > 0 {
				werr = in.out.sendInRing(b.buf, b.n, b.last)
			} else {
				werr = s.c.release()
			}
			if werr != nil {
				break loop // the connection is lost: the session ends
			}
		} else if b.n > 0 {
			select {
			case ready <- filled{b.buf, b.n, b.last}:
			case <-s.abort:
				break loop
			}
		} else {
			free <- buf
		}
		switch {
		case err == nil || errors.Is(err, ErrBatchFull) || errors.Is(err, ErrTimeout):
			err = nil
			if b.n > 0 {
				pause = 0
				continue
			}
			pause = min(max(2*pause, minIdlePause), maxIdlePause)
			idle.Reset(pause)
			select {
			case <-idle.C:
			case <-in.stopCh:
				idle.Stop()
				break loop
			case <-s.abort:
				idle.Stop()
				break loop
			}
		default:
			break loop
		}
	}
	close(ready)
	select {
	case <-flushed:
	case <-s.abort:
		return
	}
	switch {
	case err == nil:
	case errors.Is(err, ErrEndOfStream):
		in.out.end(wire.EndFinished, "")
	default:
		s.instanceFailed(in, err)
	}
}

// deliverAck passes the host's latest acknowledgement to an Acker, from
// the goroutine that calls NextBatch, so the source needs no locking.
func (in *instance) deliverAck() error {
	a, ok := in.src.(Acker)
	if !ok {
		return nil
	}
	pos := in.out.ackedPosition()
	if pos == in.ackDelivered {
		return nil
	}
	in.ackDelivered = pos
	if err := a.Ack(pos); err != nil {
		return fmt.Errorf("Ack(%d): %w", pos, err)
	}
	return nil
}

func (in *instance) sendProgress(p Progresser) error {
	percent, text := p.Progress()
	if percent != percent { // NaN: nothing to report
		return nil
	}
	percent = min(max(percent, 0), 100)
	return in.s.c.send(wire.MsgProgress, in.id, &wire.Progress{Percent: percent, Text: clip(text)})
}

// monitorRun follows a Run instance after its OPEN was answered: it sends
// the rest of the events and END when Run returns on its own, and reports
// a failure.
func (in *instance) monitorRun() {
	defer close(in.drained)
	s := in.s
	go in.em.flush(in.out, s.abort)
	select {
	case <-in.runDone:
	case <-in.stopCh:
	}
	in.em.stop()
	select {
	case <-in.em.flushed:
	case <-s.abort:
		return
	}
	in.em.quiesce()
	select {
	case <-in.stopCh:
		// Stopped: what Run returns is reported when the instance closes.
		return
	default:
	}
	if cleanRunEnd(in.runErr) {
		in.out.end(wire.EndFinished, "")
	} else {
		s.instanceFailed(in, in.runErr)
	}
}

// cleanRunEnd reports whether a Run that returned err before being stopped
// has finished for good rather than failed.
func cleanRunEnd(err error) bool {
	return err == nil || errors.Is(err, ErrEndOfStream) || errors.Is(err, ErrShutdown)
}
