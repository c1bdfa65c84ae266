package wire

import (
	"encoding/binary"
	"fmt"
	"testing"
)

var benchKinds = []string{"tick", "tock"}

// benchBatchBytes is the body of a batch as the SDK cuts them for a pipe:
// sdk.DefaultBatchBytes.
const benchBatchBytes = 60<<10 - HeaderSize

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
			n := (benchBatchBytes - 4) / (EventHeaderSize + size)
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
