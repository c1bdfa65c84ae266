package sdk

import (
	"math"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"
	"unsafe"

	"github.com/plugctl/plugctl/wire"
)

// newInputRing lays out an input ring of the smallest size in ordinary
// memory, as a host lays one out in shared memory, and returns it with
// that memory.
func newInputRing(t *testing.T) (*wire.Ring, []byte) {
	t.Helper()
	mem := make([]byte, wire.RingMemSize(wire.RingMinSize))
	r, err := wire.InitRing(mem, wire.RingMinSize)
	if err != nil {
		t.Fatal(err)
	}
	return r, mem
}

// inputRingAck is defaultAck choosing the input ring.
func inputRingAck() wire.HelloAck {
	ack := defaultAck
	ack.InputTransport = wire.TransportRing
	return ack
}

// startInputRing runs Serve for p with an input ring and accepts it with
// ack, which chooses the ring: every frame after HELLO_ACK goes into it.
func startInputRing(t *testing.T, p Plugin, ack wire.HelloAck) (*fakeHost, []byte) {
	t.Helper()
	ring, mem := newInputRing(t)
	h := startPlugin(t, p, ServeOptions{InputRing: ring})
	h.handshake(ack)
	return h, mem
}

// TestServeInputRingSink: a sink's requests and WRITEs come through the
// input ring, WRITEs larger than the whole ring included, and are
// answered in order, as on the stream.
func TestServeInputRingSink(t *testing.T) {
	snk := &recordSink{}
	ack := inputRingAck()
	ack.Window = 4
	h, _ := startInputRing(t, Plugin{Spec: testSpec, Sink: func(Open) (Sink, error) { return snk, nil }}, ack)
	if !slices.Equal(h.hello.Versions, []uint16{1, 2, 3, 4}) {
		t.Fatalf("HELLO offers versions %v, want [1 2 3 4]", h.hello.Versions)
	}
	h.open(1, nil)
	big := "ok-big-" + strings.Repeat("x", 3*wire.RingMinSize)
	h.send(wire.MsgWrite, 1, writeBody(10, 1, "ok-1", "ok-2"))
	h.send(wire.MsgWrite, 1, writeBody(11, 3, "retry-3"))
	h.send(wire.MsgWrite, 1, writeBody(12, 4, big))
	h.send(wire.MsgWrite, 1, writeBody(13, 5, "ok-5"))
	for _, w := range []wire.Result{
		{Batch: 10, Status: wire.WriteOK},
		{Batch: 11, Status: wire.WriteRetry, Message: "retry: backend busy"},
		{Batch: 12, Status: wire.WriteOK},
		{Batch: 13, Status: wire.WriteOK},
	} {
		var got wire.Result
		if err := got.Decode(h.expect(wire.MsgResult).body); err != nil || got != w {
			t.Fatalf("RESULT %+v (%v), want %+v", got, err, w)
		}
	}
	if r := h.request(wire.MsgStop, 1, wire.Request{}); r.Status != wire.StatusOK || r.Position != 5 {
		t.Fatalf("STOP reply %+v, want ok at position 5", r)
	}
	h.send(wire.MsgGoodbye, 0, (&wire.Goodbye{}).AppendTo(nil))
	h.expect(wire.MsgGoodbye)
	h.wantExit(ExitOK, "")
	snk.mu.Lock()
	defer snk.mu.Unlock()
	if got := strings.Join(snk.written, " "); got != "ok-1 ok-2 retry-3 "+big+" ok-5" {
		t.Fatalf("sink wrote %.80q…", got)
	}
}

// TestServeInputRingSource: a plugin of either role takes the input ring
// the host chose: a source's ACKs come through it.
func TestServeInputRingSource(t *testing.T) {
	src := &countSource{n: 5000, per: 100}
	h, _ := startInputRing(t, Plugin{Spec: testSpec, Source: func(Open) (Source, error) { return src, nil }}, inputRingAck())
	h.open(1, nil)
	events, end := h.receiveUntilEnd(1)
	checkPositions(t, events, 1, 5000)
	if end.Position != 5000 {
		t.Fatalf("END at %d, want 5000", end.Position)
	}
}

