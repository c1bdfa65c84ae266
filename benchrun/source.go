package benchrun

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/plugctl/plugctl/host"
	"github.com/plugctl/plugctl/wire"
)

// source measures a source: it opens the instances, takes every event as
// it comes and, within the measured window, counts it and records its
// emit → host latency: the time the handler gets its batch minus the
// event's own time, which the plugin stamped.
func (b *bench) source(ctx context.Context, p *host.Plugin, launched time.Time, r *round) error {
	var (
		seen, events, bytes, batches atomic.Int64
		first                        atomic.Int64 // from launch to the first event, in ns; 0 until then
		measuring                    atomic.Bool
		mu                           sync.Mutex // r.lat; handlers share one read goroutine, but keep it obvious
	)
	handler := func(batch *wire.Events) error {
		now := time.Now()
		first.CompareAndSwap(0, int64(max(now.Sub(launched), 1)))
		seen.Add(int64(batch.Len()))
		if !measuring.Load() {
			return nil
		}
		at := now.UnixNano()
		var n, size int64
		rd := batch.Reader()
		var e wire.Event
		mu.Lock()
		for rd.Next(&e) {
			r.lat.add(at - e.Time)
			n++
			size += int64(len(e.Payload))
		}
		mu.Unlock()
		events.Add(n)
		bytes.Add(size)
		batches.Add(1)
		return nil
	}
	srcs := make([]*host.Source, 0, b.o.Instances)
	for range b.o.Instances {
		s, err := p.OpenSource(ctx, b.o.Settings, nil, handler)
		if err != nil {
			return err
		}
		srcs = append(srcs, s)
	}
	// An instance that ends or fails cuts the round short: the figures
	// would be of part of the window.
	ended, done := make(chan struct{}), make(chan struct{})
	defer close(done)
	var once sync.Once
	for _, s := range srcs {
		go func() {
			select {
			case <-s.Ended():
				once.Do(func() { close(ended) })
			case <-done:
			}
		}()
	}
	if err := b.wait(ctx, p, b.o.Warmup, "warming up", seen.Load, ended); err != nil {
		if errors.Is(err, errCut) {
			return endedEarly(srcs, "warm-up", seen.Load())
		}
		return err
	}
	m := startMeter(p.Pid())
	measuring.Store(true)
	err := b.wait(ctx, p, b.window, "measuring", seen.Load, ended)
	measuring.Store(false)
	m.stop(r)
	if errors.Is(err, errCut) {
		return endedEarly(srcs, "measured window of "+b.window.Round(time.Millisecond).String(), seen.Load())
	}
	if err != nil {
		return err
	}
	mu.Lock()
	r.events, r.bytes, r.batches = events.Load(), bytes.Load(), batches.Load()
	mu.Unlock()
	r.firstEvent = time.Duration(first.Load())

	b.prog.show(b.roundNo, b.o.Rounds, "stopping", 0)
	stopCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	for _, s := range srcs {
		if _, _, err := s.Stop(stopCtx); err != nil {
			return err
		}
		if err := s.Close(stopCtx); err != nil {
			return err
		}
	}
	if r.events == 0 {
		return errNoEvents("source", r.window)
	}
	return nil
}

// endedEarly reports an instance that failed or ended its stream during
// phase, seen events in: a bench measures a source that keeps sending.
func endedEarly(srcs []*host.Source, phase string, seen int64) error {
	for _, s := range srcs {
		select {
		case <-s.Ended():
		default:
			continue
		}
		if err := s.Err(); err != nil {
			return fmt.Errorf("during the %s: %w", phase, err)
		}
		n := int(seen)
		return fmt.Errorf("the source ended its stream (END) during the %s, after %d %s: bench measures a source that keeps sending; set it to run longer (a limit or a count setting, say)",
			phase, n, plural(n, "event", "events"))
	}
	return errCut // not reached: the cut follows an instance's end
}
