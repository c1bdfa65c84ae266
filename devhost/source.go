package devhost

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/plugctl/plugctl/eventline"
	"github.com/plugctl/plugctl/host"
	"github.com/plugctl/plugctl/wire"
)

// counts are what the status line and the summary show, updated by the
// handlers and read by the status line's goroutine.
type counts struct {
	events  atomic.Int64
	errors  atomic.Int64
	retries atomic.Int64
	failed  atomic.Int64    // source instances that failed
	last    []atomic.Uint64 // per instance: the last position printed, or written by a sink
	have    []atomic.Bool
}

func newCounts(n int) *counts {
	return &counts{last: make([]atomic.Uint64, n), have: make([]atomic.Bool, n)}
}

// errOutputClosed stops a source's run whose reader went away (plugctl
// run | head): the end of the run, not a failure; the batch not written
// is not acknowledged.
var errOutputClosed = errors.New("the output closed")

// source opens the instances and prints their events until they all end,
// a limit is reached, or an interrupt comes; then it drains them. An
// instance that fails is reported and counted; the others go on.
func (r *run) source(ctx context.Context) error {
	r.counts = newCounts(r.o.Instances)
	out := bufio.NewWriterSize(r.o.Stdout, 64<<10)
	var mu sync.Mutex // instances share one output, and handlers run on one read loop, but keep it obvious
	srcs := make([]*host.Source, 0, r.o.Instances)
	for i := range r.o.Instances {
		slot := i
		handler := func(b *wire.Events) error {
			mu.Lock()
			defer mu.Unlock()
			rd := b.Reader()
			var e wire.Event
			var line []byte
			var n int64
			var last uint64
			for rd.Next(&e) {
				if r.o.MaxEvents > 0 && r.counts.events.Load()+n >= r.o.MaxEvents {
					break // acknowledged but not shown: --resume starts after the last one shown
				}
				line = r.format(line[:0], uint16(slot+1), &e)
				out.Write(line)
				n, last = n+1, e.Position
			}
			// Flushed promptly, so that plugctl run | jq shows events as
			// they come; counted only once written, so that --resume
			// starts after the last event written.
			if err := out.Flush(); err != nil {
				go r.stop("the output closed")
				return fmt.Errorf("%w: %w", errOutputClosed, err)
			}
			if n > 0 {
				r.counts.events.Add(n)
				r.counts.last[slot].Store(last)
				r.counts.have[slot].Store(true)
			}
			if r.o.MaxEvents > 0 && r.counts.events.Load() >= r.o.MaxEvents {
				go r.stop(fmt.Sprintf("--max-events %d", r.o.MaxEvents))
			}
			return nil
		}
		src, err := r.p.OpenSource(ctx, r.o.Settings, r.resume(slot+1), handler)
		if err != nil {
			return AsConfigError(err)
		}
		srcs = append(srcs, src)
	}
	ended := make(chan int, len(srcs))
	for i, s := range srcs {
		go func() {
			select {
			case <-s.Ended():
				ended <- i
			case <-r.p.Done():
			}
		}()
	}
	if r.st != nil {
		go r.st.run(r.stopping, r.counts, srcs)
	}
	limit := r.limits()
	reported := make([]bool, len(srcs))
	for open := len(srcs); open > 0; {
		select {
		case i := <-ended:
			r.reportFailure(srcs, reported, i)
			if open--; open == 0 {
				r.stop("the source ended its stream")
			}
		case why := <-limit:
			r.stop(why)
			return r.drain(ctx, srcs, reported)
		case <-r.stopping:
			return r.drain(ctx, srcs, reported)
		case <-r.p.Done():
			return r.p.Err()
		}
	}
	return r.drain(ctx, srcs, reported)
}

// reportFailure says, once, that instance i+1 failed, if it did.
func (r *run) reportFailure(srcs []*host.Source, reported []bool, i int) {
	var ie *host.InstanceError
	if reported[i] || !errors.As(srcs[i].Err(), &ie) {
		return
	}
	reported[i] = true
	r.counts.failed.Add(1)
	fmt.Fprintf(r.o.Stderr, "plugctl run: instance %d failed: %s\n", i+1, ie.Message)
}

// resume is where instance n continues, if anywhere.
func (r *run) resume(n int) *uint64 {
	if pos, ok := r.o.Resume[n]; ok {
		return &pos
	}
	if pos, ok := r.o.Resume[0]; ok {
		return &pos
	}
	return nil
}

// drain stops every instance, bounded: each sends what it has. An
// instance that failed meanwhile has told so before its STOP reply.
func (r *run) drain(ctx context.Context, srcs []*host.Source, reported []bool) error {
	ctx, cancel := context.WithTimeout(ctx, drainTimeout)
	defer cancel()
	for i, s := range srcs {
		if _, _, err := s.Stop(ctx); err != nil {
			return err
		}
		r.reportFailure(srcs, reported, i)
		if err := s.Close(ctx); err != nil {
			return err
		}
	}
	return nil
}

// format appends one event's line.
func (r *run) format(dst []byte, instance uint16, e *wire.Event) []byte {
	l := eventline.FromEvent(instance, e)
	if !r.o.Text {
		return eventline.Append(dst, &l)
	}
	payload := string(l.Payload)
	if payload == "" && l.PayloadBase64 != "" {
		payload = "base64:" + l.PayloadBase64
	}
	return fmt.Appendf(dst, "%s  instance %d  #%d  %s  %s\n", l.Time, instance, e.Position, e.Kind, payload)
}
