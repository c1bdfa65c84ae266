package host

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/plugctl/plugctl/wire"
)

func TestHandshakeOK(t *testing.T) {
	opts := testOptions()
	opts.Window = 3
	opts.MaxFrame = 128 << 10
	f, p, err := startFake(t, sourceHello(), opts)
	if err != nil {
		t.Fatal(err)
	}
	f.expect(wire.MsgHelloAck)
	want := wire.HelloAck{Version: 1, MaxFrame: 128 << 10, HeartbeatMS: 1000, Window: 3}
	if f.ack != want {
		t.Errorf("HELLO_ACK = %+v, want %+v", f.ack, want)
	}
	if h := p.Hello(); h.Name != "fake" || h.ID != "id-1" || h.Role != wire.RoleSource || len(h.EventKinds) != 2 {
		t.Errorf("Hello() = %+v", h)
	}
	if p.Pid() != 0 {
		t.Errorf("Pid() = %d for an in-process plugin", p.Pid())
	}
}

func TestVersionNegotiation(t *testing.T) {
	h := sourceHello()
	h.Versions = []uint16{7, 1, 3}
	f, _, err := startFake(t, h, testOptions())
	if err != nil {
		t.Fatal(err)
	}
	f.expect(wire.MsgHelloAck)
	if f.ack.Version != 3 {
		t.Errorf("chose version %d, want 3 (the highest in common)", f.ack.Version)
	}
}

// expectReject checks that the host refused the handshake with reason and
// told the plugin so.
func expectReject(t *testing.T, f *fake, err error, reason wire.RejectReason, text string) {
	t.Helper()
	var re *RejectError
	if !errors.As(err, &re) || re.Reason != reason {
		t.Fatalf("err = %v, want a *RejectError with reason %s", err, reason)
	}
	if !strings.Contains(err.Error(), text) {
		t.Errorf("err = %q, want it to mention %q", err, text)
	}
	fr := f.expect(wire.MsgReject)
	var m wire.Reject
	if err := m.Decode(fr.body); err != nil || m.Reason != reason {
		t.Errorf("plugin got REJECT %+v (%v), want reason %s", m, err, reason)
	}
}

func TestRejectUnsupportedVersion(t *testing.T) {
	h := sourceHello()
	h.Versions = []uint16{5, 6}
	f, _, err := startFake(t, h, testOptions())
	expectReject(t, f, err, wire.RejectUnsupportedVersion, "plugin speaks [5 6]")
}

func TestRejectWrongRole(t *testing.T) {
	opts := testOptions()
	opts.Role = wire.RoleSink
	f, _, err := startFake(t, sourceHello(), opts)
	expectReject(t, f, err, wire.RejectWrongRole, "host wants a sink, plugin is a source")
}

func TestRejectByEnrollment(t *testing.T) {
	opts := testOptions()
	var got wire.Hello
	opts.Check = EnrollmentFunc(func(c *Candidate) error {
		got = c.Hello
		if c.Binary != "" || c.Launched {
			t.Errorf("binary = %q, launched %v for a plugin not launched", c.Binary, c.Launched)
		}
		return &RejectError{Reason: wire.RejectNotEnrolled, Message: "id-1 is not enrolled"}
	})
	f, _, err := startFake(t, sourceHello(), opts)
	expectReject(t, f, err, wire.RejectNotEnrolled, "id-1 is not enrolled")
	if got.ID != "id-1" {
		t.Errorf("Check saw HELLO %+v", got)
	}

	opts.Check = EnrollmentFunc(func(*Candidate) error { return errors.New("closed for maintenance") })
	f, _, err = startFake(t, sourceHello(), opts)
	expectReject(t, f, err, wire.RejectPolicy, "closed for maintenance")
}

func TestRejectBadMagic(t *testing.T) {
	h := sourceHello()
	body := h.AppendTo(nil)
	copy(body, "NOPE")
	f, _, err := startFakeRaw(t, func(f *fake) { f.send(wire.MsgHello, 0, body) }, testOptions())
	expectReject(t, f, err, wire.RejectBadHello, "not a plugctl plugin")
}

func TestGarbageInsteadOfHello(t *testing.T) {
	_, _, err := startFakeRaw(t, func(f *fake) { f.c.Write([]byte("Listening on port 8080\n")) }, testOptions())
	if err == nil || !strings.Contains(err.Error(), `not a plugctl plugin: first bytes "Listening on port 8080\n" are not a HELLO frame`) {
		t.Fatalf("err = %v, want it to show the first bytes", err)
	}
}

func TestHandshakeTimeout(t *testing.T) {
	opts := testOptions()
	opts.Timeout = 200 * time.Millisecond
	begin := time.Now()
	_, _, err := startFakeRaw(t, func(*fake) {}, opts)
	if !errors.Is(err, ErrTimeout) || !strings.Contains(err.Error(), "no HELLO within 200ms") {
		t.Fatalf("err = %v, want ErrTimeout", err)
	}
	if d := time.Since(begin); d > 5*time.Second {
		t.Errorf("handshake took %v with a 200ms timeout", d)
	}
}

func TestHelloTooLarge(t *testing.T) {
	_, _, err := startFakeRaw(t, func(f *fake) {
		f.c.Write(wire.AppendHeader(nil, wire.MsgHello, 0, 1<<30))
	}, testOptions())
	if !errors.Is(err, wire.ErrFrameTooLarge) || !strings.Contains(err.Error(), "1073741824 bytes, limit is 65536") {
		t.Fatalf("err = %v, want a frame-too-large error naming size and limit", err)
	}
}
