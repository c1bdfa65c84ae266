package sdk

import (
	"encoding/binary"
	"errors"
	"fmt"
	"slices"

	"github.com/plugctl/plugctl/wire"
)

func (s *server) handshake() bool {
	h, body, err := s.fr.Next()
	if err != nil {
		s.readFailed(err)
		return false
	}
	switch h.Type {
	case wire.MsgHelloAck:
		// The chosen version decides the rest of the body's layout, so it
		// is checked first (PROTOCOL.md §9 step 3): a version this plugin
		// did not offer is unexpected, whatever follows it.
		if len(body) >= 2 {
			if v := binary.LittleEndian.Uint16(body); !slices.Contains(s.opts.Versions, v) {
				s.violation(protoError{wire.ErrCodeUnexpected, fmt.Errorf("HELLO_ACK chose protocol version %d; this plugin offered %v", v, s.opts.Versions)})
				return false
			}
		}
		var ack wire.HelloAck
		if err := ack.Decode(body); err != nil {
			s.violation(err)
			return false
		}
		if ack.Transport == wire.TransportRing && s.opts.Ring == nil {
			s.violation(protoError{wire.ErrCodeUnexpected, errors.New("HELLO_ACK chose the ring transport, but the host offered no ring")})
			return false
		}
		if ack.InputTransport == wire.TransportRing && s.opts.InputRing == nil {
			s.violation(protoError{wire.ErrCodeUnexpected, errors.New("HELLO_ACK chose the input ring, but the host offered none")})
			return false
		}
		s.ack = ack
		batch := s.opts.BatchBytes
		if ack.Transport == wire.TransportRing {
			batch = max(batch, ringBatchBytes(s.opts.Ring))
		}
		s.limits = batchLimits{
			soft:  wire.HeaderSize + min(batch, int(ack.MaxFrame)),
			hard:  wire.HeaderSize + int(ack.MaxFrame),
			count: MaxBatchEvents,
		}
		s.fr.SetMax(ack.MaxFrame)
		if ack.InputTransport == wire.TransportRing {
			// The host's next frame is at byte 0 of the input ring; what
			// follows HELLO_ACK on the stream, buffered or not, is
			// doorbells.
			s.fr = wire.NewFrameReader(wire.NewRingReader(s.opts.InputRing, s.in), ack.MaxFrame)
		}
		s.c.mu.Lock()
		s.c.max = int(ack.MaxFrame)
		if ack.Transport == wire.TransportRing {
			// Not s.abort: the last frames (GOODBYE, ERROR) are written
			// after it closes, each bounded by its own timer.
			s.c.ring = wire.NewRingWriter(s.opts.Ring, s.c.w, s.finished)
			s.c.w = s.c.ring
		}
		s.c.mu.Unlock()
		close(s.welcomed)
		return true
	case wire.MsgReject:
		var rj wire.Reject
		if err := rj.Decode(body); err != nil {
			s.violation(err)
			return false
		}
		err := fmt.Errorf("plugin rejected by host: %s: %s", rj.Reason, rj.Message)
		s.logf("%v", err)
		s.end(outcome{code: ExitRejected, err: err})
	case wire.MsgError:
		s.hostError(body)
	default:
		s.violation(protoError{wire.ErrCodeUnexpected, fmt.Errorf("%s frame before the handshake was answered; want HELLO_ACK or REJECT", h.Type)})
	}
	return false
}
