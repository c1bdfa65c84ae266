package wire

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"io"
	"math"
	"reflect"
	"strings"
	"testing"
)

// unhex decodes hex written with spaces for legibility.
func unhex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.Join(strings.Fields(s), ""))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestGolden pins the wire format. The expected bytes are written out by
// hand from the layout in docs/PROTOCOL.md: header = size u32, type u8,
// flags u8, instance u16; all integers little-endian; strings as u32 length
// and bytes; lists as u32 count and items.
func TestGolden(t *testing.T) {
	frame := func(typ MsgType, instance uint16, body []byte) []byte {
		return append(AppendHeader(nil, typ, instance, len(body)), body...)
	}
	for _, tc := range []struct {
		name string
		got  []byte
		want string
	}{
		{"HELLO", frame(MsgHello, 0, (&Hello{Versions: []uint16{1}, ID: "id", Name: "n", Version: "v1", Role: RoleSource, EventKinds: []string{"a"}}).AppendTo(nil)), `
			25000000 01 00 0000
			504c5547
			01000000 0100
			02000000 6964
			01000000 6e
			02000000 7631
			01
			01000000 01000000 61`},
		{"HELLO_ACK", frame(MsgHelloAck, 0, (&HelloAck{Version: 1, MaxFrame: 1 << 20, HeartbeatMS: 5000, Window: 8}).AppendTo(nil)), `
			0e000000 02 00 0000
			0100 00001000 88130000 08000000`},
		{"HELLO_ACK version 2, ring", frame(MsgHelloAck, 0, (&HelloAck{Version: 2, MaxFrame: 1 << 20, HeartbeatMS: 5000, Window: 8, Transport: TransportRing}).AppendTo(nil)), `
			0f000000 02 00 0000
			0200 00001000 88130000 08000000 01`},
		// docs/PROTOCOL.md §5.2, version 4 choosing both rings.
		{"HELLO_ACK version 4, both rings", frame(MsgHelloAck, 0, (&HelloAck{Version: 4, MaxFrame: 1 << 20, HeartbeatMS: 1000, Window: 8, Transport: TransportRing, InputTransport: TransportRing}).AppendTo(nil)), `
			10000000 02 00 0000
			0400 00001000 e8030000 08000000 01 01`},
		{"REJECT", frame(MsgReject, 0, (&Reject{Reason: RejectRevoked, Message: "no"}).AppendTo(nil)), `
			08000000 03 00 0000
			0400 02000000 6e6f`},
		{"REPLY", frame(MsgReply, 3, (&Reply{ID: 7, Status: StatusInvalidConfig, HasPosition: true, Position: 0x0102, Message: "m", Problems: []Problem{{"p", "x"}}}).AppendTo(nil)), `
			21000000 16 00 0300
			07000000 01 01 0201000000000000
			01000000 6d
			01000000 01000000 70 01000000 78`},
		{"OPEN", frame(MsgOpen, 4, (&Request{ID: 2, Settings: map[string]string{"b": "2", "a": "1"}, HasResume: true, Resume: 5}).AppendTo(nil, MsgOpen)), `
			25000000 13 00 0400
			02000000
			02000000 01000000 61 01000000 31 01000000 62 01000000 32
			01 0500000000000000`},
		{"STOP", frame(MsgStop, 4, (&Request{ID: 9}).AppendTo(nil, MsgStop)), `
			04000000 14 00 0400
			09000000`},
		{"EVENTS", frame(MsgEvents, 2, AppendEvent(binary.LittleEndian.AppendUint32(nil, 1), 5, 0x10, 1, []byte("hi"), nil)), `
			1e000000 20 00 0200
			01000000
			0500000000000000 1000000000000000 0100 0000 02000000 6869`},
		{"EVENTS with metadata", frame(MsgEvents, 2, AppendEvent(binary.LittleEndian.AppendUint32(nil, 1), 6, 0x20, 0, []byte("x"), map[string]string{"k": "v"})), `
			2f000000 20 00 0200
			01000000
			0600000000000000 2000000000000000 0000 0100 01000000
			0e000000 01000000 01000000 6b 01000000 76
			78`},
		{"ACK", frame(MsgAck, 2, (&Ack{Position: 9}).AppendTo(nil)), `
			08000000 21 00 0200
			0900000000000000`},
		{"PROGRESS", frame(MsgProgress, 2, (&Progress{Percent: 50, Text: "x"}).AppendTo(nil)), `
			0d000000 22 00 0200
			0000000000004940 01000000 78`},
		{"RESULT", frame(MsgResult, 2, (&Result{Batch: 3, Status: WriteRetry, Message: "m"}).AppendTo(nil)), `
			0e000000 24 00 0200
			0300000000000000 01 01000000 6d`},
		{"END version 1", frame(MsgEnd, 2, (&End{HasPosition: true, Position: 4}).AppendTo(nil, 1)), `
			09000000 25 00 0200
			01 0400000000000000`},
		{"END version 2", frame(MsgEnd, 2, (&End{HasPosition: true, Position: 4}).AppendTo(nil, 2)), `
			09000000 25 00 0200
			01 0400000000000000`},
		{"END version 3, finished", frame(MsgEnd, 2, (&End{HasPosition: true, Position: 4}).AppendTo(nil, 3)), `
			0e000000 25 00 0200
			01 0400000000000000
			00 00000000`},
		{"END version 3, failed", frame(MsgEnd, 2, (&End{HasPosition: true, Position: 4, Status: EndFailed, Message: "gone"}).AppendTo(nil, 3)), `
			12000000 25 00 0200
			01 0400000000000000
			01 04000000 676f6e65`},
		{"END version 3, failed before any event", frame(MsgEnd, 1, (&End{Status: EndFailed, Message: "x"}).AppendTo(nil, 3)), `
			0f000000 25 00 0100
			00 0000000000000000
			01 01000000 78`},
		{"GOODBYE", frame(MsgGoodbye, 0, (&Goodbye{Reason: GoodbyeSignal}).AppendTo(nil)), `
			06000000 04 00 0000
			0100 00000000`},
		{"ERROR", frame(MsgError, 0, (&ErrorMsg{Code: ErrCodeTooLarge, Message: "big"}).AppendTo(nil)), `
			09000000 05 00 0000
			0200 03000000 626967`},
		{"HEARTBEAT", frame(MsgHeartbeat, 0, (&Heartbeat{UnixNano: 0x0807060504030201}).AppendTo(nil)), `
			08000000 06 00 0000
			0102030405060708`},
	} {
		if want := unhex(t, tc.want); !bytes.Equal(tc.got, want) {
			t.Errorf("%s:\n got %x\nwant %x", tc.name, tc.got, want)
		}
	}
}

