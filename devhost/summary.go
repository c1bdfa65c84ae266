package devhost

import (
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"time"
)

// Summary is what a run did.
type Summary struct {
	Why      string // what ended it: an interrupt, a limit, the end of the stream or input
	Events   int64
	Duration time.Duration
	Errors   int64 // refused batches and bad input lines (sinks)
	Retries  int64 // batches a sink asked to write again
	Failed   int64 // instances that failed while the others went on (sources)
	// Last is each instance's last position: printed (sources, the
	// position to resume after) or written (sinks); absent when none.
	Last map[int]uint64
	Role string
}

func (r *run) summary(err error) *Summary {
	s := &Summary{Duration: time.Since(r.start), Last: map[int]uint64{}, Role: r.p.Hello().Role.String()}
	s.Why = r.reason()
	switch {
	case errors.Is(err, ErrKilled):
		s.Why = "a second interrupt"
	case err != nil && s.Why == "":
		s.Why = "the plugin failed"
	}
	if c := r.counts; c != nil {
		s.Events, s.Errors, s.Retries, s.Failed = c.events.Load(), c.errors.Load(), c.retries.Load(), c.failed.Load()
		for i := range c.last {
			if c.have[i].Load() {
				s.Last[i+1] = c.last[i].Load()
			}
		}
	}
	return s
}

// ResumeFlags are the --resume values that continue a source's run after
// what it printed.
func (s *Summary) ResumeFlags() string {
	if s.Role != "source" || len(s.Last) == 0 {
		return ""
	}
	if len(s.Last) == 1 {
		if pos, ok := s.Last[1]; ok {
			return fmt.Sprintf("--resume %d", pos)
		}
	}
	var flags []string
	for _, i := range slices.Sorted(maps.Keys(s.Last)) {
		flags = append(flags, fmt.Sprintf("--resume %d=%d", i, s.Last[i]))
	}
	return strings.Join(flags, " ")
}

// Write prints the summary for people.
func (s *Summary) Write(w io.Writer) {
	rate := 0.0
	if secs := s.Duration.Seconds(); secs > 0 {
		rate = float64(s.Events) / secs
	}
	verb := "received"
	if s.Role == "sink" {
		verb = "written"
	}
	fmt.Fprintf(w, "plugctl run: %d events %s in %v (%.0f/s), %d errors", s.Events, verb, s.Duration.Round(time.Millisecond), rate, s.Errors)
	if s.Retries > 0 {
		fmt.Fprintf(w, ", %d retries", s.Retries)
	}
	if s.Failed > 0 {
		fmt.Fprintf(w, ", %d %s failed", s.Failed, plural(int(s.Failed), "instance", "instances"))
	}
	if s.Why != "" {
		fmt.Fprintf(w, "; stopped by %s", s.Why)
	}
	fmt.Fprintln(w)
	for _, i := range slices.Sorted(maps.Keys(s.Last)) {
		fmt.Fprintf(w, "  instance %d: last position %d\n", i, s.Last[i])
	}
	if f := s.ResumeFlags(); f != "" {
		fmt.Fprintf(w, "  continue with: %s\n", f)
	}
}
