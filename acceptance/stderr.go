package acceptance

import (
	"bytes"
	"io"
	"strings"
	"sync"
	"time"
)

// Bounds on what is kept of a plugin's standard error.
const (
	stderrMaxLines = 2000
	stderrMaxLine  = 4096
)

// stderrBuf collects a plugin's standard error as lines: for the report,
// and for the check that secrets never reach the log. It is an io.Writer,
// for the reference host's forwarding, and reads a pipe with readFrom.
type stderrBuf struct {
	mu      sync.Mutex
	lines   []string
	partial []byte // a line whose end has not come yet
	done    chan struct{}
	once    sync.Once
}

func newStderrBuf() *stderrBuf { return &stderrBuf{done: make(chan struct{})} }

// Write adds text; the earliest lines are dropped past the bound, as the
// last ones say most about a failure.
func (b *stderrBuf) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.partial = append(b.partial, p...)
	for {
		i := bytes.IndexByte(b.partial, '\n')
		if i < 0 && len(b.partial) < stderrMaxLine {
			return len(p), nil
		}
		if i < 0 {
			i = len(b.partial)
		}
		b.add(b.partial[:i])
		b.partial = b.partial[min(i+1, len(b.partial)):]
	}
}

func (b *stderrBuf) add(line []byte) {
	b.lines = append(b.lines, strings.TrimRight(string(line), "\r"))
	if len(b.lines) > stderrMaxLines {
		b.lines = b.lines[len(b.lines)-stderrMaxLines:]
	}
}

// readFrom copies r to its end, then closes b.
func (b *stderrBuf) readFrom(r io.ReadCloser) {
	io.Copy(b, r)
	r.Close()
	b.close()
}

// close ends the stream, keeping an unfinished last line.
func (b *stderrBuf) close() {
	b.once.Do(func() {
		b.mu.Lock()
		if len(b.partial) > 0 {
			b.add(b.partial)
			b.partial = nil
		}
		b.mu.Unlock()
		close(b.done)
	})
}

// all returns the lines read so far.
func (b *stderrBuf) all() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]string(nil), b.lines...)
}

// String returns the lines read so far as one text.
func (b *stderrBuf) String() string { return strings.Join(b.all(), "\n") }

// settle waits at most d for the stream to end, so that what a plugin
// wrote just before exiting has been read.
func (b *stderrBuf) settle(d time.Duration) {
	select {
	case <-b.done:
	case <-time.After(d):
	}
}
