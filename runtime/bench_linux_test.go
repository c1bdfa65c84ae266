package runtime

import (
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"testing"
)

// BenchmarkServePipe measures the whole path: a Run source emitting through
// Serve into an OS pipe, read by a host that validates every batch, reads
// every event and acknowledges. One op is one event.
func BenchmarkServePipe(b *testing.B) {
	for _, size := range []int{64, 1024} {
		b.Run(fmt.Sprintf("%dB", size), func(b *testing.B) {
			benchServe(b, size)
		})
	}
}

func benchServe(b *testing.B, size int) {
	toPlugin, hostW, err := os.Pipe()
	if err != nil {
		b.Fatal(err)
	}
	hostR, fromPlugin, err := os.Pipe()
	if err != nil {
		b.Fatal(err)
	}
	defer hostW.Close()
	defer hostR.Close()
	growPipe(int(fromPlugin.Fd()))
	total := b.N
	payload := make([]byte, size)
	p := Plugin{Spec: testSpec, Run: func(o Open, sink EventSink, s *Session) error {
		for range total {
			if err := sink.EmitKind(0, 1, payload); err != nil {
				return err
			}
		}
		return ErrEndOfStream
	}}
	done := make(chan error, 1)
	go func() {
		done <- Serve(toPlugin, fromPlugin, p, ServeOptions{Stderr: io.Discard})
		toPlugin.Close()
		fromPlugin.Close()
	}()
	fr := NewFrameReader(hostR, MaxFrameLimit)
	send := func(t MsgType, instance uint16, body []byte) {
		if _, err := hostW.Write(append(AppendHeader(nil, t, instance, len(body)), body...)); err != nil {
			b.Fatal(err)
		}
	}
	if _, _, err := fr.Next(); err != nil {
		b.Fatal(err)
	}
	send(MsgHelloAck, 0, (&HelloAck{Version: 1, MaxFrame: DefaultMaxFrame, HeartbeatMS: 5000, Window: 8}).AppendTo(nil))
	b.SetBytes(int64(EventHeaderSize + size))
	b.ReportAllocs()
	b.ResetTimer()
	send(MsgOpen, 1, (&Request{ID: 1}).AppendTo(nil, MsgOpen))
	var e Event
	ackBuf := AppendHeader(nil, MsgAck, 1, 8)
	ackBuf = append(ackBuf, make([]byte, 8)...)
	received := 0
	for {
		h, body, err := fr.Next()
		if err != nil {
			b.Fatal(err)
		}
		if h.Type == MsgEnd {
			break
		}
		if h.Type != MsgEvents {
			continue
		}
		batch, err := ParseEvents(body, benchKinds, MsgEvents)
		if err != nil {
			b.Fatal(err)
		}
		for r := batch.Reader(); r.Next(&e); {
			received++
		}
		binary.LittleEndian.PutUint64(ackBuf[HeaderSize:], batch.Last())
		if _, err := hostW.Write(ackBuf); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	if received != total {
		b.Fatalf("received %d events, want %d", received, total)
	}
	send(MsgGoodbye, 0, (&Goodbye{}).AppendTo(nil))
	for {
		h, _, err := fr.Next()
		if err != nil || h.Type == MsgGoodbye {
			break
		}
	}
	if err := <-done; err != nil {
		b.Fatal(err)
	}
}
