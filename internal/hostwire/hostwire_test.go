package hostwire

import (
	"errors"
	"testing"
	"time"

	"github.com/plugctl/plugctl/wire"
)

func TestDecode(t *testing.T) {
	body := (&wire.Reply{ID: 7, Status: wire.StatusOK}).AppendTo(nil)
	m, err := Decode(wire.Header{Type: wire.MsgReply}, body, wire.ProtocolVersion, nil)
	if r, ok := m.(*wire.Reply); err != nil || !ok || r.ID != 7 {
		t.Errorf("REPLY decoded as %#v, %v", m, err)
	}
	if _, err := Decode(wire.Header{Type: wire.MsgAck}, nil, wire.ProtocolVersion, nil); !errors.Is(err, ErrHostOnly) {
		t.Errorf("ACK from a plugin: %v, want ErrHostOnly", err)
	}
	if _, err := Decode(wire.Header{Type: wire.MsgReply}, body[:3], wire.ProtocolVersion, nil); err == nil || errors.Is(err, ErrHostOnly) {
		t.Errorf("truncated REPLY: %v, want the body's error", err)
	}
}

func TestHeartbeats(t *testing.T) {
	stop := make(chan struct{})
	frames := make(chan []byte)
	go func() {
		Heartbeats(time.Millisecond, stop, func(f []byte) error { frames <- f; return nil })
		close(frames)
	}()
	f := <-frames
	h, err := wire.ParseHeader(f, wire.HelloMaxFrame)
	var m wire.Heartbeat
	if err != nil || h.Type != wire.MsgHeartbeat || m.Decode(f[wire.HeaderSize:]) != nil || m.UnixNano == 0 {
		t.Fatalf("sent %x (%v)", f, err)
	}
	close(stop)
	for range frames { // at most one more, sent before stop was seen
	}
}
