package hostwire

import (
	"errors"
	"fmt"

	"github.com/plugctl/plugctl/wire"
)

// ErrHostOnly is wrapped when a plugin sends a message only a host may send.
var ErrHostOnly = errors.New("only a host may send this message")

// Decode decodes the body of a frame a plugin sent, by its type and,
// where the layout depends on it, by the session's version: a *wire.Hello,
// *wire.SpecReply, *wire.Reply, *wire.Result, *wire.Progress, *wire.End,
// *wire.Goodbye, *wire.ErrorMsg or *wire.Heartbeat, or for EVENTS the
// batch's events as []wire.Event, copied out of body with kinds, the
// table of the plugin's HELLO. A host-only message is an error wrapping
// ErrHostOnly; any other error is the body's.
func Decode(h wire.Header, body []byte, version uint16, kinds []string) (any, error) {
	var m interface{ Decode([]byte) error }
	switch h.Type {
	case wire.MsgHello:
		m = new(wire.Hello)
	case wire.MsgSpec:
		m = new(wire.SpecReply)
	case wire.MsgReply:
		m = new(wire.Reply)
	case wire.MsgResult:
		m = new(wire.Result)
	case wire.MsgProgress:
		m = new(wire.Progress)
	case wire.MsgEnd:
		var end wire.End
		if err := end.Decode(body, version); err != nil {
			return nil, err
		}
		return &end, nil
	case wire.MsgGoodbye:
		m = new(wire.Goodbye)
	case wire.MsgError:
		m = new(wire.ErrorMsg)
	case wire.MsgHeartbeat:
		m = new(wire.Heartbeat)
	case wire.MsgEvents:
		return copyEvents(body, kinds)
	default:
		return nil, fmt.Errorf("plugin sent %s, which only a host may send: %w", h.Type, ErrHostOnly)
	}
	if err := m.Decode(body); err != nil {
		return nil, err
	}
	return m, nil
}

// copyEvents decodes a batch into events of their own, since body is
// reused for the next frame.
func copyEvents(body []byte, kinds []string) ([]wire.Event, error) {
	b, err := wire.ParseEvents(body, kinds, wire.MsgEvents)
	if err != nil {
		return nil, err
	}
	evs := make([]wire.Event, 0, b.Len())
	r := b.Reader()
	var e wire.Event
	for r.Next(&e) {
		e.Payload = append([]byte(nil), e.Payload...)
		evs = append(evs, e)
	}
	return evs, nil
}
