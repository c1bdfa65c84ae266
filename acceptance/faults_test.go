package acceptance

import (
	"errors"
	"slices"
	"testing"

	"github.com/plugctl/plugctl/internal/hostwire"
	"github.com/plugctl/plugctl/wire"
)

// TestCutsFollowTheLayout: the cuts of a body are at the start of each of
// its fields and inside each field of two bytes or more, as wire's
// decoder reads it; where a list's count leaves too few bytes for its
// first item, right after the count and inside that item.
func TestCutsFollowTheLayout(t *testing.T) {
	body := (&wire.Request{ID: 1, Settings: map[string]string{"k": "v"}, HasResume: true, Resume: 7}).AppendTo(nil, wire.MsgOpen)
	var got []int
	for _, c := range cuts(body, func(b []byte) error { return new(wire.Request).Decode(b, wire.MsgOpen) }) {
		got = append(got, c.n)
	}
	// request id 0-3, count 4-7, the pair (key length, key, value length,
	// value) 8-17 with its count check up to 15, has_resume 18, resume 19-26.
	want := []int{0, 2, 4, 6, 8, 12, 16, 17, 18, 19, 23}
	if !slices.Equal(got, want) {
		t.Errorf("cuts of OPEN at %v, want %v", got, want)
	}
}

// TestEveryHostMessageIsCut: faults/truncated cuts every message a host
// sends: those the raw host's decoder refuses from a plugin, and those
// both sides send.
func TestEveryHostMessageIsCut(t *testing.T) {
	for i := range 256 {
		typ := wire.MsgType(i)
		if !typ.Known() {
			continue
		}
		_, err := hostwire.Decode(wire.Header{Type: typ}, nil, wire.ProtocolVersion, nil)
		both := typ == wire.MsgGoodbye || typ == wire.MsgError || typ == wire.MsgHeartbeat
		if !errors.Is(err, hostwire.ErrHostOnly) && !both {
			continue
		}
		if !slices.ContainsFunc(layouts, func(l layout) bool { return l.typ == typ }) {
			t.Errorf("%s, which a host sends, has no layout in faults/truncated", typ)
		}
	}
}
