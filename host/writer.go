package host

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/plugctl/plugctl/wire"
)

// writer writes to a plugin. Callers queue whole frames for its goroutine;
// the read loop only marks acknowledgements, which the writer coalesces
// into one ACK per instance carrying the newest position, so the reader
// never waits on the pipe however fast batches arrive. When the writer is
// idle, the read loop writes an ACK itself if the connection takes it
// without waiting (ack).
type writer struct {
	bw   *bufio.Writer
	raw  syscall.RawConn // the connection's descriptor, if a write can be tried on it without waiting
	wake chan struct{}   // capacity 1: a pending wake-up
	quit <-chan struct{}
	done chan struct{} // closed when run has returned: nothing writes any more
	fail func(error)

	out   sync.Mutex // held while bw is written: by run, or by ack writing at once
	frame []byte     // ack's frame, under out

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
		raw:  nonblocking(w),
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

// ack acknowledges s's newest handled position: at once if it can
// (ackNow), or else by scheduling the ACK with the writer's goroutine.
func (w *writer) ack(s *Source) {
	if w.ackNow(s) {
		return
	}
	if s.ackQueued.Swap(true) {
		return // already scheduled; the writer will read the newest position
	}
	w.mu.Lock()
	w.acks = append(w.acks, s)
	w.mu.Unlock()
	w.signal()
}

// ackNow writes the ACK of s's newest handled position from the caller's
// goroutine, and reports whether it did, or found nothing to acknowledge.
// It does only when the writer is idle, nothing is queued (so the ACK
// overtakes nothing), and the connection takes the frame without waiting:
// the read loop must never wait on a plugin that stops reading. Waking the
// writer's goroutine instead costs a hand-off that a busy host can hold
// back for long enough to stall a plugin whose window is full: measured on
// a polled source, writing here makes the stream up to 2-3x as fast.
func (w *writer) ackNow(s *Source) bool {
	if w.raw == nil || !w.out.TryLock() {
		return false
	}
	defer w.out.Unlock()
	select {
	case <-w.done:
		return false // the writer failed or stopped: a frame may be cut short
	default:
	}
	w.mu.Lock()
	idle := len(w.queue) == 0 && len(w.acks) == 0
	w.mu.Unlock()
	if !idle || w.bw.Buffered() > 0 {
		return false
	}
	pos := s.acked.Load()
	if pos <= s.ackSent {
		return true
	}
	w.frame = appendAck(w.frame[:0], s.id, pos)
	n, ok := tryWrite(w.raw, w.frame)
	if !ok {
		return false // nothing written: the writer writes it, or reports why it cannot
	}
	s.ackSent = pos
	if n < len(w.frame) {
		// A stream socket took part of it: the writer sends the rest
		// before anything else.
		w.bw.Write(w.frame[n:])
		w.signal()
	}
	return true
}

// appendAck appends an ACK frame of instance id at pos to buf.
func appendAck(buf []byte, id uint16, pos uint64) []byte {
	buf = wire.AppendHeader(buf, wire.MsgAck, id, 8)
	m := wire.Ack{Position: pos}
	return m.AppendTo(buf)
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
		w.out.Lock()
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
			buf = appendAck(buf[:0], s.id, pos)
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
		w.out.Unlock()
		if err != nil {
			w.fail(err)
			return
		}
	}
}

// writeFailed ends the session a heartbeat interval after a failed write,
// unless the plugin has exited by then: a plugin that exited (after
// GOODBYE or in a crash) breaks the pipe before its stream's end is read,
// and that end says more. The read loop reaches it however long a slow
// handler takes over the plugin's last frames, and watch ends a stream
// that a process the plugin started holds open. A corrupt input ring ends
// the session at once, without ERROR: the plugin stored a read position it
// cannot have, and the ring can carry nothing more.
func (p *Plugin) writeFailed(err error) {
	if p.closed.Load() {
		return // the host closed the connection: the session is ending
	}
	if errors.Is(err, wire.ErrRingCorrupt) {
		p.abort(&violation{wire.ErrCodeMalformed, fmt.Errorf("input ring: %w", err)}, 0)
		return
	}
	time.AfterFunc(p.opts.Heartbeat, func() {
		if p.proc != nil && p.proc.exitedFor() > 0 {
			return
		}
		p.abort(fmt.Errorf("%w: writing to the plugin: %w", ErrConnectionLost, err), 0)
	})
}
