package sdk

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/plugctl/plugctl/wire"
)

func TestBatch(t *testing.T) {
	kinds, err := newKindTable([]wire.EventKind{{Name: "a"}, {Name: "b"}})
	if err != nil {
		t.Fatal(err)
	}
	limits := batchLimits{soft: batchPrefix + 3*(wire.EventHeaderSize+10), hard: batchPrefix + 1000, count: 100}
	b := &Batch{last: 10, limits: limits, kinds: kinds}
	b.reset(make([]byte, batchPrefix, 64))
	if k, ok := b.Kind("b"); !ok || k != 1 {
		t.Fatalf("Kind(b) = %d, %v", k, ok)
	}
	if err := b.Add(wire.Event{Kind: "c"}); err == nil || !strings.Contains(err.Error(), `unknown event kind "c": Spec.Events declares a, b`) {
		t.Fatalf("unknown kind: %v", err)
	}
	if err := b.Append(0, 0, 2, nil); err == nil {
		t.Fatal("kind 2 accepted")
	}
	if err := b.Append(10, 0, 0, nil); err == nil || !strings.Contains(err.Error(), "position 10 does not follow 10") {
		t.Fatalf("position not increasing: %v", err)
	}
	if err := b.Add(wire.Event{Position: 0, Kind: "b", Payload: make([]byte, 10)}); err != nil {
		t.Fatal(err)
	}
	if err := b.Append(20, 5, 0, make([]byte, 10)); err != nil {
		t.Fatal(err)
	}
	if b.Full() {
		t.Fatal("full after 2 of 3 events")
	}
	if err := b.Append(0, 0, 0, make([]byte, 10)); err != nil {
		t.Fatal(err)
	}
	if !b.Full() || b.Len() != 3 {
		t.Fatalf("Full %v Len %d after 3 events", b.Full(), b.Len())
	}
	if err := b.Append(0, 0, 0, nil); err != ErrBatchFull {
		t.Fatalf("on a full batch: %v", err)
	}
	sealBatch(b.buf, 4, b.n)
	ev, err := wire.ParseEvents(b.buf[wire.HeaderSize:], kinds.names, wire.MsgEvents)
	if err != nil {
		t.Fatal(err)
	}
	r := ev.Reader()
	var positions []uint64
	var e wire.Event
	for r.Next(&e) {
		positions = append(positions, e.Position)
		if e.Time == 0 {
			t.Fatalf("event %d has no time", e.Position)
		}
	}
	if !reflect.DeepEqual(positions, []uint64{11, 20, 21}) {
		t.Fatalf("positions %v, want [11 20 21]", positions)
	}

	// An event over the soft budget travels alone; over the hard limit, never.
	b.reset(b.buf)
	if err := b.Append(0, 0, 0, make([]byte, 500)); err != nil {
		t.Fatalf("big event alone: %v", err)
	}
	if err := b.Append(0, 0, 0, nil); err != ErrBatchFull {
		t.Fatalf("after a big event: %v", err)
	}
	b.reset(b.buf)
	if err := b.Append(0, 0, 0, make([]byte, 1000)); !errors.Is(err, ErrEventTooLarge) {
		t.Fatalf("event over the frame limit: %v", err)
	}
}

// TestEventSize: eventSize is exactly what wire.AppendEvent writes. A batch
// encoded in the ring's room relies on it: an event it under-counted would
// be appended past the room, out of the ring.
func TestEventSize(t *testing.T) {
	for _, c := range []struct {
		payload []byte
		meta    map[string]string
	}{
		{nil, nil},
		{[]byte("x"), nil},
		{make([]byte, 1000), map[string]string{}},
		{[]byte("abc"), map[string]string{"k": "v"}},
		{nil, map[string]string{"": "", "key": strings.Repeat("v", 300), "ünïcode": "✓"}},
	} {
		got := len(wire.AppendEvent(nil, 7, 1, 0, c.payload, c.meta))
		if want := eventSize(c.payload, c.meta); got != want {
			t.Errorf("payload %d bytes, metadata %v: AppendEvent wrote %d bytes, eventSize says %d", len(c.payload), c.meta, got, want)
		}
	}
}