// decodable is a message with a plain Decode.
type decodable interface {
	AppendTo(dst []byte) []byte
	Decode([]byte) error
}

func roundTripCases() []struct {
	typ     MsgType
	in, out decodable
} {
	return []struct {
		typ     MsgType
		in, out decodable
	}{
		{MsgHello, &Hello{Versions: []uint16{1, 2}, ID: "4f1c", Name: "acme", Version: "1.0.0", Role: RoleSink, EventKinds: []string{"a", "b"}}, &Hello{}},
		{MsgHelloAck, &HelloAck{Version: 1, MaxFrame: DefaultMaxFrame, HeartbeatMS: 250, Window: 16}, &HelloAck{}},
		{MsgReject, &Reject{Reason: RejectHashMismatch, Message: "binary changed"}, &Reject{}},
		{MsgGoodbye, &Goodbye{Reason: GoodbyeError, Message: "boom"}, &Goodbye{}},
		{MsgError, &ErrorMsg{Code: ErrCodePositionOrder, Message: "went back"}, &ErrorMsg{}},
		{MsgHeartbeat, &Heartbeat{UnixNano: -5}, &Heartbeat{}},
		{MsgSpec, &SpecReply{ID: 3, Spec: Spec{
			Name: "acme", Summary: "s", Description: "d", Version: "1", Author: "me", Role: RoleSource,
			Global: []Param{{Name: "g", Type: "int", Default: "3", Description: "gd", Secret: true,
				Validations: []Validation{{Type: ValidationGreaterThan, Value: "1"}, {Type: ValidationInclusion, Values: []string{"3", "4"}}}}},
			Params: []Param{{Name: "p", Type: "string"}},
			Events: []EventKind{{Name: "k", Description: "kd", Fields: []Field{{Name: "f", Type: "time"}}}},
		}}, &SpecReply{}},
		{MsgReply, &Reply{ID: 4, Status: StatusInvalidConfig, HasPosition: true, Position: 99, Message: "bad", Problems: []Problem{{"a", "b"}, {"c", "d"}}}, &Reply{}},
		{MsgAck, &Ack{Position: math.MaxUint64}, &Ack{}},
		{MsgProgress, &Progress{Percent: 99.5, Text: "almost"}, &Progress{}},
		{MsgResult, &Result{Batch: 8, Status: WriteError, Message: "dropped"}, &Result{}},
	}
}

