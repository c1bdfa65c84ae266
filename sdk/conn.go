package sdk

import (
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"github.com/plugctl/plugctl/wire"
)

// message is any body this side sends.
type message interface {
	AppendTo(dst []byte) []byte
}

// appender is a message whose encoding needs more than the message, such
// as END's, which depends on the session's version.
type appender func(dst []byte) []byte

func (f appender) AppendTo(dst []byte) []byte { return f(dst) }

// conn is the writing half of a session. Every frame is written whole by
// one Write call under mu, so frames from many goroutines never interleave.
//
// On a ring, a source may instead encode a batch straight into the ring's
// free room (reserve, then commit), which spares copying it in. The room
// lies at the write position, so while it is held every other frame must
// follow the batch: writeLocked queues it in pending. For a polled source
// it also sets revoked, which makes the batch move out of the ring at its
// next event (Batch.relocate), so that one slow NextBatch does not hold
// back, say, a HEARTBEAT for longer than it takes to add one event; a Run
// source's flusher holds the room only while events keep coming (see
// emitter). A frame queued is written when the room is given up: sync
// waits for that.
type conn struct {
	mu   sync.Mutex
	w    io.Writer
	ring *wire.RingWriter // w, when the session writes into a ring
	max  int              // largest body the peer accepts
	buf  []byte           // scratch for small messages
	err  error            // the first write error; the stream is unusable after it
	lost func(error)

	held    bool        // a batch is being encoded into the ring's free room
	unheld  sync.Cond   // on mu: broadcast when a batch gives the room up
	sealed  bool        // the session's last frame is written or queued
	revoked atomic.Bool // a frame waits in pending for that batch to leave
	pending []byte      // frames written while held, sent right after the batch
}

// writeFrame writes one complete frame, header included.
func (c *conn) writeFrame(frame []byte) error {
	c.mu.Lock()
	err := c.writeLocked(frame)
	c.mu.Unlock()
	return c.check(err)
}

// send encodes m as the body of a frame and writes it.
func (c *conn) send(t wire.MsgType, instance uint16, m message) error {
	return c.sendFrame(t, instance, m, false)
}

// sendLast sends the session's last frame (ERROR, GOODBYE): every later
// write fails, so that nothing follows it on the stream.
func (c *conn) sendLast(t wire.MsgType, m message) error {
	return c.sendFrame(t, 0, m, true)
}

func (c *conn) sendFrame(t wire.MsgType, instance uint16, m message, last bool) error {
	c.mu.Lock()
	c.buf = m.AppendTo(append(c.buf[:0], make([]byte, wire.HeaderSize)...))
	var err error
	if size := len(c.buf) - wire.HeaderSize; size > c.max {
		err = fmt.Errorf("%w: %s body of %d bytes, the limit is %d", wire.ErrFrameTooLarge, t, size, c.max)
	} else {
		wire.PutHeader(c.buf, t, instance, size)
		err = c.writeLocked(c.buf)
	}
	c.sealed = c.sealed || last // even if it failed: nothing may follow an attempt at the last frame
	c.mu.Unlock()
	return c.check(err)
}

func (c *conn) writeLocked(frame []byte) error {
	if c.err != nil {
		return c.err
	}
	if c.sealed {
		return errSealed
	}
	if c.held {
		c.pending = append(c.pending, frame...)
		c.revoked.Store(true)
		return nil
	}
	return c.writeThrough(frame)
}

// writeThrough writes b to the stream, with mu held; the first failure
// makes the stream unusable.
func (c *conn) writeThrough(b []byte) error {
	if _, err := c.w.Write(b); err != nil {
		return c.broken(err)
	}
	return nil
}

// broken records err as the stream's first write failure.
func (c *conn) broken(err error) error {
	c.err = err
	return &writeError{err}
}

