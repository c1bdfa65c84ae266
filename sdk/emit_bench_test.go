package sdk

import (
	"fmt"
	"io"
	"testing"

	"github.com/plugctl/plugctl/wire"
)

func benchLimits() batchLimits {
	return batchLimits{soft: wire.HeaderSize + DefaultBatchBytes, hard: wire.HeaderSize + wire.DefaultMaxFrame, count: MaxBatchEvents}
}

func BenchmarkBatchAppend(b *testing.B) {
	kinds, _ := newKindTable([]wire.EventKind{{Name: "tick"}, {Name: "tock"}})
	for _, size := range []int{64, 1024} {
		b.Run(fmt.Sprintf("%dB", size), func(b *testing.B) {
			payload := make([]byte, size)
			buf := make([]byte, batchPrefix, wire.HeaderSize+DefaultBatchBytes)
			batch := &Batch{limits: benchLimits(), kinds: kinds}
			batch.reset(buf)
			b.SetBytes(int64(wire.EventHeaderSize + size))
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				if err := batch.Append(0, 1, 0, payload); err != nil {
					batch.reset(buf)
					batch.Append(0, 1, 0, payload)
				}
			}
		})
	}
}

// ackingWriter stands for a host that acknowledges every batch as soon as
// it has it.
type ackingWriter struct{ out *outlet }

func (w *ackingWriter) Write(p []byte) (int, error) {
	pos, _ := w.out.position()
	w.out.ack(pos)
	return len(p), nil
}

// testInstance is a Run instance of kinds "tick" and "tock" writing to w,
// with a window of window batches, outside any session: no flusher runs.
func testInstance(w io.Writer, window int) *instance {
	kinds, _ := newKindTable([]wire.EventKind{{Name: "tick"}, {Name: "tock"}})
	s := &server{kinds: kinds, abort: make(chan struct{})}
	s.c = conn{w: w, max: wire.DefaultMaxFrame, lost: func(error) {}}
	in := &instance{s: s, id: 1, stopCh: make(chan struct{}), ready: make(chan struct{})}
	in.out = newOutlet(&s.c, wire.ProtocolVersion, 1, window, 0)
	in.em = newEmitter(in, kinds, benchLimits(), 0)
	return in
}

// benchSink is an EventSink whose batches go to an acknowledging writer.
func benchSink(b *testing.B) (EventSink, func()) {
	w := &ackingWriter{}
	in := testInstance(w, 8)
	w.out = in.out
	go in.em.flush(in.out, in.s.abort)
	return EventSink{in.em}, func() {
		in.em.stop()
		<-in.em.flushed
	}
}

func BenchmarkEventSinkEmit(b *testing.B) {
	for _, size := range []int{64, 1024} {
		payload := make([]byte, size)
		b.Run(fmt.Sprintf("%dB", size), func(b *testing.B) {
			sink, stop := benchSink(b)
			defer stop()
			b.SetBytes(int64(wire.EventHeaderSize + size))
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				if err := sink.EmitKind(0, 1, payload); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(fmt.Sprintf("%dB-now", size), func(b *testing.B) {
			sink, stop := benchSink(b)
			defer stop()
			b.SetBytes(int64(wire.EventHeaderSize + size))
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				if err := sink.EmitKind(0, 0, payload); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(fmt.Sprintf("%dB-parallel", size), func(b *testing.B) {
			sink, stop := benchSink(b)
			defer stop()
			b.SetBytes(int64(wire.EventHeaderSize + size))
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if err := sink.EmitKind(0, 1, payload); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}