// TestServeInputRingHeartbeats: the host's heartbeats come through the
// input ring while the plugin sleeps on its doorbell; a plugin that missed
// them would declare the host silent after three intervals.
func TestServeInputRingHeartbeats(t *testing.T) {
	ack := inputRingAck()
	ack.HeartbeatMS = 50
	h, _ := startInputRing(t, Plugin{Spec: testSpec, Run: func(o Open, sink EventSink, s *Session) error { s.Wait(); return nil }}, ack)
	select {
	case err := <-h.result:
		t.Fatalf("Serve returned %v while the host heartbeat; stderr:\n%s", err, h.stderr)
	case <-time.After(500 * time.Millisecond):
	}
	h.send(wire.MsgGoodbye, 0, (&wire.Goodbye{}).AppendTo(nil))
	h.expect(wire.MsgGoodbye)
	h.wantExit(ExitOK, "")
}

// TestServeInputRingHostGone: a host that dies ends the plugin's session
// as on a stream, through the end of its doorbell stream: inside a WRITE
// (half of it in the ring) as a broken frame, between frames as the end
// of the connection. Either way the plugin exits 3 without hanging.
func TestServeInputRingHostGone(t *testing.T) {
	for _, tc := range []struct {
		name string
		cut  int // bytes of the WRITE frame in the ring; 0: none
		text string
	}{
		{"inside a WRITE", 3000, "stream ended inside a 6016-byte WRITE body"},
		{"between frames", 0, "the host closed the connection (EOF)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h, _ := startInputRing(t, Plugin{Spec: testSpec, Sink: func(Open) (Sink, error) { return &recordSink{}, nil }}, inputRingAck())
			h.open(1, nil)
			h.stopHeartbeats()
			if tc.cut > 0 {
				body := writeBody(1, 1, "ok"+strings.Repeat("x", 5978))
				h.sendRaw(append(wire.AppendHeader(nil, wire.MsgWrite, 1, len(body)), body...)[:tc.cut])
			}
			h.w.Close() // the host's end of the plugin's input, as when it dies
			h.wantExit(ExitConnectionLost, tc.text)
		})
	}
}

// TestServeInputRingBroken: a host that breaks the input ring is a
// protocol violation: the plugin says why with ERROR and exits 4.
func TestServeInputRingBroken(t *testing.T) {
	for _, tc := range []struct {
		name      string
		breakRing func(h *fakeHost, mem []byte)
		code      wire.ErrorCode
		text      string
	}{
		{"head past the ring", func(h *fakeHost, mem []byte) {
			head := (*atomic.Uint64)(unsafe.Pointer(&mem[64]))
			head.Store(head.Load() + 3*wire.RingMinSize)
			h.w.Write([]byte{0}) // a doorbell, should the plugin sleep
		}, wire.ErrCodeMalformed, "shared ring corrupt"},
		{"head wrapped below the tail", func(h *fakeHost, mem []byte) {
			(*atomic.Uint64)(unsafe.Pointer(&mem[64])).Store(math.MaxUint64)
			h.w.Write([]byte{0})
		}, wire.ErrCodeMalformed, "shared ring corrupt"},
		{"a frame on the stream", func(h *fakeHost, mem []byte) {
			h.w.Write(append(wire.AppendHeader(nil, wire.MsgHeartbeat, 0, 8), make([]byte, 8)...))
		}, wire.ErrCodeMalformed, "only 0x00 doorbells may follow"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h, mem := startInputRing(t, Plugin{Spec: testSpec, Sink: func(Open) (Sink, error) { return &recordSink{}, nil }}, inputRingAck())
			h.open(1, nil)
			h.stopHeartbeats()
			h.wmu.Lock()
			tc.breakRing(h, mem)
			h.wmu.Unlock()
			var e wire.ErrorMsg
			if err := e.Decode(h.expect(wire.MsgError).body); err != nil || e.Code != tc.code {
				t.Fatalf("ERROR %+v (%v), want %s", e, err, tc.code)
			}
			h.wantExit(ExitProtocolViolation, tc.text)
		})
	}
}

// TestServeInputRingNotOffered: a HELLO_ACK choosing an input ring the
// plugin was not given is refused before anything moves.
func TestServeInputRingNotOffered(t *testing.T) {
	h := startPlugin(t, Plugin{Spec: testSpec, Sink: func(Open) (Sink, error) { return &recordSink{}, nil }}, ServeOptions{})
	h.handshake(inputRingAck())
	var e wire.ErrorMsg
	if err := e.Decode(h.expect(wire.MsgError).body); err != nil || e.Code != wire.ErrCodeUnexpected {
		t.Fatalf("ERROR %+v (%v), want unexpected", e, err)
	}
	h.wantExit(ExitProtocolViolation, "HELLO_ACK chose the input ring, but the host offered none")
}
