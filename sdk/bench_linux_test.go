package sdk

import (
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"testing"

	"github.com/plugctl/plugctl/wire"
)

var benchKinds = []string{"tick", "tock"}

// pipeHost is the host's end of a session served on OS pipes, as between
// two processes (the pipe the plugin writes is grown as Main grows it).
type pipeHost struct {
	b    *testing.B
	fr   *wire.FrameReader
	w    *os.File
	done chan error
}

func startPipe(b *testing.B, p Plugin) *pipeHost {
	toPlugin, hostW, err := os.Pipe()
	if err != nil {
		b.Fatal(err)
	}
	hostR, fromPlugin, err := os.Pipe()
	if err != nil {
		b.Fatal(err)
	}
	growPipe(int(fromPlugin.Fd()))
	h := &pipeHost{b: b, fr: wire.NewFrameReader(hostR, wire.MaxFrameLimit), w: hostW, done: make(chan error, 1)}
	go func() {
		h.done <- Serve(toPlugin, fromPlugin, p, ServeOptions{Stderr: io.Discard})
		toPlugin.Close()
		fromPlugin.Close()
	}()
	b.Cleanup(func() {
		hostW.Close()
		hostR.Close()
	})
	if _, _, err := h.fr.Next(); err != nil {
		b.Fatal(err)
	}
	h.send(wire.MsgHelloAck, 0, (&wire.HelloAck{Version: 1, MaxFrame: wire.DefaultMaxFrame, HeartbeatMS: 5000, Window: 8}).AppendTo(nil))
	return h
}

func (h *pipeHost) send(t wire.MsgType, instance uint16, body []byte) {
	if _, err := h.w.Write(append(wire.AppendHeader(nil, t, instance, len(body)), body...)); err != nil {
		h.b.Fatal(err)
	}
}

// finish says goodbye and checks Serve ended cleanly.
func (h *pipeHost) finish() {
	h.send(wire.MsgGoodbye, 0, (&wire.Goodbye{}).AppendTo(nil))
	for {
		hd, _, err := h.fr.Next()
		if err != nil || hd.Type == wire.MsgGoodbye {
			break
		}
	}
	if err := <-h.done; err != nil {
		h.b.Fatal(err)
	}
}

// BenchmarkServePipe measures the whole path: a Run source emitting through
// Serve into an OS pipe, read by a host that validates every batch, reads
// every event and acknowledges each batch. One op is one event.
func BenchmarkServePipe(b *testing.B) {
	for _, size := range []int{64, 1024} {
		b.Run(fmt.Sprintf("%dB", size), func(b *testing.B) {
			total := b.N
			payload := make([]byte, size)
			h := startPipe(b, Plugin{Spec: testSpec, Run: func(o Open, sink EventSink, s *Session) error {
				for range total {
					if err := sink.EmitKind(0, 1, payload); err != nil {
						return err
					}
				}
				return ErrEndOfStream
			}})
			b.SetBytes(int64(wire.EventHeaderSize + size))
			b.ReportAllocs()
			b.ResetTimer()
			h.send(wire.MsgOpen, 1, (&wire.Request{ID: 1}).AppendTo(nil, wire.MsgOpen))
			var e wire.Event
			ack := append(wire.AppendHeader(nil, wire.MsgAck, 1, 8), make([]byte, 8)...)
			received := 0
			for {
				hd, body, err := h.fr.Next()
				if err != nil {
					b.Fatal(err)
				}
				if hd.Type == wire.MsgEnd {
					break
				}
				if hd.Type != wire.MsgEvents {
					continue
				}
				batch, err := wire.ParseEvents(body, benchKinds, wire.MsgEvents)
				if err != nil {
					b.Fatal(err)
				}
				r := batch.Reader()
				for r.Next(&e) {
					received++
				}
				binary.LittleEndian.PutUint64(ack[wire.HeaderSize:], batch.Last())
				if _, err := h.w.Write(ack); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			if received != total {
				b.Fatalf("received %d events, want %d", received, total)
			}
			h.finish()
		})
	}
}

// BenchmarkServeLatency measures one event alone: from asking a Run source
// for it to the host having read it. One op is one event.
func BenchmarkServeLatency(b *testing.B) {
	emit := make(chan struct{})
	payload := make([]byte, 64)
	h := startPipe(b, Plugin{Spec: testSpec, Run: func(o Open, sink EventSink, s *Session) error {
		for {
			select {
			case <-emit:
			case <-s.Done():
				return nil
			}
			if err := sink.EmitKind(0, 0, payload); err != nil {
				return err
			}
		}
	}})
	h.send(wire.MsgOpen, 1, (&wire.Request{ID: 1}).AppendTo(nil, wire.MsgOpen))
	ack := append(wire.AppendHeader(nil, wire.MsgAck, 1, 8), make([]byte, 8)...)
	b.ResetTimer()
	for range b.N {
		emit <- struct{}{}
		for {
			hd, body, err := h.fr.Next()
			if err != nil {
				b.Fatal(err)
			}
			if hd.Type == wire.MsgEvents {
				copy(ack[wire.HeaderSize:], body[4:12]) // the one event's position
				if _, err := h.w.Write(ack); err != nil {
					b.Fatal(err)
				}
				break
			}
		}
	}
	b.StopTimer()
	h.finish()
}
