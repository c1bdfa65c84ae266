package devhost

import (
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/plugctl/plugctl/host"
	"github.com/schollz/progressbar/v3"
)

// statusEvery is how often the status line is redrawn.
const statusEvery = 200 * time.Millisecond

// status is the live status line on a terminal: events, rate and last
// position, and a progress bar with percent and text once the plugin
// reports progress. The plugin's log lines are written above it.
type status struct {
	mu  sync.Mutex
	w   io.Writer
	bar *progressbar.ProgressBar
	pct bool // the bar shows percent
}

func newStatus(w io.Writer) *status {
	s := &status{w: w}
	s.bar = s.newBar(-1)
	return s
}

func (s *status) newBar(max int) *progressbar.ProgressBar {
	return progressbar.NewOptions(max,
		progressbar.OptionSetWriter(s.w),
		progressbar.OptionSetWidth(24),
		progressbar.OptionThrottle(0),
		progressbar.OptionSpinnerType(14),
		progressbar.OptionSetSpinnerChangeInterval(0), // no drawing goroutine: every draw is under s.mu
		progressbar.OptionUseANSICodes(true),
		progressbar.OptionClearOnFinish(),
		progressbar.OptionSetPredictTime(false),
		progressbar.OptionSetElapsedTime(false),
		progressbar.OptionShowDescriptionAtLineEnd(),
	)
}

// run redraws the line until the run stops. srcs are a source's instances,
// whose progress reports it shows; nil for a sink.
func (s *status) run(stop <-chan struct{}, c *counts, srcs []*host.Source) {
	t := time.NewTicker(statusEvery)
	defer t.Stop()
	start := time.Now()
	var lastEvents int64
	lastAt := start
	for {
		select {
		case <-stop:
			return
		case now := <-t.C:
			events := c.events.Load()
			rate := float64(events-lastEvents) / now.Sub(lastAt).Seconds()
			lastEvents, lastAt = events, now
			desc := fmt.Sprintf("%d events  %.0f/s", events, rate)
			if pos, ok := c.lastPosition(); ok {
				desc += fmt.Sprintf("  last position %d", pos)
			}
			if n := c.errors.Load(); n > 0 {
				desc += fmt.Sprintf("  %d errors", n)
			}
			pct, text, reported := progressOf(srcs)
			if text != "" {
				desc += "  " + text
			}
			s.draw(desc, pct, reported)
		}
	}
}

// progressOf is the first instance's progress report, if one came.
func progressOf(srcs []*host.Source) (pct float64, text string, ok bool) {
	for _, src := range srcs {
		if p, t := src.Progress(); p > 0 || t != "" {
			return p, t, true
		}
	}
	return 0, "", false
}

func (s *status) draw(desc string, pct float64, reported bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if reported && !s.pct {
		s.bar.Clear()
		s.bar.Exit()
		s.bar = s.newBar(100)
		s.pct = true
	}
	s.bar.Describe(desc)
	if s.pct {
		s.bar.Set(int(pct))
	} else {
		s.bar.Add(1) // turns the spinner
	}
}

// logWriter is where the plugin's log lines go: above the status line,
// which is cleared before and redrawn after each write.
func (s *status) logWriter() io.Writer { return logWriter{s} }

type logWriter struct{ s *status }

func (l logWriter) Write(p []byte) (int, error) {
	l.s.mu.Lock()
	defer l.s.mu.Unlock()
	l.s.bar.Clear()
	n, err := l.s.w.Write(p)
	l.s.bar.RenderBlank()
	return n, err
}

// close erases the status line, leaving the terminal as it was.
func (s *status) close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.bar.Clear()
	s.bar.Exit()
}

// lastPosition is the newest position of the first instance that has one.
func (c *counts) lastPosition() (uint64, bool) {
	for i := range c.last {
		if c.have[i].Load() {
			return c.last[i].Load(), true
		}
	}
	return 0, false
}
