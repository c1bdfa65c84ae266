package sdk

import (
	"errors"
	"io"
	"os"
	"strings"
	"sync"
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

// TestRingBatchInPlaceYields checks the batch a streaming source encodes
// straight into the ring: a frame written meanwhile (a HEARTBEAT) leaves at
// the batch's next event instead of waiting for NextBatch to return, and
// every event still arrives once, in order.
func TestRingBatchInPlaceYields(t *testing.T) {
	const size = 4 * wire.RingMinSize // room for the second batch before the first is read
	ring, err := wire.InitRing(make([]byte, wire.RingMemSize(size)), size)
	if err != nil {
		t.Fatal(err)
	}
	toPlugin, hostOut, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	hostIn, fromPlugin, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer hostIn.Close()
	const heartbeat = 20 * time.Millisecond
	payload := make([]byte, 100)
	release := make(chan struct{})
	inRing := make(chan bool, 1)
	calls := 0
	p := Plugin{Spec: testSpec, Source: func(Open) (Source, error) {
		return sourceFunc(func(b *Batch) error {
			calls++
			switch calls {
			case 1: // a full batch, at once: the next one goes into the ring
				for b.Append(0, 1, 0, payload) == nil {
				}
			case 2: // one event, then slow: a HEARTBEAT is due meanwhile
				inRing <- b.inRing()
				b.Append(0, 1, 0, payload)
				time.Sleep(3 * heartbeat)
				b.Append(0, 1, 0, payload)
				<-release
			default:
				return ErrTimeout
			}
			return nil
		}), nil
	}}
	served := make(chan error, 1)
	go func() {
		served <- Serve(toPlugin, fromPlugin, p, ServeOptions{Ring: ring, Stderr: io.Discard})
		fromPlugin.Close()
		toPlugin.Close()
	}()
	var mu sync.Mutex
	send := func(t wire.MsgType, instance uint16, body []byte) {
		mu.Lock()
		defer mu.Unlock()
		hostOut.Write(append(wire.AppendHeader(nil, t, instance, len(body)), body...))
	}
	fr := wire.NewFrameReader(hostIn, wire.HelloMaxFrame)
	if h, _, err := fr.Next(); err != nil || h.Type != wire.MsgHello {
		t.Fatalf("first frame %s, %v; want HELLO", h.Type, err)
	}
	ack := defaultAck
	ack.HeartbeatMS = uint32(heartbeat / time.Millisecond)
	ack.Transport = wire.TransportRing
	send(wire.MsgHelloAck, 0, ack.AppendTo(nil))
	stopBeats := make(chan struct{})
	go func() {
		tick := time.NewTicker(heartbeat / 3)
		defer tick.Stop()
		for {
			select {
			case <-tick.C:
				send(wire.MsgHeartbeat, 0, (&wire.Heartbeat{}).AppendTo(nil))
			case <-stopBeats:
				return
			}
		}
	}()
	send(wire.MsgOpen, 1, (&wire.Request{ID: 1}).AppendTo(nil, wire.MsgOpen))

	fr = wire.NewFrameReader(wire.NewRingReader(ring, hostIn), wire.DefaultMaxFrame)
	var next uint64 = 1
	events := func(body []byte) {
		b, err := wire.ParseEvents(body, []string{testSpec.Events[0].Name}, wire.MsgEvents)
		if err != nil {
			t.Fatal(err)
		}
		if b.First() != next {
			t.Fatalf("batch starts at %d, want %d", b.First(), next)
		}
		next = b.Last() + 1
	}
	// Without the batch moving out of the ring, no HEARTBEAT could follow
	// the first batch before NextBatch returns, and this loop would wait
	// for good. Two, so that one written just before the batch took the
	// room does not count.
	batches, beats := 0, 0
	for batches < 2 {
		h, body, err := fr.Next()
		if err != nil {
			t.Fatalf("after %d batches: %v", batches, err)
		}
		switch h.Type {
		case wire.MsgEvents:
			events(body)
			batches++
			if batches == 2 && beats < 2 {
				t.Fatalf("second batch after %d HEARTBEATs, want it after NextBatch was released", beats)
			}
		case wire.MsgHeartbeat:
			if batches == 1 {
				if beats++; beats == 2 {
					close(release)
				}
			}
		}
	}
	if !<-inRing {
		t.Fatal("the batch after a full one was not encoded in the ring")
	}
	close(stopBeats)
	hostOut.Close()
	<-served
}

// TestSilentHost: a host that stops reading while a Run source floods a
// full ring or pipe, emitting and reporting progress from two goroutines,
// is declared dead after three heartbeat intervals, and Serve returns
// with that error instead of hanging on the blocked writes.
func TestSilentHost(t *testing.T) {
	for _, tc := range []struct {
		name           string
		ring, progress bool
	}{
		{"ring/emit", true, false},
		{"ring/emit+progress", true, true},
		{"pipe/emit", false, false},
		{"pipe/emit+progress", false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var ring *wire.Ring
			if tc.ring {
				var err error
				ring, err = wire.InitRing(make([]byte, wire.RingMemSize(wire.RingMinSize)), wire.RingMinSize)
				if err != nil {
					t.Fatal(err)
				}
			}
			toPlugin, hostOut, err := os.Pipe()
			if err != nil {
				t.Fatal(err)
			}
			hostIn, fromPlugin, err := os.Pipe()
			if err != nil {
				t.Fatal(err)
			}
			defer hostOut.Close()
			defer hostIn.Close()
			payload := make([]byte, 200)
			p := Plugin{Spec: testSpec, Run: func(o Open, sink EventSink, s *Session) error {
				if tc.progress {
					go func() {
						for sink.Progress(50, "half") == nil {
						}
					}()
				}
				for sink.EmitKind(0, 1, payload) == nil {
				}
				return nil
			}}
			served := make(chan error, 1)
			go func() {
				served <- Serve(toPlugin, fromPlugin, p, ServeOptions{Ring: ring, ShutdownTimeout: 200 * time.Millisecond, Stderr: io.Discard})
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
			ack.HeartbeatMS = 20
			if tc.ring {
				ack.Transport = wire.TransportRing
			}
			send(wire.MsgHelloAck, 0, ack.AppendTo(nil))
			send(wire.MsgOpen, 1, (&wire.Request{ID: 1}).AppendTo(nil, wire.MsgOpen))
			// From here on the host reads nothing and sends nothing.
			select {
			case err := <-served:
				var ee *ExitError
				if !errors.As(err, &ee) || ee.Code != ExitConnectionLost || !strings.Contains(err.Error(), "heartbeat") {
					t.Fatalf("Serve: %v, want the heartbeat timeout", err)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("Serve still running 10 s after the host went silent")
			}
		})
	}
}
