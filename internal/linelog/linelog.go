// Package linelog collects a plugin's standard error as lines: it keeps
// the last ones to explain a failure and can forward each, prefixed, to
// a writer. The host library and the acceptance checks both use it.
package linelog

import (
	"bytes"
	"io"
	"strings"
	"sync"
	"time"
)

// Log splits what is written to it into lines. A line longer than its
// maximum comes out in pieces of that size, so memory stays bounded.
type Log struct {
	maxLine int
	cut     int // kept lines are cut to this many bytes
	out     io.Writer

	// wmu orders writes, so lines are kept and forwarded whole and in
	// order; mu guards only what Lines reads, so a slow out never blocks it.
	wmu     sync.Mutex
	partial []byte // a line whose end has not come yet

	mu     sync.Mutex
	prefix string
	tail   []string // ring of the last kept lines
	next   int
	keep   int
	crash  string // the first line of a Go panic or fatal error, kept cut

	done chan struct{}
	once sync.Once
}

// New returns a Log that keeps the last keep lines, each cut to cut bytes,
// and splits lines longer than maxLine bytes. A non-nil out receives every
// line with the prefix and a newline, in one Write, so lines of plugins
// sharing a writer stay whole.
func New(keep, cut, maxLine int, out io.Writer, prefix string) *Log {
	return &Log{keep: keep, cut: cut, maxLine: maxLine, out: out, prefix: prefix, done: make(chan struct{})}
}

// SetPrefix changes the prefix of the lines forwarded from now on.
func (l *Log) SetPrefix(prefix string) {
	l.mu.Lock()
	l.prefix = prefix
	l.mu.Unlock()
}

// Write adds text; it never fails.
func (l *Log) Write(p []byte) (int, error) {
	l.wmu.Lock()
	defer l.wmu.Unlock()
	l.partial = append(l.partial, p...)
	rest := l.partial
	for {
		i := bytes.IndexByte(rest, '\n')
		if i < 0 && len(rest) < l.maxLine {
			break
		}
		if i < 0 || i > l.maxLine {
			l.line(rest[:l.maxLine])
			rest = rest[l.maxLine:]
			continue
		}
		l.line(rest[:i])
		rest = rest[i+1:]
	}
	l.partial = append(l.partial[:0], rest...)
	return len(p), nil
}

// line keeps and forwards one line; l.wmu is held.
func (l *Log) line(b []byte) {
	b = bytes.TrimRight(b, "\r")
	keep := string(b[:min(len(b), l.cut)])
	l.mu.Lock()
	if l.crash == "" && CrashLine(keep) != "" {
		l.crash = keep
	}
	if len(l.tail) < l.keep {
		l.tail = append(l.tail, keep)
	} else {
		l.tail[l.next] = keep
		l.next = (l.next + 1) % l.keep
	}
	prefix := l.prefix
	l.mu.Unlock()
	if l.out != nil {
		msg := make([]byte, 0, len(prefix)+len(b)+1)
		l.out.Write(append(append(append(msg, prefix...), b...), '\n'))
	}
}

// Follow copies r to its end, then closes l.
func (l *Log) Follow(r io.Reader) {
	io.Copy(l, r)
	l.Close()
}

// Close ends the stream, keeping an unfinished last line. Done is closed.
func (l *Log) Close() {
	l.once.Do(func() {
		l.wmu.Lock()
		if len(l.partial) > 0 {
			l.line(l.partial)
			l.partial = nil
		}
		l.wmu.Unlock()
		close(l.done)
	})
}

// Done is closed once the stream has ended.
func (l *Log) Done() <-chan struct{} { return l.done }

// Settle waits at most d for the stream to end, so that what a plugin
// wrote just before exiting has arrived. It reports whether it ended.
func (l *Log) Settle(d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-l.done:
		return true
	case <-t.C:
		return false
	}
}

// String returns the kept lines as one text.
func (l *Log) String() string { return strings.Join(l.Lines(), "\n") }

// CrashLine says what line is, if it starts a Go panic ("panic") or a
// fatal runtime error ("fatal error"), or "".
func CrashLine(line string) string {
	switch {
	case strings.HasPrefix(line, "panic: "):
		return "panic"
	case strings.HasPrefix(line, "fatal error: "):
		return "fatal error"
	}
	return ""
}

// Crash returns the first line of a Go panic or fatal runtime error seen
// ("panic: …", "fatal error: …"), or "": the traceback that follows can
// push it out of the kept lines, and it is the line that says what
// happened.
func (l *Log) Crash() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.crash
}

// Lines returns the kept lines, oldest first.
func (l *Log) Lines() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append(append([]string(nil), l.tail[l.next:]...), l.tail[:l.next]...)
}
