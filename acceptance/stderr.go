package acceptance

import (
	"bufio"
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
// and for the check that secrets never reach the log.
type stderrBuf struct {
	mu    sync.Mutex
	lines []string
	done  chan struct{}
}

func newStderrBuf() *stderrBuf { return &stderrBuf{done: make(chan struct{})} }

// readFrom reads r to its end; the earliest lines are dropped past the
// bound, as the last ones say most about a failure.
func (b *stderrBuf) readFrom(r io.ReadCloser) {
	defer close(b.done)
	defer r.Close()
	br := bufio.NewReaderSize(r, stderrMaxLine)
	for {
		line, err := br.ReadSlice('\n')
		if len(line) > 0 {
			b.mu.Lock()
			b.lines = append(b.lines, strings.TrimRight(string(line), "\r\n"))
			if len(b.lines) > stderrMaxLines {
				b.lines = b.lines[len(b.lines)-stderrMaxLines:]
			}
			b.mu.Unlock()
		}
		if err != nil && err != bufio.ErrBufferFull {
			return
		}
	}
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
