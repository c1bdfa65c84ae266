package host

import (
	"bufio"
	"bytes"
	"io"
	"sync"
)

// Limits of the stderr tail kept for error messages.
const (
	tailLines   = 20
	tailLineMax = 512
	stderrLine  = 16 << 10 // longer lines are forwarded in pieces
)

// stderrLog forwards a plugin's standard error line by line with a
// "[name] " prefix and keeps the last lines to explain failures.
type stderrLog struct {
	out  io.Writer
	done chan struct{} // closed when the stream ended

	mu   sync.Mutex
	name string
	tail []string // ring of the last tailLines lines
	next int
}

func newStderrLog(out io.Writer, name string) *stderrLog {
	return &stderrLog{out: out, name: name, done: make(chan struct{})}
}

// setName switches the prefix to the name the plugin gave in HELLO.
func (l *stderrLog) setName(name string) {
	l.mu.Lock()
	l.name = name
	l.mu.Unlock()
}

// run copies r until it ends.
func (l *stderrLog) run(r io.Reader) {
	defer close(l.done)
	br := bufio.NewReaderSize(r, stderrLine)
	var line []byte
	for {
		chunk, err := br.ReadSlice('\n')
		if len(chunk) > 0 {
			line = append(line[:0], chunk...)
			l.line(bytes.TrimRight(line, "\r\n"))
		}
		if err != nil && err != bufio.ErrBufferFull {
			return
		}
	}
}

func (l *stderrLog) line(b []byte) {
	l.mu.Lock()
	msg := make([]byte, 0, len(l.name)+len(b)+4)
	msg = append(append(append(append(msg, '['), l.name...), "] "...), b...)
	msg = append(msg, '\n')
	keep := string(b[:min(len(b), tailLineMax)])
	if len(l.tail) < tailLines {
		l.tail = append(l.tail, keep)
	} else {
		l.tail[l.next] = keep
		l.next = (l.next + 1) % tailLines
	}
	l.mu.Unlock()
	// One Write per line, so lines of plugins sharing a writer stay whole.
	l.out.Write(msg)
}

// lines returns the kept lines, oldest first.
func (l *stderrLog) lines() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append(append([]string(nil), l.tail[l.next:]...), l.tail[:l.next]...)
}
