package wire

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"reflect"
	"testing"
)

var fuzzKinds = []string{"a", "b", "c"}

// decodeBody decodes a body as the message its header announces, the way
// either side of a session would.
func decodeBody(t MsgType, body []byte) error {
	switch t {
	case MsgHello:
		return new(Hello).Decode(body)
	case MsgHelloAck:
		return new(HelloAck).Decode(body)
	case MsgReject:
		return new(Reject).Decode(body)
	case MsgGoodbye:
		return new(Goodbye).Decode(body)
	case MsgError:
		return new(ErrorMsg).Decode(body)
	case MsgHeartbeat:
		return new(Heartbeat).Decode(body)
	case MsgSpecRequest, MsgSetup, MsgOpen, MsgStop, MsgClose:
		return new(Request).Decode(body, t)
	case MsgSpec:
		return new(SpecReply).Decode(body)
	case MsgReply:
		return new(Reply).Decode(body)
	case MsgAck:
		return new(Ack).Decode(body)
	case MsgProgress:
		return new(Progress).Decode(body)
	case MsgResult:
		return new(Result).Decode(body)
	case MsgEnd:
		// The layout follows the session's version: read it both ways.
		if err := new(End).Decode(body, 1); err != nil && !errors.Is(err, ErrMalformed) {
			return err
		}
		return new(End).Decode(body, EndStatusVersion)
	case MsgEvents:
		return readAll(body)
	case MsgWrite:
		if len(body) < 8 {
			return fmt.Errorf("%w: WRITE too short", ErrMalformed)
		}
		return readAll(body[8:])
	}
	return fmt.Errorf("no decoder for %s", t)
}

// readAll validates a batch and reads every event of it.
func readAll(body []byte) error {
	b, err := ParseEvents(body, fuzzKinds, MsgEvents)
	if err != nil {
		return err
	}
	n := 0
	var e Event
	for r := b.Reader(); r.Next(&e); n++ {
	}
	if n != b.Len() {
		return fmt.Errorf("read %d events of %d", n, b.Len())
	}
	return nil
}

// FuzzFrameReader feeds arbitrary bytes to the frame reader and decodes
// every frame by its type: no input may panic, and every error must say
// the bytes were malformed, too large, or ended.
func FuzzFrameReader(f *testing.F) {
	f.Add(append(AppendHeader(nil, MsgAck, 1, 8), make([]byte, 8)...))
	f.Add([]byte("not a frame at all"))
	f.Fuzz(func(t *testing.T, data []byte) {
		fr := NewFrameReader(bytes.NewReader(data), HelloMaxFrame)
		for {
			h, body, err := fr.Next()
			if err != nil {
				if err != io.EOF && !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrFrameTooLarge) {
					t.Fatalf("reader error %v wraps neither ErrMalformed, ErrFrameTooLarge nor io.EOF", err)
				}
				return
			}
			if int(h.Size) != len(body) {
				t.Fatalf("header says %d bytes, body has %d", h.Size, len(body))
			}
			if err := decodeBody(h.Type, body); err != nil && !errors.Is(err, ErrMalformed) {
				t.Fatalf("%s decode error %v does not wrap ErrMalformed", h.Type, err)
			}
		}
	})
}

// FuzzParseEvents checks that a batch ParseEvents accepts reads back whole,
// and that encoding what was read gives a batch that reads the same.
func FuzzParseEvents(f *testing.F) {
	body := binary.LittleEndian.AppendUint32(nil, 2)
	body = AppendEvent(body, 1, 2, 0, []byte("x"), nil)
	body = AppendEvent(body, 3, 4, 2, nil, map[string]string{"k": "v"})
	f.Add(body)
	f.Fuzz(func(t *testing.T, body []byte) {
		first := readEvents(t, body)
		if first == nil {
			return
		}
		again := binary.LittleEndian.AppendUint32(nil, uint32(len(first)))
		for _, e := range first {
			again = AppendEvent(again, e.Position, e.Time, uint16(slicesIndex(fuzzKinds, e.Kind)), e.Payload, e.Metadata)
		}
		second := readEvents(t, again)
		if !reflect.DeepEqual(first, second) {
			t.Fatalf("re-encoded batch reads differently:\n%+v\n%+v", first, second)
		}
	})
}

// readEvents returns the events of a valid batch, with empty metadata as
// nil (an empty block and none mean the same); nil for an invalid batch.
func readEvents(t *testing.T, body []byte) []Event {
	b, err := ParseEvents(body, fuzzKinds, MsgEvents)
	if err != nil {
		if !errors.Is(err, ErrMalformed) {
			t.Fatalf("error %v does not wrap ErrMalformed", err)
		}
		return nil
	}
	var out []Event
	var e Event
	for r := b.Reader(); r.Next(&e); {
		if len(e.Metadata) == 0 {
			e.Metadata = nil
		}
		e.Payload = bytes.Clone(e.Payload)
		if e.Payload == nil {
			e.Payload = []byte{}
		}
		out = append(out, e)
	}
	if len(out) != b.Len() || out[0].Position != b.First() || out[len(out)-1].Position != b.Last() {
		t.Fatalf("read %d events (%d…%d), batch says %d (%d…%d)", len(out), out[0].Position, out[len(out)-1].Position, b.Len(), b.First(), b.Last())
	}
	return out
}
