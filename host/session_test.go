package host

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/plugctl/plugctl/wire"
)

// collector is a Handler recording every position it is given.
type collector struct {
	mu        sync.Mutex
	positions []uint64
}

func (c *collector) handle(b *wire.Events) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	r := b.Reader()
	var e wire.Event
	for r.Next(&e) {
		c.positions = append(c.positions, e.Position)
	}
	return nil
}

func (c *collector) got() []uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]uint64(nil), c.positions...)
}

func seq(from, to uint64) []uint64 {
	var s []uint64
	for p := from; p <= to; p++ {
		s = append(s, p)
	}
	return s
}

func equal(a, b []uint64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestSourceStreamAckAndStop(t *testing.T) {
	f, p, err := startFake(t, sourceHello(), testOptions())
	if err != nil {
		t.Fatal(err)
	}
	f.expect(wire.MsgHelloAck)
	var c collector
	s := openSource(t, f, p, nil, c.handle)
	for i := uint64(0); i < 10; i++ {
		f.events(1, 3*i+1, 3*i+2, 3*i+3)
	}
	// ACKs are cumulative: the last one carries the newest position.
	var acked uint64
	for acked < 30 {
		fr := f.next(false)
		if fr.h.Type != wire.MsgAck || fr.h.Instance != 1 {
			t.Fatalf("got %s for instance %d, want ACK for 1", fr.h.Type, fr.h.Instance)
		}
		var m wire.Ack
		m.Decode(fr.body)
		if m.Position <= acked {
			t.Fatalf("ACK %d after ACK %d", m.Position, acked)
		}
		acked = m.Position
	}

	// Stop drains: the batch sent before the reply is delivered first.
	type result struct {
		last uint64
		ok   bool
		err  error
	}
	done := make(chan result, 1)
	go func() {
		last, ok, err := s.Stop(context.Background())
		done <- result{last, ok, err}
	}()
	req := f.request(f.expect(wire.MsgStop))
	f.events(1, 31, 32)
	f.reply(wire.Reply{ID: req.ID, HasPosition: true, Position: 32})
	r := <-done
	if r.err != nil || !r.ok || r.last != 32 {
		t.Fatalf("Stop = %d, %v, %v; want 32, true, nil", r.last, r.ok, r.err)
	}
	if got := c.got(); !equal(got, seq(1, 32)) {
		t.Fatalf("handler saw %v, want 1..32", got)
	}
	if s.Acked() != 32 {
		t.Errorf("Acked() = %d, want 32", s.Acked())
	}
	go func() {
		req := f.request(f.expect(wire.MsgClose))
		f.reply(wire.Reply{ID: req.ID})
	}()
	if err := s.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func TestSourceResumeProgressEnd(t *testing.T) {
	f, p, err := startFake(t, sourceHello(), testOptions())
	if err != nil {
		t.Fatal(err)
	}
	f.expect(wire.MsgHelloAck)
	var c collector
	resume := uint64(41)
	go func() {
		req := f.request(f.expect(wire.MsgOpen))
		if !req.HasResume || req.Resume != 41 || req.Settings["k"] != "v" {
			t.Errorf("OPEN = %+v, want resume 41 and settings", req)
		}
		f.reply(wire.Reply{ID: req.ID})
		f.events(1, 42, 43)
		pr := wire.Progress{Percent: 50, Text: "half"}
		f.send(wire.MsgProgress, 1, pr.AppendTo(nil))
		end := wire.End{HasPosition: true, Position: 43}
		f.send(wire.MsgEnd, 1, end.AppendTo(nil, f.ack.Version))
	}()
	s, err := p.OpenSource(context.Background(), map[string]string{"k": "v"}, &resume, c.handle)
	if err != nil {
		t.Fatal(err)
	}
	select {
	case <-s.Ended():
	case <-time.After(5 * time.Second):
		t.Fatal("END not reported")
	}
	if pct, text := s.Progress(); pct != 50 || text != "half" {
		t.Errorf("Progress() = %v, %q", pct, text)
	}
	if got := c.got(); !equal(got, []uint64{42, 43}) || s.Acked() != 43 {
		t.Errorf("handler saw %v, acked %d", got, s.Acked())
	}
}

// expectViolation checks the session ended for a protocol violation with
// text in the error, and that the plugin was told with ERROR code.
func expectViolation(t *testing.T, f *fake, p *Plugin, code wire.ErrorCode, text string) {
	t.Helper()
	err := waitDone(t, p, 5*time.Second)
	if !errors.Is(err, ErrProtocol) || !strings.Contains(err.Error(), text) {
		t.Fatalf("Err() = %v, want a protocol violation mentioning %q", err, text)
	}
	fr := f.expect(wire.MsgError)
	var m wire.ErrorMsg
	if err := m.Decode(fr.body); err != nil || m.Code != code {
		t.Errorf("plugin got ERROR %+v, want code %s", m, code)
	}
}

func TestPositionsMustIncreaseAcrossBatches(t *testing.T) {
	f, p, err := startFake(t, sourceHello(), testOptions())
	if err != nil {
		t.Fatal(err)
	}
	f.expect(wire.MsgHelloAck)
	var c collector
	openSource(t, f, p, nil, c.handle)
	f.events(1, 5, 6)
	f.events(1, 6, 7)
	expectViolation(t, f, p, wire.ErrCodePositionOrder, "batch starts at position 6, not after 6")
	if got := c.got(); !equal(got, []uint64{5, 6}) {
		t.Errorf("handler saw %v, want only the valid batch", got)
	}
}

func TestOversizedFrame(t *testing.T) {
	opts := testOptions()
	opts.MaxFrame = 1 << 20
	f, p, err := startFake(t, sourceHello(), opts)
	if err != nil {
		t.Fatal(err)
	}
	f.expect(wire.MsgHelloAck)
	f.c.Write(wire.AppendHeader(nil, wire.MsgEvents, 1, 3<<30))
	expectViolation(t, f, p, wire.ErrCodeTooLarge, "EVENTS frame announces 3221225472 bytes, limit is 1048576")
}

func TestUnknownInstance(t *testing.T) {
	f, p, err := startFake(t, sourceHello(), testOptions())
	if err != nil {
		t.Fatal(err)
	}
	f.expect(wire.MsgHelloAck)
	f.events(9, 1)
	expectViolation(t, f, p, wire.ErrCodeUnknownInstance, "instance 9, which the host never opened")
}

func TestUnexpectedMessage(t *testing.T) {
	f, p, err := startFake(t, sourceHello(), testOptions())
	if err != nil {
		t.Fatal(err)
	}
	f.expect(wire.MsgHelloAck)
	m := wire.Ack{Position: 1}
	f.send(wire.MsgAck, 0, m.AppendTo(nil))
	expectViolation(t, f, p, wire.ErrCodeUnexpected, "ACK frame sent by a plugin")
}

func TestStopClaimsUnsentPosition(t *testing.T) {
	f, p, err := startFake(t, sourceHello(), testOptions())
	if err != nil {
		t.Fatal(err)
	}
	f.expect(wire.MsgHelloAck)
	var c collector
	s := openSource(t, f, p, nil, c.handle)
	f.events(1, 1, 2)
	errc := make(chan error, 1)
	go func() {
		_, _, err := s.Stop(context.Background())
		errc <- err
	}()
	req := f.request(f.expect(wire.MsgStop))
	f.reply(wire.Reply{ID: req.ID, HasPosition: true, Position: 5})
	if err := <-errc; !errors.Is(err, ErrProtocol) || !strings.Contains(err.Error(), "stopped at position 5, but the last event it sent is at 2") {
		t.Fatalf("Stop: %v, want a protocol violation", err)
	}
}

func TestRequestTimeout(t *testing.T) {
	opts := testOptions()
	opts.Timeout = 300 * time.Millisecond
	f, p, err := startFake(t, sourceHello(), opts)
	if err != nil {
		t.Fatal(err)
	}
	f.expect(wire.MsgHelloAck)
	begin := time.Now()
	err = p.Setup(context.Background(), map[string]string{"a": "b"})
	if !errors.Is(err, ErrTimeout) || !strings.Contains(err.Error(), "setup: plugin fake: plugin did not answer in time: no answer to setup within 300ms") {
		t.Fatalf("Setup: %v, want ErrTimeout", err)
	}
	if d := time.Since(begin); d > 5*time.Second {
		t.Errorf("Setup took %v with a 300ms timeout", d)
	}
	if err := p.Setup(context.Background(), nil); !errors.Is(err, ErrTimeout) {
		t.Errorf("Setup after the session ended: %v, want the session's error", err)
	}
}

func TestRequestContextCancelled(t *testing.T) {
	f, p, err := startFake(t, sourceHello(), testOptions())
	if err != nil {
		t.Fatal(err)
	}
	f.expect(wire.MsgHelloAck)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := p.Setup(ctx, nil); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Setup: %v, want the context's error", err)
	}
	// A late answer is ignored and the session goes on.
	req := f.request(f.expect(wire.MsgSetup))
	f.reply(wire.Reply{ID: req.ID})
	go func() {
		req := f.request(f.expect(wire.MsgSetup))
		f.reply(wire.Reply{ID: req.ID, Status: wire.StatusInvalidConfig,
			Problems: []wire.Problem{{Param: "dir", Message: "is required"}, {Param: "n", Message: "must be > 0"}}})
	}()
	err = p.Setup(context.Background(), nil)
	var re *RequestError
	if !errors.As(err, &re) || re.Status != wire.StatusInvalidConfig || len(re.Problems) != 2 ||
		err.Error() != "setup: invalid_config: dir: is required; n: must be > 0" {
		t.Fatalf("Setup: %v, want a *RequestError naming both parameters", err)
	}
}

func TestSpec(t *testing.T) {
	f, p, err := startFake(t, sourceHello(), testOptions())
	if err != nil {
		t.Fatal(err)
	}
	f.expect(wire.MsgHelloAck)
	go func() {
		req := f.request(f.expect(wire.MsgSpecRequest))
		m := wire.SpecReply{ID: req.ID, Spec: wire.Spec{Name: "fake", Role: wire.RoleSource,
			Params: []wire.Param{{Name: "dir", Type: "string"}}}}
		f.send(wire.MsgSpec, 0, m.AppendTo(nil))
	}()
	spec, err := p.Spec(context.Background())
	if err != nil || spec.Name != "fake" || len(spec.Params) != 1 {
		t.Fatalf("Spec = %+v, %v", spec, err)
	}
}

func TestSilentPlugin(t *testing.T) {
	opts := testOptions()
	opts.Heartbeat = 50 * time.Millisecond
	f, p, err := startFake(t, sourceHello(), opts)
	if err != nil {
		t.Fatal(err)
	}
	begin := time.Now()
	err = waitDone(t, p, 5*time.Second)
	if !errors.Is(err, ErrPluginSilent) {
		t.Fatalf("Err() = %v, want ErrPluginSilent", err)
	}
	t.Logf("declared dead after %v (3 intervals: 150ms)", time.Since(begin))
	f.expect(wire.MsgHelloAck)
	var m wire.ErrorMsg
	if err := m.Decode(f.expect(wire.MsgError).body); err != nil || m.Code != wire.ErrCodeHeartbeatTimeout {
		t.Errorf("plugin got ERROR %+v, want heartbeat_timeout", m)
	}
}

func TestSlowHandlerIsNotSilence(t *testing.T) {
	opts := testOptions()
	opts.Heartbeat = 200 * time.Millisecond // long enough that a loaded machine does not starve the fake's beats for 3 of them
	f, p, err := startFake(t, sourceHello(), opts)
	if err != nil {
		t.Fatal(err)
	}
	f.expect(wire.MsgHelloAck)
	stopBeats := make(chan struct{})
	defer close(stopBeats)
	beat := func() {
		m := wire.Heartbeat{}
		f.send(wire.MsgHeartbeat, 0, m.AppendTo(nil))
	}
	go func() {
		for {
			select {
			case <-stopBeats:
				return
			case <-time.After(20 * time.Millisecond):
				beat()
			}
		}
	}()
	handled := make(chan struct{})
	openSource(t, f, p, nil, func(*wire.Events) error {
		time.Sleep(2 * time.Second) // ten intervals
		close(handled)
		return nil
	})
	f.events(1, 1)
	<-handled
	time.Sleep(400 * time.Millisecond)
	if err := p.Err(); err != nil {
		t.Fatalf("session ended while the handler was slow: %v", err)
	}
}

func TestPluginError(t *testing.T) {
	f, p, err := startFake(t, sourceHello(), testOptions())
	if err != nil {
		t.Fatal(err)
	}
	f.expect(wire.MsgHelloAck)
	m := wire.ErrorMsg{Code: wire.ErrCodeInternal, Message: "disk full"}
	f.send(wire.MsgError, 0, m.AppendTo(nil))
	err = waitDone(t, p, 5*time.Second)
	var em *wire.ErrorMsg
	if !errors.As(err, &em) || em.Message != "disk full" {
		t.Fatalf("Err() = %v, want the plugin's ERROR", err)
	}
}

func TestPluginGoodbyeIsClean(t *testing.T) {
	f, p, err := startFake(t, sourceHello(), testOptions())
	if err != nil {
		t.Fatal(err)
	}
	f.expect(wire.MsgHelloAck)
	m := wire.Goodbye{Reason: wire.GoodbyeSignal}
	f.send(wire.MsgGoodbye, 0, m.AppendTo(nil))
	f.c.Close()
	if err := waitDone(t, p, 5*time.Second); err != nil {
		t.Fatalf("Err() = %v after GOODBYE, want nil", err)
	}
	if err := p.Setup(context.Background(), nil); !errors.Is(err, ErrClosed) {
		t.Errorf("Setup after GOODBYE: %v, want ErrClosed", err)
	}
}

func TestConnectionLost(t *testing.T) {
	f, p, err := startFake(t, sourceHello(), testOptions())
	if err != nil {
		t.Fatal(err)
	}
	f.expect(wire.MsgHelloAck)
	errc := make(chan error, 1)
	go func() { errc <- p.Setup(context.Background(), nil) }()
	f.expect(wire.MsgSetup)
	f.c.Write(wire.AppendHeader(nil, wire.MsgReply, 0, 100)[:6]) // half a header
	f.c.Close()
	err = <-errc
	if !errors.Is(err, ErrConnectionLost) || !strings.Contains(err.Error(), "setup: plugin fake: connection lost") {
		t.Fatalf("Setup: %v, want ErrConnectionLost", err)
	}
}

func TestHostClose(t *testing.T) {
	f, p, err := startFake(t, sourceHello(), testOptions())
	if err != nil {
		t.Fatal(err)
	}
	f.expect(wire.MsgHelloAck)
	go func() {
		f.expect(wire.MsgGoodbye)
		m := wire.Goodbye{Reason: wire.GoodbyeRequested}
		f.send(wire.MsgGoodbye, 0, m.AppendTo(nil))
		f.c.Close()
	}()
	if err := p.Close(context.Background()); err != nil {
		t.Fatalf("Close: %v", err)
	}
}

func TestEventsAfterStopReply(t *testing.T) {
	f, p, err := startFake(t, sourceHello(), testOptions())
	if err != nil {
		t.Fatal(err)
	}
	f.expect(wire.MsgHelloAck)
	var c collector
	s := openSource(t, f, p, nil, c.handle)
	f.events(1, 1)
	go s.Stop(context.Background())
	req := f.request(f.expect(wire.MsgStop))
	f.reply(wire.Reply{ID: req.ID, HasPosition: true, Position: 1})
	f.events(1, 2)
	expectViolation(t, f, p, wire.ErrCodeUnexpected, "EVENTS for instance 1 after its END or STOP reply")
	if got := c.got(); !equal(got, []uint64{1}) {
		t.Errorf("handler saw %v, want nothing after the drain", got)
	}
}

// TestEndFailedVersion3: a version 3 END with status failed ends that
// instance alone: Ended closes, Err gives the plugin's reason, Stop and
// Close are answered without repeating it, and the session goes on.
func TestEndFailedVersion3(t *testing.T) {
	h := sourceHello()
	h.Versions = []uint16{1, 3}
	f, p, err := startFake(t, h, testOptions())
	if err != nil {
		t.Fatal(err)
	}
	f.expect(wire.MsgHelloAck)
	if f.ack.Version != 3 {
		t.Fatalf("chose version %d, want 3", f.ack.Version)
	}
	var c collector
	s := openSource(t, f, p, nil, c.handle)
	if s.Err() != nil {
		t.Fatalf("Err() = %v while running", s.Err())
	}
	f.events(1, 1, 2)
	end := wire.End{HasPosition: true, Position: 2, Status: wire.EndFailed, Message: "disk gone"}
	f.send(wire.MsgEnd, 1, end.AppendTo(nil, 3))
	select {
	case <-s.Ended():
	case <-time.After(5 * time.Second):
		t.Fatal("a failed END did not close Ended")
	}
	var ie *InstanceError
	if !errors.As(s.Err(), &ie) || *ie != (InstanceError{Plugin: "fake", Instance: 1, Message: "disk gone"}) {
		t.Fatalf("Err() = %#v, want instance 1's failure", s.Err())
	}
	if got := s.Err().Error(); got != "plugin fake: instance 1 failed: disk gone" {
		t.Errorf("Err().Error() = %q", got)
	}
	go func() {
		stop := f.request(f.expect(wire.MsgStop))
		f.reply(wire.Reply{ID: stop.ID, HasPosition: true, Position: 2})
		closeReq := f.request(f.expect(wire.MsgClose))
		f.reply(wire.Reply{ID: closeReq.ID})
	}()
	ctx := closeCtx(t)
	if last, ok, err := s.Stop(ctx); err != nil || !ok || last != 2 {
		t.Fatalf("Stop = %d, %v, %v; want 2, true, nil", last, ok, err)
	}
	if err := s.Close(ctx); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if got := c.got(); !equal(got, []uint64{1, 2}) {
		t.Errorf("handler saw %v", got)
	}
	select {
	case <-p.Done():
		t.Fatalf("the session ended: %v", p.Err())
	default:
	}
	openSource(t, f, p, nil, c.handle) // the session still opens instances
}

// TestEndLayoutFollowsVersion: END is decoded by the session's version;
// a body of the other layout, or an unknown status, is malformed.
func TestEndLayoutFollowsVersion(t *testing.T) {
	for _, tc := range []struct {
		name     string
		versions []uint16
		body     []byte
		text     string
	}{
		{"version 1 END in a version 3 session", []uint16{3}, (&wire.End{}).AppendTo(nil, 1), "END body truncated at byte 9 reading status"},
		{"version 3 END in a version 1 session", []uint16{1}, (&wire.End{}).AppendTo(nil, 3), "END body has 5 unexpected trailing bytes"},
		{"unknown status", []uint16{3}, (&wire.End{Status: 7}).AppendTo(nil, 3), "END status 7 unknown"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := sourceHello()
			h.Versions = tc.versions
			f, p, err := startFake(t, h, testOptions())
			if err != nil {
				t.Fatal(err)
			}
			f.expect(wire.MsgHelloAck)
			s := openSource(t, f, p, nil, (&collector{}).handle)
			f.send(wire.MsgEnd, 1, tc.body)
			expectViolation(t, f, p, wire.ErrCodeMalformed, tc.text)
			if s.Err() != nil {
				t.Errorf("Source.Err() = %v after a malformed END", s.Err())
			}
		})
	}
}
