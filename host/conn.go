package host

import (
	"errors"
	"io"
	"os"
	"sync/atomic"
	"syscall"
	"time"
)

// conn is the byte stream to one plugin: the pipes of a launched child or
// an accepted socket. Deadlines bound the handshake and best-effort writes.
type conn interface {
	io.ReadWriteCloser
	SetReadDeadline(time.Time) error
	SetWriteDeadline(time.Time) error
}

// pipeConn joins a child's stdout (read) and stdin (write).
type pipeConn struct {
	r, w *os.File
}

func (c *pipeConn) Read(p []byte) (int, error)         { return c.r.Read(p) }
func (c *pipeConn) Write(p []byte) (int, error)        { return c.w.Write(p) }
func (c *pipeConn) SetReadDeadline(t time.Time) error  { return c.r.SetReadDeadline(t) }
func (c *pipeConn) SetWriteDeadline(t time.Time) error { return c.w.SetWriteDeadline(t) }
func (c *pipeConn) Close() error                       { return errors.Join(c.w.Close(), c.r.Close()) }

// SyscallConn is the write side's: what the writer tries a write on.
func (c *pipeConn) SyscallConn() (syscall.RawConn, error) { return c.w.SyscallConn() }

// clock is the monotonic time base of waitingReader.
var clock = time.Now()

func now() int64 { return int64(time.Since(clock)) }

// waitingReader records when the reader started waiting for bytes. The
// heartbeat watch uses it so that only time spent waiting on the plugin
// counts as silence, never time the host spends in a slow handler.
type waitingReader struct {
	r      io.Reader
	since  atomic.Int64 // now() when the pending Read began; 0 when none
	onRead func()       // called before each Read, on the read loop
}

func (w *waitingReader) Read(p []byte) (int, error) {
	if w.onRead != nil {
		w.onRead()
	}
	w.since.Store(now())
	n, err := w.r.Read(p)
	w.since.Store(0)
	return n, err
}

// waited is how long the pending Read has waited, 0 when none is pending.
func (w *waitingReader) waited() time.Duration {
	if s := w.since.Load(); s != 0 {
		return time.Duration(now() - s)
	}
	return 0
}
