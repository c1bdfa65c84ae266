package benchrun

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/plugctl/plugctl/host"
	"github.com/plugctl/plugctl/wire"
)

// Batches fed to a sink hold at most maxBatchEvents events and about
// maxBatchBytes of payload.
const (
	maxBatchEvents = 512
	maxBatchBytes  = 256 << 10
)

// sink measures a sink: one writer per instance sends batches of
// generated events back to back, one batch in flight, and times each
// Write from the call (encoding, WRITE) to its RESULT.
func (b *bench) sink(ctx context.Context, p *host.Plugin, r *round) error {
	if len(b.hello.EventKinds) == 0 {
		return errors.New("the sink accepts no event kind, so there is nothing to feed it")
	}
	kind := b.hello.EventKinds[0]
	sinks := make([]*host.Sink, 0, b.o.Instances)
	for range b.o.Instances {
		s, err := p.OpenSink(ctx, b.o.Settings)
		if err != nil {
			return err
		}
		sinks = append(sinks, s)
	}
	payload := Payload(b.o.PayloadBytes)
	perBatch := min(maxBatchEvents, max(1, maxBatchBytes/len(payload)))

	var (
		seen      atomic.Int64
		measuring atomic.Bool
		stop      = make(chan struct{})
		wg        sync.WaitGroup
		mu        sync.Mutex // r's counts and histogram
		errs      = make([]error, len(sinks))
		failed    = make(chan struct{}) // closed by the first instance that fails: the round is cut short
		failOnce  sync.Once
	)
	for i, s := range sinks {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var part round
			batch := make([]wire.Event, perBatch)
			for j := range batch {
				batch[j] = wire.Event{Kind: kind, Payload: payload}
			}
			var pos uint64
			defer func() {
				mu.Lock()
				r.events += part.events
				r.bytes += part.bytes
				r.batches += part.batches
				r.retries += part.retries
				r.lat.merge(&part.lat)
				mu.Unlock()
			}()
			for {
				select {
				case <-stop:
					return
				default:
				}
				start := time.Now()
				at := start.UnixNano()
				for j := range batch {
					pos++
					batch[j].Position, batch[j].Time = pos, at
				}
				retries := s.Retries()
				err := s.Write(ctx, batch)
				d := time.Since(start)
				if err != nil {
					errs[i] = fmt.Errorf("instance %d: %w", i+1, err)
					failOnce.Do(func() { close(failed) })
					return
				}
				seen.Add(int64(len(batch)))
				if measuring.Load() {
					part.lat.add(int64(d))
					part.events += int64(len(batch))
					part.bytes += int64(len(batch) * len(payload))
					part.batches++
					part.retries += s.Retries() - retries
				}
			}
		}()
	}
	err := b.wait(ctx, p, b.o.Warmup, "warming up", seen.Load, failed)
	var m *meter
	if err == nil {
		m = startMeter(p.Pid())
		measuring.Store(true)
		err = b.wait(ctx, p, b.window, "measuring", seen.Load, failed)
		measuring.Store(false)
		m.stop(r)
	}
	close(stop)
	wg.Wait()
	if err == nil || errors.Is(err, errCut) {
		err = errors.Join(errs...) // the failure that cut the round, if one did
	}
	if err != nil {
		return err
	}
	b.prog.show(b.roundNo, b.o.Rounds, "stopping", 0)
	closeCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	for _, s := range sinks {
		if err := s.Close(closeCtx); err != nil {
			return err
		}
	}
	if r.events == 0 {
		return errNoEvents("sink", r.window)
	}
	return nil
}

// Payload is the payload of the events fed to a sink and sent by a
// synthetic source: size bytes of a JSON object, {"note":"xxx…"}, so that
// a sink that decodes JSON takes it; below 13 bytes, size bytes of x.
func Payload(size int) []byte {
	const open, end = `{"note":"`, `"}`
	if size < len(open)+len(end)+1 {
		return []byte(strings.Repeat("x", max(size, 1)))
	}
	return []byte(open + strings.Repeat("x", size-len(open)-len(end)) + end)
}
