package sdk

import (
	"io"
	"os"
	"testing"
	"time"

	"github.com/plugctl/plugctl/wire"
)

// TestRingGoodbyeAfterFullRing: a plugin shutting down on a signal while
// its ring is full still gets its GOODBYE through once the host reads
// again, even after the drain timeout has passed: the frame being written
// is finished, not cut off, and the session ends cleanly.
func TestRingGoodbyeAfterFullRing(t *testing.T) {
	ring, err := wire.InitRing(make([]byte, wire.RingMemSize(wire.RingMinSize)), wire.RingMinSize)
	if err != nil {
		t.Fatal(err)
	}
	toPlugin, hostOut, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	hostIn, fromPlugin, err := os.Pipe() // HELLO, then doorbells
	if err != nil {
		t.Fatal(err)
	}
	defer hostOut.Close()
	defer hostIn.Close()
	payload := make([]byte, 1000)
	p := Plugin{Spec: testSpec, Source: func(Open) (Source, error) {
		return sourceFunc(func(b *Batch) error {
			for b.Append(0, 1, 0, payload) == nil {
			}
			return nil
		}), nil
	}}
	const drain = 300 * time.Millisecond
	signals := make(chan os.Signal, 1)
	served := make(chan error, 1)
	go func() {
		served <- Serve(toPlugin, fromPlugin, p, ServeOptions{Ring: ring, Signals: signals, ShutdownTimeout: drain, Stderr: io.Discard})
		fromPlugin.Close()
		toPlugin.Close()
	}()
	send := func(t wire.MsgType, instance uint16, body []byte) {
		hostOut.Write(append(wire.AppendHeader(nil, t, instance, len(body)), body...))
	}
	fr := wire.NewFrameReader(hostIn, wire.HelloMaxFrame)
	if h, _, err := fr.Next(); err != nil || h.Type != wire.MsgHello {
		t.Fatalf("first frame %s, %v; want HELLO", h.Type, err)
	}
	ack := defaultAck
	ack.HeartbeatMS = 60_000 // the host reads nothing for a while
	ack.Transport = wire.TransportRing
	send(wire.MsgHelloAck, 0, ack.AppendTo(nil))
	send(wire.MsgOpen, 1, (&wire.Request{ID: 1}).AppendTo(nil, wire.MsgOpen))

	time.Sleep(100 * time.Millisecond) // the source fills the ring and waits
	signals <- os.Interrupt
	time.Sleep(drain + 100*time.Millisecond) // past the drain timeout: the session is aborting

	fr = wire.NewFrameReader(wire.NewRingReader(ring, hostIn), wire.DefaultMaxFrame)
	var types []wire.MsgType
	for {
		h, _, err := fr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("after %d frames: %v", len(types), err)
		}
		if len(types) == 0 || types[len(types)-1] != h.Type {
			types = append(types, h.Type)
		}
	}
	if len(types) == 0 || types[len(types)-1] != wire.MsgGoodbye {
		t.Fatalf("frames %v, want GOODBYE last", types)
	}
	if err := <-served; err != nil {
		t.Fatalf("Serve: %v, want a clean end", err)
	}
}
