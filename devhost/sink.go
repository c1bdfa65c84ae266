package devhost

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/plugctl/plugctl/eventline"
	"github.com/plugctl/plugctl/host"
	"github.com/plugctl/plugctl/wire"
)

// Sink batching: a batch is sent when it has batchEvents events or when
// the input has been quiet for batchIdle, so that a slow producer's events
// are written promptly.
const (
	batchEvents = 512
	batchIdle   = 50 * time.Millisecond
	maxLine     = 64 << 20
)

// input is one parsed line, or why it could not be.
type input struct {
	n    int // line number
	e    wire.Event
	err  error
	done bool // end of input
}

// sink feeds the instances the input's events, in batches, round robin,
// until the input ends, a limit is reached, or an interrupt comes. Events
// get positions 1, 2, … in input order: a line's own position belongs to
// the source that produced it.
func (r *run) sink(ctx context.Context) error {
	r.counts = newCounts(r.o.Instances)
	kinds := r.p.Hello().EventKinds
	sinks := make([]*host.Sink, 0, r.o.Instances)
	for range r.o.Instances {
		s, err := r.p.OpenSink(ctx, r.o.Settings)
		if err != nil {
			return AsConfigError(err)
		}
		sinks = append(sinks, s)
	}
	lines := make(chan input)
	go readInput(r.o.Input, kinds, lines, r.stopping)
	limit := r.limits()
	if r.st != nil {
		go r.st.run(r.stopping, r.counts, nil)
	}

	// After an interrupt or --duration, a WRITE in flight has drainTimeout
	// to be answered: a sink that never answers must not hold the run for
	// the host's own, longer timeout.
	writeCtx, cancelWrites := context.WithCancel(ctx)
	defer cancelWrites()
	go func() {
		select {
		case <-r.cut:
		case <-writeCtx.Done():
			return
		}
		t := time.NewTimer(drainTimeout)
		defer t.Stop()
		select {
		case <-t.C:
			cancelWrites()
		case <-writeCtx.Done():
		}
	}()

	var batch []wire.Event
	var first int // line number of the batch's first event
	var pos uint64
	next := 0 // instance to write to
	idle := time.NewTimer(time.Hour)
	defer idle.Stop()
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		i := next
		next = (next + 1) % len(sinks)
		err := r.write(writeCtx, sinks[i], i, first, batch)
		batch = batch[:0]
		if err != nil && writeCtx.Err() != nil && ctx.Err() == nil {
			return fmt.Errorf("the sink did not answer a WRITE within %v of the stop (%s): %w", drainTimeout, r.reason(), err)
		}
		return err
	}
	for done := false; !done; {
		select {
		case in := <-lines:
			switch {
			case in.done:
				done = true
				r.stop("end of input")
			case in.err != nil:
				r.counts.errors.Add(1)
				fmt.Fprintf(r.o.Stderr, "plugctl run: input line %d: %v (skipped)\n", in.n, in.err)
			default:
				if r.o.MaxEvents > 0 && int64(pos) >= r.o.MaxEvents {
					done = true
					r.stop(fmt.Sprintf("--max-events %d", r.o.MaxEvents))
					break
				}
				pos++
				in.e.Position = pos
				if len(batch) == 0 {
					first = in.n
				}
				batch = append(batch, in.e)
				if len(batch) < batchEvents {
					idle.Reset(batchIdle)
					continue
				}
			}
		case <-idle.C:
		case why := <-limit:
			done = true
			r.stop(why)
		case <-r.p.Done():
			return r.p.Err()
		}
		if err := flush(); err != nil {
			return err
		}
	}
	return r.flushSinks(ctx, sinks)
}

// write sends one batch and reports its retries and a refusal. A batch
// the sink refuses is counted and the run goes on: a sink's failures are
// per batch.
func (r *run) write(ctx context.Context, s *host.Sink, i, line int, batch []wire.Event) error {
	before := s.Retries()
	err := s.Write(ctx, slices.Clone(batch))
	retries := s.Retries() - before
	r.counts.retries.Add(retries)
	what := fmt.Sprintf("batch of %d events from input line %d to instance %d", len(batch), line, i+1)
	var we *host.WriteError
	switch {
	case errors.As(err, &we):
		r.counts.errors.Add(1)
		fmt.Fprintf(r.o.Stderr, "plugctl run: %s: %v\n", what, we)
		return nil
	case err != nil:
		return err
	case retries > 0:
		fmt.Fprintf(r.o.Stderr, "plugctl run: %s: written after %d %s\n", what, retries, plural(int(retries), "retry", "retries"))
	}
	r.counts.events.Add(int64(len(batch)))
	r.counts.last[i].Store(batch[len(batch)-1].Position)
	r.counts.have[i].Store(true)
	return nil
}

// flushSinks stops every instance: each writes what it buffered.
func (r *run) flushSinks(ctx context.Context, sinks []*host.Sink) error {
	ctx, cancel := context.WithTimeout(ctx, drainTimeout)
	defer cancel()
	for _, s := range sinks {
		if err := s.Close(ctx); err != nil {
			return err
		}
	}
	return nil
}

// readInput parses the input line by line until it ends or the run stops.
func readInput(r io.Reader, kinds []string, out chan<- input, stopping <-chan struct{}) {
	send := func(in input) bool {
		select {
		case out <- in:
			return true
		case <-stopping:
			return false
		}
	}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), maxLine)
	n := 0
	for sc.Scan() {
		n++
		if len(sc.Bytes()) == 0 {
			continue
		}
		in := input{n: n}
		l, err := eventline.Parse(sc.Bytes())
		if err == nil {
			in.e, err = l.Event()
		}
		if err == nil && !slices.Contains(kinds, in.e.Kind) {
			err = fmt.Errorf("kind %q is not one the sink accepts (%v)", in.e.Kind, kinds)
		}
		in.err = err
		if !send(in) {
			return
		}
	}
	if err := sc.Err(); err != nil && !send(input{n: n + 1, err: err}) {
		return
	}
	send(input{done: true})
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
