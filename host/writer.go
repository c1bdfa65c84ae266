package host

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"github.com/plugctl/plugctl/wire"
)

// writer is the only goroutine that writes to a plugin. Callers queue
// whole frames; the read loop only marks acknowledgements, which the writer
// coalesces into one ACK per instance carrying the newest position, so the
// reader never waits on the pipe however fast batches arrive.
type writer struct {
	bw   *bufio.Writer
	wake chan struct{} // capacity 1: a pending wake-up
	quit <-chan struct{}
	done chan struct{} // closed when run has returned: nothing writes any more
	fail func(error)

	mu    sync.Mutex
	queue []queued
	acks  []*Source // sources with a newer position to acknowledge
	sent  uint64    // frames queued so far: the number of the last one

	// written is the number of the last frame handed to the buffered
	// writer: once it is at least a frame's number, the writer is done
	// with that frame's bytes. (A large frame is written through at once,
	// so the plugin may answer it a moment before written says so.)
	written atomic.Uint64
}

type queued struct {
	frame []byte
	sent  chan struct{} // closed once written; nil when nobody waits
}

func newWriter(w io.Writer, quit <-chan struct{}, fail func(error)) *writer {
	return &writer{
		bw:   bufio.NewWriterSize(w, 64<<10),
		wake: make(chan struct{}, 1),
		quit: quit,
		done: make(chan struct{}),
		fail: fail,
	}
}

func (w *writer) signal() {
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// send queues a frame and returns its number (see written). The frame
// must not change until written has reached that number.
func (w *writer) send(frame []byte) uint64 {
	w.mu.Lock()
	w.queue = append(w.queue, queued{frame: frame})
	w.sent++
	n := w.sent
	w.mu.Unlock()
	w.signal()
	return n
}

// sendWait queues a frame and waits up to d for it to be written.
func (w *writer) sendWait(frame []byte, d time.Duration) {
	sent := make(chan struct{})
	w.mu.Lock()
	w.queue = append(w.queue, queued{frame, sent})
	w.sent++
	w.mu.Unlock()
	w.signal()
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-sent:
	case <-t.C:
	case <-w.quit:
	}
}

// ack schedules an ACK of s's newest handled position.
func (w *writer) ack(s *Source) {
	if s.ackQueued.Swap(true) {
		return // already scheduled; the writer will read the newest position
	}
	w.mu.Lock()
	w.acks = append(w.acks, s)
	w.mu.Unlock()
	w.signal()
}

func (w *writer) run() {
	defer close(w.done)
	var (
		queue []queued
		acks  []*Source
		buf   []byte
	)
	for {
		select {
		case <-w.wake:
		case <-w.quit:
			return
		}
		w.mu.Lock()
		queue, w.queue = w.queue, queue[:0]
		acks, w.acks = w.acks, acks[:0]
		upto := w.sent
		w.mu.Unlock()

		// ACKs first: a CLOSE queued after a drain must find the drained
		// events acknowledged.
		for _, s := range acks {
			s.ackQueued.Store(false) // before reading: a newer position re-queues s
			pos := s.acked.Load()
			if pos <= s.ackSent {
				continue
			}
			s.ackSent = pos
			buf = wire.AppendHeader(buf[:0], wire.MsgAck, s.id, 8)
			m := wire.Ack{Position: pos}
			buf = m.AppendTo(buf)
			w.bw.Write(buf)
		}
		for _, q := range queue {
			w.bw.Write(q.frame)
		}
		// Done with the frames themselves: their bytes are written, or
		// in the buffer.
		w.written.Store(upto)
		err := w.bw.Flush()
		for i, q := range queue {
			if q.sent != nil {
				close(q.sent)
			}
			queue[i] = queued{} // let the frames go
		}
		clear(acks)
		if err != nil {
			w.fail(err)
			return
		}
	}
}

// writeFailed ends the session after a failed write, unless the read loop
// ends it first: a plugin that exited (after GOODBYE or in a crash) breaks
// the pipe before its stream's end is read, and that end says more. A
// corrupt input ring ends it at once, without ERROR: the plugin stored a
// read position it cannot have, and the ring can carry nothing more.
func (p *Plugin) writeFailed(err error) {
	if p.closed.Load() {
		return // the host closed the connection: the session is ending
	}
	if errors.Is(err, wire.ErrRingCorrupt) {
		p.abort(&violation{wire.ErrCodeMalformed, fmt.Errorf("input ring: %w", err)}, 0)
		return
	}
	time.AfterFunc(p.opts.Heartbeat, func() {
		p.abort(fmt.Errorf("%w: writing to the plugin: %w", ErrConnectionLost, err), 0)
	})
}