// reserve returns the ring's free room at the write position, from least
// to most bytes, for one batch to be encoded into, or nil when there is no
// ring, no such room, or a batch already holds it. Until commit or release
// other frames queue behind it.
func (c *conn) reserve(least, most int) []byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ring == nil || c.held || c.err != nil || c.sealed {
		return nil
	}
	room, err := c.ring.Reserve(most)
	if err != nil || len(room) < least {
		return nil // a corrupt ring fails the next write
	}
	c.held = true
	c.revoked.Store(false)
	return room
}

// waitRingRoom waits until the ring has room for least bytes, or is half
// empty if least is more, so that a source the host cannot keep up with
// encodes its next batch into the ring once the host has read, instead of
// into a buffer to copy in later. It reports false if stop or abort ends
// the wait, and true at once without a ring, or once the session can send
// nothing more (the next write says why).
func (c *conn) waitRingRoom(least int, stop, abort <-chan struct{}) bool {
	var pause time.Duration
	for {
		c.mu.Lock()
		room := true
		if c.ring != nil && c.err == nil && !c.sealed {
			free, err := c.ring.Free()
			room = err != nil || free >= min(least, c.ring.Size()/2)
		}
		c.mu.Unlock()
		if room {
			return true
		}
		pause = wire.NextRingPause(pause)
		t := time.NewTimer(pause)
		select {
		case <-t.C:
		case <-stop:
			t.Stop()
			return false
		case <-abort:
			t.Stop()
			return false
		}
	}
}

// commit publishes the frame encoded at the start of the reserved room,
// then the frames that queued behind it.
func (c *conn) commit(frame []byte) error {
	c.mu.Lock()
	c.held = false
	var err error
	if c.err != nil {
		err = c.err
	} else if e := c.ring.Commit(len(frame)); e != nil {
		err = c.broken(e)
	}
	if e := c.flushPending(); err == nil {
		err = e
	}
	c.mu.Unlock()
	return c.check(err)
}

// release gives up the reserved room unused and sends what queued behind
// it.
func (c *conn) release() error {
	c.mu.Lock()
	c.held = false
	err := c.flushPending()
	c.mu.Unlock()
	return c.check(err)
}

func (c *conn) flushPending() error {
	c.unheld.Broadcast()
	if len(c.pending) == 0 || c.err != nil {
		return c.err
	}
	// Not writeLocked: frames queued before the last one still go out.
	err := c.writeThrough(c.pending)
	c.pending = c.pending[:0]
	return err
}

// sync waits until no batch holds the ring's room, so that the frames
// sent so far are written, not only queued behind it.
func (c *conn) sync() {
	c.mu.Lock()
	if c.unheld.L == nil {
		c.unheld.L = &c.mu
	}
	for c.held && c.err == nil {
		c.unheld.Wait()
	}
	c.mu.Unlock()
}

// check reports the first write failure, outside the lock so the
// connection can be declared lost while other writers wait.
func (c *conn) check(err error) error {
	if we, ok := err.(*writeError); ok {
		c.lost(we.err)
		return we.err
	}
	return err
}

// errSealed refuses a frame after the session's last one.
var errSealed = errors.New("the session's last frame is sent")

// writeError marks the write that broke the stream.
type writeError struct{ err error }

func (e *writeError) Error() string { return e.err.Error() }

// notify wakes the goroutine waiting on a 1-slot channel without ever
// blocking: a wake-up already pending covers this one.
func notify(c chan struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}

// serial runs functions one after the other, in the order given, on a
// goroutine of its own, so a slow one delays only its own queue.
type serial struct {
	mu      sync.Mutex
	queue   []func()
	running bool
}

func (q *serial) do(f func()) {
	q.mu.Lock()
	q.queue = append(q.queue, f)
	if !q.running {
		q.running = true
		go q.run()
	}
	q.mu.Unlock()
}

func (q *serial) run() {
	for {
		q.mu.Lock()
		if len(q.queue) == 0 {
			q.running = false
			q.mu.Unlock()
			return
		}
		f := q.queue[0]
		q.queue = q.queue[1:]
		q.mu.Unlock()
		f()
	}
}
