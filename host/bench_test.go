package host

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/plugctl/plugctl/wire"
)

// BenchmarkEndToEnd moves events from a plugin process (a polled source
// emitting flat out) to a handler in this process through a pipe, with
// positions and acknowledgements on. One op is one event.
func BenchmarkEndToEnd(b *testing.B) {
	for _, size := range []int{64, 256, 1024} {
		b.Run(fmt.Sprintf("%dB", size), func(b *testing.B) {
			benchStream(b, "count", map[string]string{"size": fmt.Sprint(size)}, size)
		})
	}
}

// BenchmarkRawFrames is the ceiling BenchmarkEndToEnd is measured against:
// a plugin writing ready-made frames flat out, with no window, read by the
// same host path. Frames of 60 KiB are what the SDK sends by default.
func BenchmarkRawFrames(b *testing.B) {
	for _, frame := range []int{60 << 10, 1 << 20} {
		for _, size := range []int{64, 256, 1024} {
			b.Run(fmt.Sprintf("frame=%dKiB/%dB", frame>>10, size), func(b *testing.B) {
				benchStream(b, "flood", map[string]string{"size": fmt.Sprint(size), "frame": fmt.Sprint(frame - 64)}, size)
			})
		}
	}
}

// benchStream launches fixture, opens a source with settings and counts
// b.N events through a handler that reads every event.
func benchStream(b *testing.B, fixture string, settings map[string]string, size int) {
	ctx := context.Background()
	p := mustLaunch(b, fixture, Options{})
	var n, bytes int
	reached := make(chan struct{})
	done := reached
	handler := func(batch *wire.Events) error {
		r := batch.Reader()
		var e wire.Event
		for r.Next(&e) {
			bytes += len(e.Payload)
		}
		n += batch.Len()
		if n >= b.N && reached != nil {
			close(reached)
			reached = nil
		}
		return nil
	}
	b.SetBytes(int64(size))
	b.ResetTimer()
	begin := time.Now()
	if _, err := p.OpenSource(ctx, settings, nil, handler); err != nil {
		b.Fatal(err)
	}
	<-done
	elapsed := time.Since(begin)
	b.StopTimer()
	b.ReportMetric(float64(n)/elapsed.Seconds(), "events/s")
	p.Close(ctx)
}

// BenchmarkLatency measures the time from a plugin emitting one event
// alone, after a pause, to the host's handler receiving it.
func BenchmarkLatency(b *testing.B) {
	ctx := context.Background()
	p := mustLaunch(b, "emitter", Options{})
	samples := make(chan time.Duration, 1024)
	handler := func(batch *wire.Events) error {
		now := time.Now().UnixNano()
		r := batch.Reader()
		var e wire.Event
		for r.Next(&e) {
			select {
			case samples <- time.Duration(now - e.Time):
			default:
			}
		}
		return nil
	}
	src, err := p.OpenSource(ctx, map[string]string{"every": "2", "forever": "1"}, nil, handler)
	if err != nil {
		b.Fatal(err)
	}
	<-samples // the first event pays for warming up
	b.ResetTimer()
	got := make([]time.Duration, 0, b.N)
	for range b.N {
		got = append(got, <-samples)
	}
	b.StopTimer()
	slices.Sort(got)
	b.ReportMetric(float64(got[len(got)/2]), "ns/event")
	b.ReportMetric(float64(got[len(got)*99/100]), "p99-ns/event")
	if _, _, err := src.Stop(ctx); err != nil {
		b.Fatal(err)
	}
	if err := p.Close(ctx); err != nil {
		b.Fatal(err)
	}
}
