package sdk

import (
	"encoding/binary"
	"fmt"
	"testing"
)

var benchKinds = []string{"tick", "tock"}

func BenchmarkAppendEvent(b *testing.B) {
	for _, size := range []int{64, 1024} {
		b.Run(fmt.Sprintf("%dB", size), func(b *testing.B) {
			payload := make([]byte, size)
			buf := make([]byte, 0, 64<<10)
			b.SetBytes(int64(EventHeaderSize + size))
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				if len(buf)+EventHeaderSize+size > cap(buf) {
					buf = buf[:0]
				}
				buf = AppendEvent(buf, uint64(i), 1, 0, payload, nil)
			}
		})
	}
}

// benchBatch encodes n events of size bytes as an EVENTS body.
func benchBatch(n, size int) []byte {
	body := binary.LittleEndian.AppendUint32(nil, uint32(n))
	payload := make([]byte, size)
	for i := range n {
		body = AppendEvent(body, uint64(i+1), 1, uint16(i%2), payload, nil)
	}
	return body
}

// BenchmarkParseEvents measures the host's side of a batch: validating it,
// then reading every event. One op is one event.
func BenchmarkParseEvents(b *testing.B) {
	for _, size := range []int{64, 1024} {
		b.Run(fmt.Sprintf("%dB", size), func(b *testing.B) {
			n := (DefaultBatchBytes - 4) / (EventHeaderSize + size)
			body := benchBatch(n, size)
			b.SetBytes(int64(EventHeaderSize + size))
			b.ReportAllocs()
			var e Event
			for done := 0; done < b.N; {
				batch, err := ParseEvents(body, benchKinds, MsgEvents)
				if err != nil {
					b.Fatal(err)
				}
				r := batch.Reader()
				for r.Next(&e) && done < b.N {
					done++
				}
			}
		})
	}
}

func benchLimits() batchLimits {
	return batchLimits{soft: HeaderSize + DefaultBatchBytes, hard: HeaderSize + DefaultMaxFrame, count: MaxBatchEvents}
}

func BenchmarkBatchAppend(b *testing.B) {
	kinds, _ := newKindTable([]EventKind{{Name: "tick"}, {Name: "tock"}})
	for _, size := range []int{64, 1024} {
		b.Run(fmt.Sprintf("%dB", size), func(b *testing.B) {
			payload := make([]byte, size)
			buf := make([]byte, batchPrefix, HeaderSize+DefaultBatchBytes)
			batch := &Batch{limits: benchLimits(), kinds: kinds}
			batch.reset(buf)
			b.SetBytes(int64(EventHeaderSize + size))
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

// benchSink is an EventSink whose batches go to an acknowledging writer.
func benchSink(b *testing.B) (EventSink, func()) {
	kinds, _ := newKindTable([]EventKind{{Name: "tick"}, {Name: "tock"}})
	s := &server{kinds: kinds, abort: make(chan struct{})}
	w := &ackingWriter{}
	s.c = conn{w: w, max: DefaultMaxFrame, lost: func(error) {}}
	in := &instance{s: s, id: 1, stopCh: make(chan struct{}), ready: make(chan struct{})}
	in.out = newOutlet(&s.c, 1, 8, 0)
	w.out = in.out
	in.em = newEmitter(in, kinds, benchLimits(), 0)
	go in.em.flush(in.out, s.abort)
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
			b.SetBytes(int64(EventHeaderSize + size))
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
			b.SetBytes(int64(EventHeaderSize + size))
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
			b.SetBytes(int64(EventHeaderSize + size))
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