func TestRoundTrip(t *testing.T) {
	for _, tc := range roundTripCases() {
		if err := tc.out.Decode(tc.in.AppendTo(nil)); err != nil {
			t.Errorf("%s: %v", tc.typ, err)
		} else if !reflect.DeepEqual(tc.in, tc.out) {
			t.Errorf("%s: got %+v, want %+v", tc.typ, tc.out, tc.in)
		}
	}
	for _, typ := range []MsgType{MsgSpecRequest, MsgSetup, MsgOpen, MsgStop, MsgClose} {
		in := Request{ID: 5}
		if typ == MsgSetup || typ == MsgOpen {
			in.Settings = map[string]string{"k": "v", "": "empty key"}
		}
		if typ == MsgOpen {
			in.HasResume, in.Resume = true, 77
		}
		var out Request
		if err := out.Decode(in.AppendTo(nil, typ), typ); err != nil || !reflect.DeepEqual(in, out) {
			t.Errorf("%s: got %+v (%v), want %+v", typ, out, err, in)
		}
	}

	kinds := []string{"a", "b"}
	want := []Event{
		{Position: 1, Time: 10, Kind: "a", Payload: []byte("one")},
		{Position: 5, Time: -1, Kind: "b", Payload: []byte{}, Metadata: map[string]string{"x": "1", "y": ""}},
		{Position: 6, Time: 12, Kind: "a", Payload: bytes.Repeat([]byte{0xff}, 1000)},
	}
	body := binary.LittleEndian.AppendUint32(nil, uint32(len(want)))
	for _, e := range want {
		body = AppendEvent(body, e.Position, e.Time, uint16(slicesIndex(kinds, e.Kind)), e.Payload, e.Metadata)
	}
	b, err := ParseEvents(body, kinds, MsgEvents)
	if err != nil {
		t.Fatal(err)
	}
	if b.Len() != 3 || b.First() != 1 || b.Last() != 6 {
		t.Fatalf("Len %d First %d Last %d", b.Len(), b.First(), b.Last())
	}
	var got []Event
	r := b.Reader()
	for e := (Event{}); r.Next(&e); {
		got = append(got, e)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("events:\n got %+v\nwant %+v", got, want)
	}
}

func slicesIndex(l []string, s string) int {
	for i, v := range l {
		if v == s {
			return i
		}
	}
	return -1
}

func TestDecodeTruncatedAndTrailing(t *testing.T) {
	for _, tc := range roundTripCases() {
		body := tc.in.AppendTo(nil)
		for n := range len(body) {
			if err := tc.out.Decode(body[:n]); !errors.Is(err, ErrMalformed) {
				t.Errorf("%s cut to %d of %d bytes: %v, want ErrMalformed", tc.typ, n, len(body), err)
			}
		}
		if err := tc.out.Decode(append(body, 0)); !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), "trailing") {
			t.Errorf("%s with a trailing byte: %v", tc.typ, err)
		}
	}
}

// TestEndByVersion: END's layout follows the session's version: the
// status and message exist from version 3 on, and a body of the other
// layout is malformed, whatever its length.
func TestEndByVersion(t *testing.T) {
	for _, tc := range []struct {
		version uint16
		in      End
	}{
		{1, End{HasPosition: true, Position: 12}},
		{2, End{}},
		{3, End{HasPosition: true, Position: 12}},
		{3, End{HasPosition: true, Position: 12, Status: EndFailed, Message: "disk gone"}},
		{4, End{Status: EndFailed, Message: "newer versions keep the layout"}},
	} {
		body := tc.in.AppendTo(nil, tc.version)
		var out End
		if err := out.Decode(body, tc.version); err != nil || !reflect.DeepEqual(out, tc.in) {
			t.Errorf("version %d: got %+v (%v), want %+v", tc.version, out, err, tc.in)
		}
		for n := range len(body) {
			if err := out.Decode(body[:n], tc.version); !errors.Is(err, ErrMalformed) {
				t.Errorf("version %d cut to %d of %d bytes: %v, want ErrMalformed", tc.version, n, len(body), err)
			}
		}
		if err := out.Decode(append(body, 0), tc.version); !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), "trailing") {
			t.Errorf("version %d with a trailing byte: %v", tc.version, err)
		}
	}
	v3 := (&End{HasPosition: true, Position: 1}).AppendTo(nil, 3)
	if err := new(End).Decode(v3, 2); !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), "trailing") {
		t.Errorf("a version 3 body read as version 2: %v, want trailing bytes", err)
	}
	v2 := (&End{HasPosition: true, Position: 1}).AppendTo(nil, 2)
	if err := new(End).Decode(v2, 3); !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), "reading status") {
		t.Errorf("a version 2 body read as version 3: %v, want a truncated status", err)
	}
	failed := (&End{Status: EndFailed, Message: "dropped"}).AppendTo(nil, 2)
	var out End
	if err := out.Decode(failed, 2); err != nil || out != (End{}) {
		t.Errorf("a failed END encoded for version 2 decodes as %+v, %v; want a plain END: version 2 has no status", out, err)
	}
}

