package sdk

import (
	"fmt"
	"io"
	"sync"

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
type conn struct {
	mu   sync.Mutex
	w    io.Writer
	max  int    // largest body the peer accepts
	buf  []byte // scratch for small messages
	err  error  // the first write error; the stream is unusable after it
	lost func(error)
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
	c.mu.Lock()
	c.buf = m.AppendTo(append(c.buf[:0], make([]byte, wire.HeaderSize)...))
	var err error
	if size := len(c.buf) - wire.HeaderSize; size > c.max {
		err = fmt.Errorf("%w: %s body of %d bytes, the limit is %d", wire.ErrFrameTooLarge, t, size, c.max)
	} else {
		wire.PutHeader(c.buf, t, instance, size)
		err = c.writeLocked(c.buf)
	}
	c.mu.Unlock()
	return c.check(err)
}

func (c *conn) writeLocked(frame []byte) error {
	if c.err != nil {
		return c.err
	}
	if _, err := c.w.Write(frame); err != nil {
		c.err = err
		return &writeError{err}
	}
	return nil
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
