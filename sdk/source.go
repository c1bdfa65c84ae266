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
	for {
		o.mu.Lock()
		if len(o.inflight)-o.head < o.window {
			if o.head > 0 && len(o.inflight) == cap(o.inflight) {
				o.inflight = o.inflight[:copy(o.inflight, o.inflight[o.head:])]
				o.head = 0
			}
			o.inflight = append(o.inflight, last)
			// Recorded before the write, so that an ACK racing back is
			// never beyond what we sent.
			o.sent, o.anySent = last, true
			o.mu.Unlock()
			break
		}
		o.mu.Unlock()
		select {
		case <-o.credit:
		case <-abort:
			return errAborted
		}
	}
	sealBatch(buf, o.id, n)
	return o.c.writeFrame(buf)
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
		err = in.src.NextBatch(b)
		if b.n > 0 {
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