func TestDecodeErrors(t *testing.T) {
	u32 := func(v uint32) []byte { return binary.LittleEndian.AppendUint32(nil, v) }
	for _, tc := range []struct {
		name string
		err  error
		want string
	}{
		{"bad magic", new(Hello).Decode([]byte("PLUX\x00\x00\x00\x00")), `does not start with "PLUG"`},
		{"forged version count", new(Hello).Decode(append([]byte("PLUG"), u32(0xffffffff)...)), "says 4294967295 versions"},
		{"forged problem count", new(Reply).Decode(append(make([]byte, 4+1+1+8+4), u32(1<<30)...)), "says 1073741824 problems"},
		{"forged string length", new(Reject).Decode(append([]byte{1, 0}, u32(1<<31)...)), "need 2147483648 bytes"},
		{"bool out of range", new(End).Decode(append([]byte{2}, make([]byte, 8)...), 1), "is 2, want 0 or 1"},
		{"end status", new(End).Decode((&End{Status: 2}).AppendTo(nil, 3), 3), "END status 2 unknown"},
		{"max frame too small", new(HelloAck).Decode((&HelloAck{Version: 1, MaxFrame: 100, HeartbeatMS: 1, Window: 1}).AppendTo(nil)), "max frame 100 outside"},
		{"zero window", new(HelloAck).Decode((&HelloAck{Version: 1, MaxFrame: DefaultMaxFrame, HeartbeatMS: 1}).AppendTo(nil)), "window is 0"},
		{"progress over 100", new(Progress).Decode((&Progress{Percent: 100.5}).AppendTo(nil)), "outside [0, 100]"},
		{"progress NaN", new(Progress).Decode((&Progress{Percent: math.NaN()}).AppendTo(nil)), "outside [0, 100]"},
		{"result status", new(Result).Decode((&Result{Status: 3}).AppendTo(nil)), "status 3 unknown"},
		{"not a request", new(Request).Decode(make([]byte, 4), MsgAck), "ACK is not a request"},
	} {
		if !errors.Is(tc.err, ErrMalformed) || !strings.Contains(tc.err.Error(), tc.want) {
			t.Errorf("%s: %v, want ErrMalformed mentioning %q", tc.name, tc.err, tc.want)
		}
	}
}

func TestParseEventsErrors(t *testing.T) {
	kinds := []string{"a", "b"}
	event := func(pos uint64, kind uint16, payload string) []byte {
		return AppendEvent(nil, pos, 1, kind, []byte(payload), nil)
	}
	batch := func(count uint32, events ...[]byte) []byte {
		return append(binary.LittleEndian.AppendUint32(nil, count), bytes.Join(events, nil)...)
	}
	withFlags := func(e []byte, flags uint16) []byte {
		binary.LittleEndian.PutUint16(e[18:], flags)
		return e
	}
	for _, tc := range []struct {
		name string
		body []byte
		want string
	}{
		{"short", []byte{1, 0}, "too short for an event count"},
		{"empty", batch(0), "holds no events"},
		{"forged count", batch(1000, event(1, 0, "x")), "says 1000 events but has room for at most 1"},
		{"count too high", batch(2, event(1, 0, "x"), []byte("padding padding padding")), "event 2 of 2 is cut off"},
		{"kind out of range", batch(1, event(1, 2, "x")), "has kind 2 but the kind table has 2 entries"},
		{"same position", batch(2, event(3, 0, ""), event(3, 0, "")), "position 3 follows 3"},
		{"position back", batch(2, event(3, 0, ""), event(2, 0, "")), "position 2 follows 3"},
		{"payload overrun", batch(1, event(1, 0, "xyz")[:EventHeaderSize+2]), "payload of 3 bytes overruns"},
		{"trailing", batch(1, event(1, 0, "x"), []byte{0}), "1 trailing bytes"},
		{"unknown flags", batch(1, withFlags(event(1, 0, ""), 2)), "unknown flags 0x0002"},
		{"metadata cut", batch(1, withFlags(event(1, 0, ""), eventHasMetadata)), "metadata length cut off"},
		{"metadata overrun", batch(1, append(withFlags(event(1, 0, ""), eventHasMetadata), 0xff, 0, 0, 0)), "metadata of 255 bytes overruns"},
	} {
		if _, err := ParseEvents(tc.body, kinds, MsgEvents); !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want ErrMalformed mentioning %q", tc.name, err, tc.want)
		}
	}
}

