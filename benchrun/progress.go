package benchrun

import (
	"fmt"
	"io"
	"sync"
	"time"
)

// progressEvery is how often the progress line is redrawn.
const progressEvery = 250 * time.Millisecond

// progress is a line on a terminal, redrawn in place, that says which
// round runs and how fast events go; a nil *progress draws nothing.
type progress struct {
	mu    sync.Mutex
	w     io.Writer
	drawn bool
}

func newProgress(w io.Writer) *progress {
	if w == nil {
		return nil
	}
	return &progress{w: w}
}

func (p *progress) show(round, rounds int, phase string, rate float64) {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	line := fmt.Sprintf("plugctl bench: round %d/%d  %s", round, rounds, phase)
	if rate > 0 {
		line += "  " + humanRate(rate) + " events/s"
	}
	fmt.Fprintf(p.w, "\r\x1b[K%s", line)
	p.drawn = true
}

func (p *progress) clear() {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.drawn {
		fmt.Fprint(p.w, "\r\x1b[K")
		p.drawn = false
	}
}

// above returns a writer whose lines (the plugin's log) appear above the
// progress line.
func (p *progress) above(w io.Writer) io.Writer {
	return writerFunc(func(b []byte) (int, error) {
		p.mu.Lock()
		defer p.mu.Unlock()
		if p.drawn {
			fmt.Fprint(p.w, "\r\x1b[K")
			p.drawn = false
		}
		return w.Write(b)
	})
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(b []byte) (int, error) { return f(b) }