func TestHeaderAndFrameReader(t *testing.T) {
	if _, err := ParseHeader(AppendHeader(nil, MsgAck, 1, 101), 100); !errors.Is(err, ErrFrameTooLarge) || !strings.Contains(err.Error(), "ACK frame announces 101 bytes, limit is 100") {
		t.Errorf("oversize: %v", err)
	}
	if _, err := ParseHeader([]byte{0, 0, 0, 0, byte(MsgAck), 1, 0, 0}, 100); !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), "flags 0x01") {
		t.Errorf("flags: %v", err)
	}
	if _, err := ParseHeader([]byte{0, 0, 0, 0, 0x99, 0, 0, 0}, 100); !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), "unknown message type 0x99") {
		t.Errorf("type: %v", err)
	}
	if _, err := ParseHeader([]byte{0, 0}, 100); !errors.Is(err, ErrMalformed) {
		t.Errorf("short header: %v", err)
	}

	two := append(AppendHeader(nil, MsgAck, 7, 8), 1, 0, 0, 0, 0, 0, 0, 0)
	two = append(two, AppendHeader(nil, MsgHeartbeat, 0, 8)...)
	two = append(two, make([]byte, 8)...)
	fr := NewFrameReader(bytes.NewReader(two), 100)
	h, body, err := fr.Next()
	if err != nil || h != (Header{Size: 8, Type: MsgAck, Instance: 7}) || body[0] != 1 {
		t.Fatalf("first frame %+v %x %v", h, body, err)
	}
	if h, _, err = fr.Next(); err != nil || h.Type != MsgHeartbeat {
		t.Fatalf("second frame %+v %v", h, err)
	}
	if _, _, err = fr.Next(); err != io.EOF {
		t.Fatalf("at the end: %v, want io.EOF", err)
	}
	for _, cut := range []int{3, HeaderSize + 3} {
		_, _, err := NewFrameReader(bytes.NewReader(two[:cut]), 100).Next()
		if !errors.Is(err, ErrMalformed) || !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Errorf("stream cut at %d: %v, want ErrMalformed and io.ErrUnexpectedEOF", cut, err)
		}
	}
}

// TestFrameReaderSwap: a body handed over with Swap stays as it was while
// later frames are read, into the buffer given instead or, when that is
// too small, into a new one.
func TestFrameReaderSwap(t *testing.T) {
	var stream []byte
	for _, b := range []byte{1, 2, 3} {
		stream = append(stream, AppendHeader(nil, MsgAck, 1, 8)...)
		stream = append(stream, b, 0, 0, 0, 0, 0, 0, 0)
	}
	fr := NewFrameReader(bytes.NewReader(stream), 100)
	_, first, err := fr.Next()
	if err != nil {
		t.Fatal(err)
	}
	kept := fr.Swap(make([]byte, 8))
	if &kept[0] != &first[0] {
		t.Fatal("Swap did not hand over the buffer holding the last body")
	}
	_, second, err := fr.Next()
	if err != nil {
		t.Fatal(err)
	}
	fr.Swap(make([]byte, 2)) // too small: the next frame needs a new buffer
	_, third, err := fr.Next()
	if err != nil {
		t.Fatal(err)
	}
	if first[0] != 1 || second[0] != 2 || third[0] != 3 || &first[0] == &second[0] || &second[0] == &third[0] {
		t.Fatalf("bodies %v %v %v: a handed-over body was overwritten or shared", first, second, third)
	}
}
