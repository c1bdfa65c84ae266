package sdk

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/plugctl/plugctl/wire"
)

var testSpec = wire.Spec{
	Name:    "acme",
	Version: "1.2.3",
	Events:  []wire.EventKind{{Name: "tick"}, {Name: "tock"}},
}

// batchBody encodes events (positions from first) as an EVENTS body.
func batchBody(first uint64, payloads ...string) []byte {
	b := binary.LittleEndian.AppendUint32(nil, uint32(len(payloads)))
	for i, p := range payloads {
		b = wire.AppendEvent(b, first+uint64(i), 1000+int64(i), 0, []byte(p), nil)
	}
	return b
}

// drainQuiet gives a misbehaving plugin time to send frames it must not,
// then returns every frame other than HEARTBEAT that arrived.
func (h *fakeHost) drainQuiet() []frame {
	time.Sleep(100 * time.Millisecond)
	got := h.stash
	h.stash = nil
	for {
		select {
		case f, ok := <-h.frames:
			if !ok {
				return got
			}
			if f.h.Type != wire.MsgHeartbeat {
				got = append(got, f)
			}
		default:
			return got
		}
	}
}

// receiveUntilEnd collects instance's events, acknowledging each batch,
// until END; it returns the events and END's position.
func (h *fakeHost) receiveUntilEnd(instance uint16) ([]wire.Event, wire.End) {
	h.t.Helper()
	var got []wire.Event
	for {
		f := h.next()
		if f.h.Instance != instance {
			h.t.Fatalf("%s frame for instance %d, want %d", f.h.Type, f.h.Instance, instance)
		}
		switch f.h.Type {
		case wire.MsgEvents:
			ev := h.events(f)
			got = append(got, ev...)
			h.ack(instance, ev[len(ev)-1].Position)
		case wire.MsgEnd:
			var end wire.End
			if err := end.Decode(f.body, h.version); err != nil {
				h.t.Fatal(err)
			}
			return got, end
		case wire.MsgProgress:
		default:
			h.t.Fatalf("unexpected %s frame", f.h.Type)
		}
	}
}

func checkPositions(t *testing.T, events []wire.Event, first uint64, n int) {
	t.Helper()
	if len(events) != n {
		t.Fatalf("got %d events, want %d", len(events), n)
	}
	for i, e := range events {
		if e.Position != first+uint64(i) {
			t.Fatalf("event %d has position %d, want %d", i, e.Position, first+uint64(i))
		}
	}
}

func TestServeHandshakeAndGoodbye(t *testing.T) {
	h := startPlugin(t, Plugin{Spec: testSpec, Run: func(Open, EventSink, *Session) error { return nil }}, ServeOptions{ID: "4f1c"})
	h.handshake(defaultAck)
	want := wire.Hello{Versions: []uint16{1, 2, 3, 4}, ID: "4f1c", Name: "acme", Version: "1.2.3", Role: wire.RoleSource, EventKinds: []string{"tick", "tock"}}
	if fmt.Sprint(h.hello) != fmt.Sprint(want) {
		t.Fatalf("HELLO = %+v, want %+v", h.hello, want)
	}
	h.send(wire.MsgGoodbye, 0, (&wire.Goodbye{Reason: wire.GoodbyeNormal}).AppendTo(nil))
	var g wire.Goodbye
	if err := g.Decode(h.expect(wire.MsgGoodbye).body); err != nil || g.Reason != wire.GoodbyeRequested {
		t.Fatalf("GOODBYE = %+v, %v; want reason %d", g, err, wire.GoodbyeRequested)
	}
	h.wantExit(ExitOK, "")
}

func TestServeIDFromEnvironment(t *testing.T) {
	t.Setenv(wire.EnvPluginID, "from-env")
	toPlugin, hostW := io.Pipe()
	hostR, fromPlugin := io.Pipe()
	defer hostW.Close()
	defer hostR.Close()
	go Serve(toPlugin, fromPlugin, Plugin{Spec: testSpec, Run: func(Open, EventSink, *Session) error { return nil }}, ServeOptions{Stderr: io.Discard})
	_, body, err := wire.NewFrameReader(hostR, wire.HelloMaxFrame).Next()
	if err != nil {
		t.Fatal(err)
	}
	var hello wire.Hello
	if err := hello.Decode(body); err != nil || hello.ID != "from-env" {
		t.Fatalf("HELLO id %q (%v), want from-env", hello.ID, err)
	}
}

func TestServeReject(t *testing.T) {
	h := startPlugin(t, Plugin{Spec: testSpec, Run: func(Open, EventSink, *Session) error { return nil }}, ServeOptions{})
	h.expect(wire.MsgHello)
	h.send(wire.MsgReject, 0, (&wire.Reject{Reason: wire.RejectNotEnrolled, Message: "who are you"}).AppendTo(nil))
	h.wantExit(ExitRejected, "plugin rejected by host: not_enrolled: who are you")
}

func TestServeInvalidPlugin(t *testing.T) {
	run := func(Open, EventSink, *Session) error { return nil }
	src := func(Open) (Source, error) { return nil, nil }
	for _, tc := range []struct {
		p    Plugin
		want string
	}{
		{Plugin{Spec: testSpec}, "exactly one of Source, Run and Sink (0 are set)"},
		{Plugin{Spec: testSpec, Run: run, Source: src}, "(2 are set)"},
		{Plugin{Run: run}, "Spec.Name is empty"},
		{Plugin{Spec: wire.Spec{Name: "x", Role: wire.RoleSink}, Run: run}, "Spec.Role is sink"},
		{Plugin{Spec: wire.Spec{Name: "x", Events: []wire.EventKind{{Name: "a"}, {Name: "a"}}}, Run: run}, `kind "a" twice`},
	} {
		var stderr bytes.Buffer
		err := Serve(strings.NewReader(""), io.Discard, tc.p, ServeOptions{Stderr: &stderr})
		if ExitCode(err) != ExitPluginError || !strings.Contains(err.Error(), tc.want) || !strings.Contains(stderr.String(), tc.want) {
			t.Errorf("Serve(%+v) = %v (stderr %q), want exit 1 mentioning %q", tc.p, err, stderr.String(), tc.want)
		}
	}
}

func TestServeSpec(t *testing.T) {
	spec := testSpec
	spec.Summary = "ticks"
	spec.Params = []wire.Param{{Name: "every", Type: "duration", Default: "1s", Validations: []wire.Validation{{Type: wire.ValidationRequired}}}}
	h := startPlugin(t, Plugin{Spec: spec, Run: func(Open, EventSink, *Session) error { return nil }}, ServeOptions{})
	h.handshake(defaultAck)
	h.send(wire.MsgSpecRequest, 0, (&wire.Request{ID: 7}).AppendTo(nil, wire.MsgSpecRequest))
	var got wire.SpecReply
	if err := got.Decode(h.expect(wire.MsgSpec).body); err != nil {
		t.Fatal(err)
	}
	spec.Role = wire.RoleSource
	if got.ID != 7 || fmt.Sprint(got.Spec) != fmt.Sprint(spec) {
		t.Fatalf("SPEC = %+v, want id 7 and %+v", got, spec)
	}
}

func TestServeSetup(t *testing.T) {
	var calls []map[string]string
	var mu sync.Mutex
	p := Plugin{
		Spec: testSpec,
		Setup: func(global map[string]string) error {
			mu.Lock()
			defer mu.Unlock()
			calls = append(calls, global)
			if global["region"] == "" {
				var ce ConfigError
				ce.Add("region", "is required")
				ce.Add("zone", "must be a number")
				return ce.Err()
			}
			return nil
		},
		Run: func(o Open, sink EventSink, s *Session) error { s.Wait(); return nil },
	}
	h := startPlugin(t, p, ServeOptions{})
	h.handshake(defaultAck)
	r := h.request(wire.MsgSetup, 0, wire.Request{Settings: map[string]string{}})
	wantProblems := []wire.Problem{{Param: "region", Message: "is required"}, {Param: "zone", Message: "must be a number"}}
	if r.Status != wire.StatusInvalidConfig || fmt.Sprint(r.Problems) != fmt.Sprint(wantProblems) {
		t.Fatalf("SETUP reply %+v, want invalid_config with %v", r, wantProblems)
	}
	if r = h.request(wire.MsgSetup, 0, wire.Request{Settings: map[string]string{"region": "eu"}}); r.Status != wire.StatusOK {
		t.Fatalf("SETUP reply %+v, want ok", r)
	}
	if r = h.request(wire.MsgSetup, 0, wire.Request{Settings: map[string]string{"region": "us"}}); r.Status != wire.StatusUnsupported {
		t.Fatalf("second successful SETUP reply %+v, want unsupported", r)
	}
	mu.Lock()
	if len(calls) != 2 || calls[1]["region"] != "eu" {
		t.Fatalf("Setup calls %v, want 2, the second with region=eu", calls)
	}
	mu.Unlock()
}

func TestServeOpenErrors(t *testing.T) {
	p := Plugin{
		Spec: testSpec,
		Source: func(o Open) (Source, error) {
			switch o.Settings["mode"] {
			case "bad":
				return nil, &ConfigError{Problems: []wire.Problem{{Param: "mode", Message: `must be "good"`}}}
			case "fail":
				return nil, errors.New("disk on fire")
			}
			return &countSource{n: 1}, nil
		},
	}
	h := startPlugin(t, p, ServeOptions{})
	h.handshake(defaultAck)
	if r := h.request(wire.MsgOpen, 1, wire.Request{Settings: map[string]string{"mode": "bad"}}); r.Status != wire.StatusInvalidConfig || len(r.Problems) != 1 || r.Problems[0].Param != "mode" {
		t.Fatalf("OPEN with a config error: %+v", r)
	}
	if r := h.request(wire.MsgOpen, 1, wire.Request{Settings: map[string]string{"mode": "fail"}}); r.Status != wire.StatusFailed || r.Message != "disk on fire" {
		t.Fatalf("OPEN with a failure: %+v", r)
	}
	if r := h.request(wire.MsgOpen, 0, wire.Request{}); r.Status != wire.StatusUnsupported {
		t.Fatalf("OPEN of instance 0: %+v", r)
	}
	h.open(1, nil) // the failed instance's number is free again
	if r := h.request(wire.MsgOpen, 1, wire.Request{}); r.Status != wire.StatusUnsupported || !strings.Contains(r.Message, "already open") {
		t.Fatalf("duplicate OPEN: %+v", r)
	}
	for _, typ := range []wire.MsgType{wire.MsgStop, wire.MsgClose} {
		if r := h.request(typ, 9, wire.Request{}); r.Status != wire.StatusUnsupported || !strings.Contains(r.Message, "not open") {
			t.Fatalf("%s of an unknown instance: %+v", typ, r)
		}
	}
}

func TestServeRunConfigError(t *testing.T) {
	p := Plugin{Spec: testSpec, Run: func(o Open, sink EventSink, s *Session) error {
		if o.Settings["every"] == "" {
			return &ConfigError{Problems: []wire.Problem{{Param: "every", Message: "is required"}}}
		}
		s.Wait()
		return nil
	}}
	h := startPlugin(t, p, ServeOptions{})
	h.handshake(defaultAck)
	if r := h.request(wire.MsgOpen, 1, wire.Request{}); r.Status != wire.StatusInvalidConfig || len(r.Problems) != 1 {
		t.Fatalf("OPEN reply %+v, want invalid_config naming every", r)
	}
	h.open(1, map[string]string{"every": "1s"})
}

// countSource is a polled source of n events of kind tick, at most per
// events per call, with the optional interfaces recorded.
type countSource struct {
	n, per   int
	sent     int
	mu       sync.Mutex
	acks     []uint64
	stopped  bool
	closed   bool
	progress bool
}

func (s *countSource) NextBatch(b *Batch) error {
	if s.sent == s.n {
		return ErrEndOfStream
	}
	for i := 0; (s.per == 0 || i < s.per) && s.sent < s.n; i++ {
		if err := b.Append(0, 0, 0, []byte(fmt.Sprintf("event %d", s.sent))); err != nil {
			return err
		}
		s.sent++
	}
	return nil
}

func (s *countSource) Ack(pos uint64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.acks = append(s.acks, pos)
	return nil
}

func (s *countSource) Stop() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stopped = true
	return nil
}

func (s *countSource) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	return nil
}

// progressSource is a countSource that reports progress.
type progressSource struct{ *countSource }

func (s progressSource) Progress() (float64, string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.progress = true
	return 50, "half"
}

func TestServePolledSource(t *testing.T) {
	src := &countSource{n: 10000}
	var opened Open
	p := Plugin{Spec: testSpec, Source: func(o Open) (Source, error) { opened = o; return progressSource{src}, nil }}
	h := startPlugin(t, p, ServeOptions{})
	h.handshake(defaultAck)
	h.open(3, map[string]string{"path": "/x"})
	if opened.Instance != 3 || opened.Settings["path"] != "/x" || opened.Resuming {
		t.Fatalf("Source got %+v", opened)
	}
	events, end := h.receiveUntilEnd(3)
	checkPositions(t, events, 1, 10000)
	if string(events[9999].Payload) != "event 9999" || events[0].Kind != "tick" || events[0].Time == 0 {
		t.Fatalf("last event %+v, first %+v", events[9999], events[0])
	}
	if !end.HasPosition || end.Position != 10000 {
		t.Fatalf("END %+v, want position 10000", end)
	}
	r := h.request(wire.MsgStop, 3, wire.Request{})
	if r.Status != wire.StatusOK || !r.HasPosition || r.Position != 10000 {
		t.Fatalf("STOP reply %+v, want ok at 10000", r)
	}
	if r := h.request(wire.MsgClose, 3, wire.Request{}); r.Status != wire.StatusOK {
		t.Fatalf("CLOSE reply %+v", r)
	}
	src.mu.Lock()
	defer src.mu.Unlock()
	if !src.stopped || !src.closed || !src.progress {
		t.Fatalf("stopped %v closed %v progress asked %v, want all", src.stopped, src.closed, src.progress)
	}
	if len(src.acks) == 0 || src.acks[len(src.acks)-1] != 10000 {
		t.Fatalf("Acker got %v, want acks ending at 10000", src.acks)
	}
	for i := 1; i < len(src.acks); i++ {
		if src.acks[i] <= src.acks[i-1] {
			t.Fatalf("Acker got %v: not increasing", src.acks)
		}
	}
}

func TestServeRunSourceEndsAndResumes(t *testing.T) {
	p := Plugin{Spec: testSpec, Run: func(o Open, sink EventSink, s *Session) error {
		for i := range 500 {
			if err := sink.Emit("tock", []byte(fmt.Sprint(i))); err != nil {
				return err
			}
		}
		return ErrEndOfStream
	}}
	h := startPlugin(t, p, ServeOptions{})
	h.handshake(defaultAck)
	h.open(1, nil)
	events, end := h.receiveUntilEnd(1)
	checkPositions(t, events, 1, 500)
	if events[0].Kind != "tock" || string(events[499].Payload) != "499" || end.Position != 500 {
		t.Fatalf("events %+v … %+v, END %+v", events[0], events[499], end)
	}
	if r := h.request(wire.MsgOpen, 2, wire.Request{HasResume: true, Resume: 7000}); r.Status != wire.StatusOK {
		t.Fatalf("OPEN with resume: %+v", r)
	}
	events, end = h.receiveUntilEnd(2)
	checkPositions(t, events, 7001, 500)
	if end.Position != 7500 {
		t.Fatalf("END %+v, want 7500", end)
	}
}

// TestServeRunQuietSpells has goroutines emitting with pauses around
// quietAfter, so that emits sending their own batch, emits racing them and
// the flusher all take turns: every event arrives once, in order.
func TestServeRunQuietSpells(t *testing.T) {
	const goroutines, each = 4, 300
	p := Plugin{Spec: testSpec, Run: func(o Open, sink EventSink, s *Session) error {
		var wg sync.WaitGroup
		errs := make(chan error, goroutines)
		for g := range goroutines {
			wg.Go(func() {
				for i := range each {
					if err := sink.EmitKind(0, 0, []byte(fmt.Sprint(g, " ", i))); err != nil {
						errs <- err
						return
					}
					time.Sleep(time.Duration((g*each+i)*7919%300) * time.Microsecond)
				}
			})
		}
		wg.Wait()
		close(errs)
		if err := <-errs; err != nil {
			return err
		}
		return ErrEndOfStream
	}}
	h := startPlugin(t, p, ServeOptions{})
	h.handshake(defaultAck)
	h.open(1, nil)
	events, _ := h.receiveUntilEnd(1)
	checkPositions(t, events, 1, goroutines*each)
	next := make([]int, goroutines)
	for _, e := range events {
		var g, i int
		if _, err := fmt.Sscan(string(e.Payload), &g, &i); err != nil || g < 0 || g >= goroutines || i != next[g] {
			t.Fatalf("event %q at position %d: want goroutine %d's event %d next", e.Payload, e.Position, g, next[min(max(g, 0), goroutines-1)])
		}
		next[g]++
	}
}

func TestServePolledResume(t *testing.T) {
	p := Plugin{Spec: testSpec, Source: func(o Open) (Source, error) { return &countSource{n: 3}, nil }}
	h := startPlugin(t, p, ServeOptions{})
	h.handshake(defaultAck)
	if r := h.request(wire.MsgOpen, 1, wire.Request{HasResume: true, Resume: 41}); r.Status != wire.StatusOK {
		t.Fatalf("OPEN: %+v", r)
	}
	events, _ := h.receiveUntilEnd(1)
	checkPositions(t, events, 42, 3)
}

func TestServeWindowBackpressure(t *testing.T) {
	const window, total = 2, 2000
	payload := make([]byte, 1000)
	perBatch := (wire.HeaderSize + DefaultBatchBytes - batchPrefix) / (wire.EventHeaderSize + len(payload))

	t.Run("run", func(t *testing.T) {
		var emitted atomic.Int64
		p := Plugin{Spec: testSpec, Run: func(o Open, sink EventSink, s *Session) error {
			for range total {
				if err := sink.EmitKind(0, 1, payload); err != nil {
					return err
				}
				emitted.Add(1)
			}
			return nil
		}}
		testWindow(t, p, window, total, perBatch, &emitted)
	})
	t.Run("polled", func(t *testing.T) {
		var added atomic.Int64
		p := Plugin{Spec: testSpec, Source: func(o Open) (Source, error) {
			return sourceFunc(func(b *Batch) error {
				for added.Load() < total {
					if err := b.Append(0, 1, 0, payload); err != nil {
						return err
					}
					added.Add(1)
				}
				return ErrEndOfStream
			}), nil
		}}
		testWindow(t, p, window, total, perBatch, &added)
	})
}

type sourceFunc func(*Batch) error

func (f sourceFunc) NextBatch(b *Batch) error { return f(b) }

// testWindow checks a host that does not acknowledge receives no more than
// window batches, and holds the plugin to window+2 batches of events (those
// sent, one waiting for credit, one being filled); then that
// acknowledging lets every event through.
func testWindow(t *testing.T, p Plugin, window, total, perBatch int, produced *atomic.Int64) {
	ack := defaultAck
	ack.Window = uint32(window)
	h := startPlugin(t, p, ServeOptions{})
	h.handshake(ack)
	h.open(1, nil)
	var got []wire.Event
	for range window {
		got = append(got, h.events(h.next())...)
	}
	if extra := h.drainQuiet(); len(extra) > 0 {
		t.Fatalf("plugin sent a %s frame beyond the window of %d unacknowledged batches", extra[0].h.Type, window)
	}
	if n, limit := produced.Load(), int64((window+2)*perBatch); n > limit {
		t.Fatalf("plugin produced %d events while the host acknowledged none, want at most %d", n, limit)
	}
	h.ack(1, got[len(got)-1].Position)
	rest, end := h.receiveUntilEnd(1)
	checkPositions(t, append(got, rest...), 1, total)
	if end.Position != uint64(total) {
		t.Fatalf("END %+v", end)
	}
}

func TestServeStopDrains(t *testing.T) {
	var afterStop atomic.Value
	p := Plugin{Spec: testSpec, Run: func(o Open, sink EventSink, s *Session) error {
		for i := 0; ; i++ {
			if err := sink.EmitKind(1, 0, []byte("x")); err != nil {
				afterStop.Store(err)
				return err
			}
		}
	}}
	h := startPlugin(t, p, ServeOptions{})
	h.handshake(defaultAck)
	h.open(1, nil)
	var got []wire.Event
	for len(got) < 5000 {
		ev := h.events(h.next())
		got = append(got, ev...)
		h.ack(1, ev[len(ev)-1].Position)
	}
	h.nextID++
	stopID := h.nextID
	h.send(wire.MsgStop, 1, (&wire.Request{ID: stopID}).AppendTo(nil, wire.MsgStop))
	// Frames before the reply are the drain: acknowledge them as they come.
	var r wire.Reply
	for {
		f := h.next()
		if f.h.Type == wire.MsgEvents {
			ev := h.events(f)
			got = append(got, ev...)
			h.ack(1, ev[len(ev)-1].Position)
			continue
		}
		if f.h.Type != wire.MsgReply {
			t.Fatalf("unexpected %s frame during the drain", f.h.Type)
		}
		if err := r.Decode(f.body); err != nil || r.ID != stopID {
			t.Fatalf("REPLY %+v, %v", r, err)
		}
		break
	}
	checkPositions(t, got, 1, len(got))
	if r.Status != wire.StatusOK || !r.HasPosition || r.Position != got[len(got)-1].Position {
		t.Fatalf("STOP reply %+v, want the last position received, %d", r, got[len(got)-1].Position)
	}
	if rc := h.request(wire.MsgClose, 1, wire.Request{}); rc.Status != wire.StatusOK {
		t.Fatalf("CLOSE reply %+v", rc)
	}
	if extra := h.stash; len(extra) > 0 {
		t.Fatalf("a %s frame came after the STOP reply", extra[0].h.Type)
	}
	if err, _ := afterStop.Load().(error); !errors.Is(err, ErrShutdown) {
		t.Fatalf("EmitKind after STOP returned %v, want ErrShutdown", err)
	}
}

func TestServeStopPolled(t *testing.T) {
	src := &countSource{n: math.MaxInt, per: 100}
	h := startPlugin(t, Plugin{Spec: testSpec, Source: func(Open) (Source, error) { return src, nil }}, ServeOptions{})
	h.handshake(defaultAck)
	h.open(1, nil)
	first := h.events(h.next())
	last := first[len(first)-1].Position
	h.nextID++
	h.send(wire.MsgStop, 1, (&wire.Request{ID: h.nextID}).AppendTo(nil, wire.MsgStop))
	for {
		f := h.next()
		if f.h.Type == wire.MsgReply {
			var r wire.Reply
			if err := r.Decode(f.body); err != nil {
				t.Fatal(err)
			}
			if r.Position != last || !r.HasPosition {
				t.Fatalf("STOP reply %+v, want position %d", r, last)
			}
			break
		}
		ev := h.events(f)
		last = ev[len(ev)-1].Position
		h.ack(1, last)
	}
	src.mu.Lock()
	defer src.mu.Unlock()
	if !src.stopped || src.closed {
		t.Fatalf("after STOP: stopped %v closed %v, want stopped only", src.stopped, src.closed)
	}
}

// recordSink writes batches by their first payload byte: o ok, r retry,
// anything else an error.
type recordSink struct {
	mu      sync.Mutex
	written []string
	stopped bool
	closed  bool
}

func (s *recordSink) Write(b *wire.Events) error {
	r := b.Reader()
	var e wire.Event
	var first string
	for r.Next(&e) {
		if first == "" {
			first = string(e.Payload)
		}
		s.mu.Lock()
		s.written = append(s.written, string(e.Payload))
		s.mu.Unlock()
	}
	switch first[0] {
	case 'o':
		return nil
	case 'r':
		return Retry(errors.New("backend busy"))
	}
	return errors.New("record rejected")
}

func (s *recordSink) Stop() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stopped = true
	return nil
}

func (s *recordSink) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	return nil
}

func writeBody(batch uint64, first uint64, payloads ...string) []byte {
	return append(binary.LittleEndian.AppendUint64(nil, batch), batchBody(first, payloads...)...)
}

func TestServeSink(t *testing.T) {
	snk := &recordSink{}
	p := Plugin{Spec: testSpec, Sink: func(Open) (Sink, error) { return snk, nil }}
	ack := defaultAck
	ack.Window = 4
	h := startPlugin(t, p, ServeOptions{})
	h.handshake(ack)
	if h.hello.Role != wire.RoleSink {
		t.Fatalf("HELLO role %s, want sink", h.hello.Role)
	}
	h.open(1, nil)
	// A full window at once: the plugin must copy each body out of its read buffer.
	h.send(wire.MsgWrite, 1, writeBody(10, 1, "ok-1", "ok-2"))
	h.send(wire.MsgWrite, 1, writeBody(11, 3, "retry-3"))
	h.send(wire.MsgWrite, 1, writeBody(12, 4, "err-4"))
	h.send(wire.MsgWrite, 1, writeBody(13, 5, "ok-5", "ok-6", "ok-7"))
	want := []wire.Result{
		{Batch: 10, Status: wire.WriteOK},
		{Batch: 11, Status: wire.WriteRetry, Message: "retry: backend busy"},
		{Batch: 12, Status: wire.WriteError, Message: "record rejected"},
		{Batch: 13, Status: wire.WriteOK},
	}
	for _, w := range want {
		var got wire.Result
		if err := got.Decode(h.expect(wire.MsgResult).body); err != nil || got != w {
			t.Fatalf("RESULT %+v (%v), want %+v", got, err, w)
		}
	}
	h.send(wire.MsgWrite, 1, writeBody(14, 8, "ok-8"))
	h.expect(wire.MsgResult)
	// The retried batch is written now, after a later one: STOP still
	// names the highest position written (PROTOCOL.md §6.6).
	h.send(wire.MsgWrite, 1, writeBody(11, 3, "ok-3"))
	r := h.request(wire.MsgStop, 1, wire.Request{})
	// The RESULT for the WRITE sent before STOP comes before its reply.
	if len(h.stash) != 1 || h.stash[0].h.Type != wire.MsgResult {
		t.Fatalf("frames before the STOP reply: %v, want one RESULT", h.stash)
	}
	h.stash = nil
	if r.Status != wire.StatusOK || !r.HasPosition || r.Position != 8 {
		t.Fatalf("STOP reply %+v, want ok at position 8", r)
	}
	if r := h.request(wire.MsgClose, 1, wire.Request{}); r.Status != wire.StatusOK {
		t.Fatalf("CLOSE reply %+v", r)
	}
	snk.mu.Lock()
	defer snk.mu.Unlock()
	if got := strings.Join(snk.written, " "); got != "ok-1 ok-2 retry-3 err-4 ok-5 ok-6 ok-7 ok-8 ok-3" || !snk.stopped || !snk.closed {
		t.Fatalf("sink wrote %q, stopped %v, closed %v", got, snk.stopped, snk.closed)
	}
}

func TestServeSinkWindowExceeded(t *testing.T) {
	block := make(chan struct{})
	defer close(block)
	p := Plugin{Spec: testSpec, Sink: func(Open) (Sink, error) {
		return sinkFunc(func(*wire.Events) error { <-block; return nil }), nil
	}}
	ack := defaultAck
	ack.Window = 2
	h := startPlugin(t, p, ServeOptions{})
	h.handshake(ack)
	h.open(1, nil)
	for i := range 3 {
		h.send(wire.MsgWrite, 1, writeBody(uint64(i), uint64(i+1), "x"))
	}
	var e wire.ErrorMsg
	if err := e.Decode(h.expect(wire.MsgError).body); err != nil || e.Code != wire.ErrCodeWindowExceeded {
		t.Fatalf("ERROR %+v (%v), want window_exceeded", e, err)
	}
	h.wantExit(ExitProtocolViolation, "window is 2")
}

type sinkFunc func(*wire.Events) error

func (f sinkFunc) Write(b *wire.Events) error { return f(b) }

func TestServeGoodbyeFlushesAndCloses(t *testing.T) {
	src := &countSource{n: math.MaxInt, per: 10}
	h := startPlugin(t, Plugin{Spec: testSpec, Source: func(Open) (Source, error) { return src, nil }}, ServeOptions{})
	h.handshake(defaultAck)
	h.open(1, nil)
	h.events(h.next())
	h.send(wire.MsgGoodbye, 0, (&wire.Goodbye{}).AppendTo(nil))
	var last uint64
	for {
		f := h.next()
		if f.h.Type == wire.MsgGoodbye {
			var g wire.Goodbye
			if err := g.Decode(f.body); err != nil || g.Reason != wire.GoodbyeRequested {
				t.Fatalf("GOODBYE %+v, %v", g, err)
			}
			break
		}
		ev := h.events(f)
		if ev[0].Position <= last {
			t.Fatalf("positions went back from %d to %d", last, ev[0].Position)
		}
		last = ev[len(ev)-1].Position
		h.ack(1, last)
	}
	h.wantExit(ExitOK, "")
	src.mu.Lock()
	defer src.mu.Unlock()
	if !src.stopped || !src.closed {
		t.Fatalf("after GOODBYE: stopped %v closed %v, want both", src.stopped, src.closed)
	}
}

func TestServeSinkGoodbye(t *testing.T) {
	snk := &recordSink{}
	h := startPlugin(t, Plugin{Spec: testSpec, Sink: func(Open) (Sink, error) { return snk, nil }}, ServeOptions{})
	h.handshake(defaultAck)
	h.open(1, nil)
	h.send(wire.MsgWrite, 1, writeBody(1, 1, "ok"))
	h.expect(wire.MsgResult)
	h.send(wire.MsgGoodbye, 0, (&wire.Goodbye{}).AppendTo(nil))
	h.expect(wire.MsgGoodbye)
	h.wantExit(ExitOK, "")
	snk.mu.Lock()
	defer snk.mu.Unlock()
	if !snk.stopped || !snk.closed {
		t.Fatalf("after GOODBYE: stopped %v closed %v, want both", snk.stopped, snk.closed)
	}
}

func TestServeHostEOF(t *testing.T) {
	p := Plugin{Spec: testSpec, Run: func(o Open, sink EventSink, s *Session) error { s.Wait(); return nil }}
	h := startPlugin(t, p, ServeOptions{})
	h.handshake(defaultAck)
	h.open(1, nil)
	h.w.Close()
	h.wantExit(ExitConnectionLost, "plugctl runtime: host connection lost: the host closed the connection (EOF)")
}

func TestServeHostStopsReading(t *testing.T) {
	p := Plugin{Spec: testSpec, Run: func(o Open, sink EventSink, s *Session) error {
		for sink.Emit("tick", make([]byte, 100)) == nil {
		}
		return nil
	}}
	h := startPlugin(t, p, ServeOptions{})
	h.handshake(defaultAck)
	h.open(1, nil)
	h.r.Close()
	h.wantExit(ExitConnectionLost, "host connection lost")
}

func TestServeGarbage(t *testing.T) {
	for _, tc := range []struct {
		name  string
		bytes []byte
		code  wire.ErrorCode
		text  string
	}{
		{"unknown type", []byte{0, 0, 0, 0, 0x7f, 0, 0, 0}, wire.ErrCodeMalformed, "unknown message type 0x7f"},
		{"oversized", wire.AppendHeader(nil, wire.MsgAck, 1, wire.DefaultMaxFrame+1), wire.ErrCodeTooLarge, "frame too large"},
		{"wrong direction", wire.AppendHeader(nil, wire.MsgEvents, 1, 0), wire.ErrCodeUnexpected, "EVENTS frame from the host"},
		{"bad body", append(wire.AppendHeader(nil, wire.MsgAck, 1, 3), 1, 2, 3), wire.ErrCodeMalformed, "ACK body truncated"},
		{"text", []byte("hello, world! this is not a frame\n"), wire.ErrCodeTooLarge, "protocol violation by host"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := startPlugin(t, Plugin{Spec: testSpec, Run: func(Open, EventSink, *Session) error { return nil }}, ServeOptions{})
			h.handshake(defaultAck)
			h.sendRaw(tc.bytes)
			var e wire.ErrorMsg
			if err := e.Decode(h.expect(wire.MsgError).body); err != nil || e.Code != tc.code {
				t.Fatalf("ERROR %+v (%v), want code %s", e, err, tc.code)
			}
			h.wantExit(ExitProtocolViolation, tc.text)
		})
	}
}

func TestServeAckErrors(t *testing.T) {
	p := Plugin{Spec: testSpec, Run: func(o Open, sink EventSink, s *Session) error { s.Wait(); return nil }}
	t.Run("unknown instance", func(t *testing.T) {
		h := startPlugin(t, p, ServeOptions{})
		h.handshake(defaultAck)
		h.ack(5, 1)
		var e wire.ErrorMsg
		if err := e.Decode(h.expect(wire.MsgError).body); err != nil || e.Code != wire.ErrCodeUnknownInstance {
			t.Fatalf("ERROR %+v (%v)", e, err)
		}
		h.wantExit(ExitProtocolViolation, "ACK for instance 5, which is not open")
	})
	t.Run("beyond sent", func(t *testing.T) {
		h := startPlugin(t, p, ServeOptions{})
		h.handshake(defaultAck)
		h.open(1, nil)
		h.ack(1, 3)
		h.expect(wire.MsgError)
		h.wantExit(ExitProtocolViolation, "beyond the last position sent")
	})
}

// TestServeWrongRole: a message the plugin's role never takes is
// unexpected whatever the instance it names and whatever its body.
func TestServeWrongRole(t *testing.T) {
	source := Plugin{Spec: testSpec, Run: func(o Open, sink EventSink, s *Session) error { s.Wait(); return nil }}
	sink := Plugin{Spec: testSpec, Sink: func(Open) (Sink, error) { return sinkFunc(func(*wire.Events) error { return nil }), nil }}
	for _, tc := range []struct {
		name  string
		p     Plugin
		frame []byte
		text  string
	}{
		{"ACK on a sink, no instance open", sink, append(wire.AppendHeader(nil, wire.MsgAck, 5, 8), make([]byte, 8)...), "ACK for instance 5, but this plugin is a sink"},
		{"ACK on a sink, body cut short", sink, append(wire.AppendHeader(nil, wire.MsgAck, 5, 3), 1, 2, 3), "ACK for instance 5, but this plugin is a sink"},
		{"WRITE on a source, no instance open", source, append(wire.AppendHeader(nil, wire.MsgWrite, 5, 3), 1, 2, 3), "WRITE for instance 5, but this plugin is a source"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := startPlugin(t, tc.p, ServeOptions{})
			h.handshake(defaultAck)
			h.sendRaw(tc.frame)
			var e wire.ErrorMsg
			if err := e.Decode(h.expect(wire.MsgError).body); err != nil || e.Code != wire.ErrCodeUnexpected {
				t.Fatalf("ERROR %+v (%v), want unexpected", e, err)
			}
			h.wantExit(ExitProtocolViolation, tc.text)
		})
	}
}

// produce runs f(id) for n producers at once, as a Run source's goroutines,
// and returns the first error.
func produce(n int, f func(id int) error) error {
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for id := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := f(id); err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	return <-errs
}

func TestServeManyProducers(t *testing.T) {
	const producers, each = 50, 2000
	p := Plugin{Spec: testSpec, Run: func(o Open, sink EventSink, s *Session) error {
		return produce(producers, func(g int) error {
			payload := make([]byte, 16+g)
			for i := range payload[16:] {
				payload[16+i] = byte(g)
			}
			for i := range each {
				binary.LittleEndian.PutUint64(payload, uint64(g))
				binary.LittleEndian.PutUint64(payload[8:], uint64(i))
				if err := sink.EmitKind(Kind(g%2), 0, payload); err != nil {
					return err
				}
			}
			return nil
		})
	}}
	ack := defaultAck
	ack.Window = 4
	h := startPlugin(t, p, ServeOptions{BatchBytes: 4 << 10})
	h.handshake(ack)
	h.open(1, nil)
	events, end := h.receiveUntilEnd(1)
	checkPositions(t, events, 1, producers*each)
	next := make([]uint64, producers)
	for _, e := range events {
		g := binary.LittleEndian.Uint64(e.Payload)
		if g >= producers || len(e.Payload) != 16+int(g) || !bytes.Equal(e.Payload[16:], bytes.Repeat([]byte{byte(g)}, int(g))) {
			t.Fatalf("event %d has a corrupt payload %x", e.Position, e.Payload)
		}
		if seq := binary.LittleEndian.Uint64(e.Payload[8:]); seq != next[g] {
			t.Fatalf("producer %d: event %d arrived where %d was due", g, seq, next[g])
		}
		next[g]++
		if e.Kind != testSpec.Events[g%2].Name {
			t.Fatalf("event %d of producer %d has kind %q", e.Position, g, e.Kind)
		}
	}
	if end.Position != producers*each {
		t.Fatalf("END %+v", end)
	}
}

func TestSessionWakesOnStop(t *testing.T) {
	type observed struct {
		slept, shutting  bool
		emitErr, progErr error
	}
	seen := make(chan observed, 1)
	p := Plugin{Spec: testSpec, Run: func(o Open, sink EventSink, s *Session) error {
		var ob observed
		var wg sync.WaitGroup
		wg.Add(2)
		go func() { defer wg.Done(); ob.slept = s.Sleep(time.Hour) }()
		go func() { defer wg.Done(); <-s.Done() }()
		s.Wait()
		wg.Wait()
		ob.shutting = s.ShuttingDown()
		ob.emitErr = sink.Emit("tick", nil)
		ob.progErr = sink.Progress(10, "")
		seen <- ob
		return nil
	}}
	h := startPlugin(t, p, ServeOptions{})
	h.handshake(defaultAck)
	h.open(1, nil)
	if r := h.request(wire.MsgStop, 1, wire.Request{}); r.Status != wire.StatusOK || r.HasPosition {
		t.Fatalf("STOP reply %+v, want ok with no position", r)
	}
	select {
	case ob := <-seen:
		if ob.slept || !ob.shutting || !errors.Is(ob.emitErr, ErrShutdown) || !errors.Is(ob.progErr, ErrShutdown) {
			t.Fatalf("after STOP: %+v", ob)
		}
	case <-time.After(hangGuard):
		t.Fatal("Run did not see the stop")
	}
	if r := h.request(wire.MsgClose, 1, wire.Request{}); r.Status != wire.StatusOK {
		t.Fatalf("CLOSE reply %+v", r)
	}
}

func TestServeHeartbeats(t *testing.T) {
	p := Plugin{Spec: testSpec, Run: func(o Open, sink EventSink, s *Session) error { s.Wait(); return nil }}
	h := startPlugin(t, p, ServeOptions{})
	ack := defaultAck
	ack.HeartbeatMS = 20
	h.handshake(ack)
	// The plugin beats too.
	timer := time.NewTimer(hangGuard)
	defer timer.Stop()
	for beat := false; !beat; {
		select {
		case f := <-h.frames:
			beat = f.h.Type == wire.MsgHeartbeat
		case <-timer.C:
			t.Fatal("no HEARTBEAT from the plugin")
		}
	}
	h.stopHeartbeats()
	h.wantExit(ExitConnectionLost, "no frame from the host for 3 heartbeat intervals")
}

func TestServeSignals(t *testing.T) {
	t.Run("graceful", func(t *testing.T) {
		sigs := make(chan os.Signal, 2)
		p := Plugin{Spec: testSpec, Run: func(o Open, sink EventSink, s *Session) error {
			if err := sink.Emit("tick", []byte("last words")); err != nil {
				return err
			}
			s.Wait()
			return sink.Emit("tick", nil)
		}}
		h := startPlugin(t, p, ServeOptions{Signals: sigs})
		h.handshake(defaultAck)
		h.open(1, nil)
		if ev := h.events(h.next()); string(ev[0].Payload) != "last words" {
			t.Fatalf("got %+v", ev)
		}
		sigs <- syscall.SIGTERM
		var g wire.Goodbye
		if err := g.Decode(h.expect(wire.MsgGoodbye).body); err != nil || g.Reason != wire.GoodbyeSignal {
			t.Fatalf("GOODBYE %+v, %v", g, err)
		}
		h.wantExit(ExitOK, "shutting down")
	})
	t.Run("host never acknowledges", func(t *testing.T) {
		sigs := make(chan os.Signal, 2)
		var emitted atomic.Int64
		p := Plugin{Spec: testSpec, Run: func(o Open, sink EventSink, s *Session) error {
			for sink.Emit("tick", nil) == nil {
				emitted.Add(1)
			}
			return nil
		}}
		ack := defaultAck
		ack.Window = 1
		h := startPlugin(t, p, ServeOptions{Signals: sigs, ShutdownTimeout: 100 * time.Millisecond})
		h.handshake(ack)
		h.open(1, nil)
		sent := len(h.events(h.next()))
		// Wait for an event the window keeps from being sent.
		for deadline := time.Now().Add(hangGuard); emitted.Load() <= int64(sent); time.Sleep(time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatal("the plugin emitted nothing after its first batch")
			}
		}
		sigs <- os.Interrupt
		// The flush cannot finish without an ACK: the shutdown gives up on it.
		h.expect(wire.MsgGoodbye)
		h.wantExit(ExitOK, "did not finish within 100ms")
	})
	t.Run("second signal", func(t *testing.T) {
		sigs := make(chan os.Signal, 2)
		p := Plugin{Spec: testSpec, Run: func(o Open, sink EventSink, s *Session) error {
			for sink.Emit("tick", nil) == nil {
			}
			return nil
		}}
		ack := defaultAck
		ack.Window = 1
		h := startPlugin(t, p, ServeOptions{Signals: sigs, ShutdownTimeout: time.Hour})
		h.handshake(ack)
		h.open(1, nil)
		h.events(h.next())
		sigs <- os.Interrupt
		sigs <- os.Interrupt
		h.wantExit(ExitPluginError, "second signal")
	})
}

// failingPlugin is a source whose instances opened with the setting fail
// send one event ("before") and then fail, the way its kind says: a Run
// returning an error, a polled source returning one, or a polled source
// handing over an event too large for any frame. Other instances emit
// until they are stopped.
func failingPlugin(kind string) Plugin {
	p := Plugin{Spec: testSpec}
	if kind == "run" {
		p.Run = func(o Open, sink EventSink, s *Session) error {
			if o.Settings["fail"] != "" {
				if err := sink.Emit("tick", []byte("before")); err != nil {
					return err
				}
				return errors.New("sensor unplugged")
			}
			for s.Sleep(time.Millisecond) {
				if err := sink.Emit("tock", []byte("on")); err != nil {
					return err
				}
			}
			return nil
		}
		return p
	}
	p.Source = func(o Open) (Source, error) {
		fail, sent := o.Settings["fail"] != "", false
		return sourceFunc(func(b *Batch) error {
			switch {
			case !fail:
				time.Sleep(time.Millisecond)
				return b.Append(0, 0, 1, []byte("on"))
			case !sent:
				sent = true
				return b.Append(0, 0, 0, []byte("before"))
			case kind == "too-large":
				return b.Append(0, 0, 0, make([]byte, wire.DefaultMaxFrame))
			}
			return errors.New("sensor unplugged")
		}), nil
	}
	return p
}

// TestServeInstanceFailure: from version 3 on, a failed instance sends its
// last events and END failed with the reason, and that is all: another
// instance keeps emitting, a new one opens, STOP and CLOSE of the failed
// one are answered ok, and the session ends cleanly.
func TestServeInstanceFailure(t *testing.T) {
	for kind, reason := range map[string]string{
		"run":       "sensor unplugged",
		"polled":    "sensor unplugged",
		"too-large": ErrEventTooLarge.Error(),
	} {
		t.Run(kind, func(t *testing.T) {
			h := startPlugin(t, failingPlugin(kind), ServeOptions{})
			h.handshake(defaultAck)
			h.open(2, nil)
			h.open(1, map[string]string{"fail": "1"})
			var failedEnd *wire.End
			var before []wire.Event
			afterEnd := 0 // instance 2's events that followed END
			for afterEnd == 0 {
				f := h.next()
				switch {
				case f.h.Type == wire.MsgEvents:
					ev := h.events(f)
					h.ack(f.h.Instance, ev[len(ev)-1].Position)
					if f.h.Instance == 1 {
						before = append(before, ev...)
					} else if failedEnd != nil {
						afterEnd += len(ev)
					}
				case f.h.Type == wire.MsgEnd && f.h.Instance == 1:
					failedEnd = new(wire.End)
					if err := failedEnd.Decode(f.body, h.version); err != nil {
						t.Fatal(err)
					}
				case f.h.Type == wire.MsgProgress:
				default:
					t.Fatalf("%s frame for instance %d", f.h.Type, f.h.Instance)
				}
			}
			if len(before) != 1 || string(before[0].Payload) != "before" {
				t.Fatalf("instance 1 sent %+v before failing, want the one event \"before\"", before)
			}
			if !strings.Contains(failedEnd.Message, reason) || *failedEnd != (wire.End{HasPosition: true, Position: 1, Status: wire.EndFailed, Message: failedEnd.Message}) {
				t.Fatalf("END %+v, want failed at position 1 with a message naming %q", *failedEnd, reason)
			}
			if r := h.request(wire.MsgStop, 1, wire.Request{}); r.Status != wire.StatusOK || !r.HasPosition || r.Position != 1 {
				t.Fatalf("STOP of the failed instance: %+v, want ok at position 1", r)
			}
			if r := h.request(wire.MsgClose, 1, wire.Request{}); r.Status != wire.StatusOK {
				t.Fatalf("CLOSE of the failed instance: %+v, want ok: END already reported the failure", r)
			}
			h.open(3, nil)
			h.send(wire.MsgGoodbye, 0, (&wire.Goodbye{Reason: wire.GoodbyeNormal}).AppendTo(nil))
			for {
				f := h.next()
				if f.h.Type == wire.MsgGoodbye {
					var g wire.Goodbye
					if err := g.Decode(f.body); err != nil || g.Reason != wire.GoodbyeRequested {
						t.Fatalf("GOODBYE %+v, %v; want requested", g, err)
					}
					break
				}
			}
			h.wantExit(ExitOK, "instance 1 failed: "+reason)
		})
	}
}

// TestServeInstanceFailureBeforeVersion3: versions 1 and 2 cannot fail one
// instance alone, so a failed instance ends the plugin: its events are
// flushed, then GOODBYE error with the reason, exit 1.
func TestServeInstanceFailureBeforeVersion3(t *testing.T) {
	for _, version := range []uint16{1, 2} {
		t.Run(fmt.Sprint(version), func(t *testing.T) {
			h := startPlugin(t, failingPlugin("run"), ServeOptions{})
			ack := defaultAck
			ack.Version = version
			h.handshake(ack)
			h.open(1, map[string]string{"fail": "1"})
			var last wire.Event
			for {
				f := h.next()
				if f.h.Type == wire.MsgGoodbye {
					var g wire.Goodbye
					if err := g.Decode(f.body); err != nil || g.Reason != wire.GoodbyeError || g.Message != "instance 1 failed: sensor unplugged" {
						t.Fatalf("GOODBYE %+v, %v", g, err)
					}
					break
				}
				ev := h.events(f)
				last = ev[len(ev)-1]
				h.ack(1, last.Position)
			}
			if string(last.Payload) != "before" {
				t.Fatalf("the event emitted before the failure was not flushed: %+v", last)
			}
			h.wantExit(ExitPluginError, "instance 1 failed: sensor unplugged")
		})
	}
}

func TestServeProgress(t *testing.T) {
	p := Plugin{Spec: testSpec, Run: func(o Open, sink EventSink, s *Session) error {
		if err := sink.Progress(101, ""); err == nil {
			return errors.New("Progress(101) succeeded")
		}
		if err := sink.Progress(42.5, "17 of 40 MiB"); err != nil {
			return err
		}
		s.Wait()
		return nil
	}}
	h := startPlugin(t, p, ServeOptions{})
	h.handshake(defaultAck)
	h.open(1, nil)
	var pr wire.Progress
	if err := pr.Decode(h.expect(wire.MsgProgress).body); err != nil || pr.Percent != 42.5 || pr.Text != "17 of 40 MiB" {
		t.Fatalf("PROGRESS %+v, %v", pr, err)
	}
}

func TestServeOpenWaitsForSetup(t *testing.T) {
	var configured atomic.Bool
	release := make(chan struct{})
	p := Plugin{
		Spec: testSpec,
		Setup: func(map[string]string) error {
			<-release
			configured.Store(true)
			return nil
		},
		Source: func(Open) (Source, error) {
			if !configured.Load() {
				return nil, errors.New("opened before Setup finished")
			}
			return &countSource{n: 1}, nil
		},
	}
	h := startPlugin(t, p, ServeOptions{})
	h.handshake(defaultAck)
	// Both requests at once, without waiting for the first answer.
	h.send(wire.MsgSetup, 0, (&wire.Request{ID: 1}).AppendTo(nil, wire.MsgSetup))
	h.send(wire.MsgOpen, 1, (&wire.Request{ID: 2}).AppendTo(nil, wire.MsgOpen))
	close(release)
	for _, id := range []uint32{1, 2} {
		if r := h.reply(id); r.Status != wire.StatusOK {
			t.Fatalf("reply to request %d: %+v", id, r)
		}
	}
	if r := h.request(wire.MsgSetup, 0, wire.Request{}); r.Status != wire.StatusUnsupported || !strings.Contains(r.Message, "after OPEN") {
		t.Fatalf("SETUP after OPEN: %+v", r)
	}
}

func TestServeOpenWithoutSetup(t *testing.T) {
	var setups atomic.Int32
	p := Plugin{
		Spec: testSpec,
		Setup: func(global map[string]string) error {
			setups.Add(1)
			if len(global) != 0 {
				return fmt.Errorf("want no settings, got %v", global)
			}
			return nil
		},
		Source: func(Open) (Source, error) { return &countSource{n: 1}, nil },
	}
	h := startPlugin(t, p, ServeOptions{})
	h.handshake(defaultAck)
	h.open(1, nil)
	h.open(2, nil)
	if n := setups.Load(); n != 1 {
		t.Fatalf("Setup ran %d times for a host that sent no SETUP, want 1", n)
	}

	// After a refused SETUP no instance opens, until a SETUP succeeds.
	p.Setup = func(global map[string]string) error {
		if global["region"] == "" {
			return &ConfigError{Problems: []wire.Problem{{Param: "region", Message: "required"}}}
		}
		return nil
	}
	h = startPlugin(t, p, ServeOptions{})
	h.handshake(defaultAck)
	if r := h.request(wire.MsgSetup, 0, wire.Request{}); r.Status != wire.StatusInvalidConfig {
		t.Fatalf("SETUP without region: %+v", r)
	}
	if r := h.request(wire.MsgOpen, 1, wire.Request{}); r.Status != wire.StatusInvalidConfig || !strings.Contains(r.Message, "refused") {
		t.Fatalf("OPEN after a refused SETUP: %+v", r)
	}
	if r := h.request(wire.MsgSetup, 0, wire.Request{Settings: map[string]string{"region": "eu"}}); r.Status != wire.StatusOK {
		t.Fatalf("corrected SETUP: %+v", r)
	}
	h.open(2, nil)

	// When the defaults are not a valid configuration, OPEN says so.
	p.Setup = func(map[string]string) error {
		return &ConfigError{Problems: []wire.Problem{{Param: "region", Message: "required"}}}
	}
	h = startPlugin(t, p, ServeOptions{})
	h.handshake(defaultAck)
	r := h.request(wire.MsgOpen, 1, wire.Request{})
	if r.Status != wire.StatusInvalidConfig || len(r.Problems) != 1 || r.Problems[0].Param != "region" || !strings.Contains(r.Message, "no SETUP was sent") {
		t.Fatalf("OPEN with invalid global defaults: %+v", r)
	}
}

func TestServeIdleSourceBacksOff(t *testing.T) {
	var calls atomic.Int64
	p := Plugin{Spec: testSpec, Source: func(Open) (Source, error) {
		return sourceFunc(func(*Batch) error {
			calls.Add(1)
			return ErrTimeout
		}), nil
	}}
	h := startPlugin(t, p, ServeOptions{})
	h.handshake(defaultAck)
	h.open(1, nil)
	time.Sleep(300 * time.Millisecond)
	// Pauses growing to 50 ms allow about 15 calls in 300 ms; a loop
	// without them makes hundreds of thousands.
	if n := calls.Load(); n > 1000 {
		t.Fatalf("NextBatch called %d times in 300 ms by a source that always times out", n)
	}
	if r := h.request(wire.MsgStop, 1, wire.Request{}); r.Status != wire.StatusOK || r.HasPosition {
		t.Fatalf("STOP reply %+v", r)
	}
}

// TestServeRingOfferedButNotGiven: a plugin that calls Serve itself on a
// host's stdio, with the host's ring variable set but no Ring, leaves out
// version 2, with which a host that offered a ring would choose it, and
// keeps the later versions on the stream; likewise version 4 for the input
// ring.
func TestServeRingOfferedButNotGiven(t *testing.T) {
	for _, tc := range []struct {
		env  string
		want []uint16
	}{
		{wire.EnvRingFD, []uint16{1, 3, 4}},
		{wire.EnvInputRingFD, []uint16{1, 2, 3}},
	} {
		t.Run(tc.env, func(t *testing.T) {
			t.Setenv(tc.env, "3")
			h := startPlugin(t, Plugin{Spec: testSpec, Run: func(Open, EventSink, *Session) error { return nil }}, ServeOptions{})
			ack := defaultAck
			ack.Version = slices.Max(tc.want)
			h.handshake(ack)
			if !slices.Equal(h.hello.Versions, tc.want) {
				t.Fatalf("HELLO offers versions %v, want %v", h.hello.Versions, tc.want)
			}
			h.open(1, nil)
			if _, end := h.receiveUntilEnd(1); end.Status != wire.EndFinished {
				t.Fatalf("END %+v, want finished", end)
			}
		})
	}
}

// TestServeHelloAckVersionFirst: a HELLO_ACK choosing a version the plugin
// did not offer is unexpected, whatever the rest of its body holds, since
// the version decides that body's layout (PROTOCOL.md §9 step 3); a body
// too short to hold a version is malformed.
func TestServeHelloAckVersionFirst(t *testing.T) {
	for _, tc := range []struct {
		name string
		body []byte
		code wire.ErrorCode
		text string
	}{
		{"unoffered version, short body", []byte{9, 0}, wire.ErrCodeUnexpected, "chose protocol version 9"},
		{"unoffered version, whole body", (&wire.HelloAck{Version: 9, MaxFrame: wire.DefaultMaxFrame, HeartbeatMS: 1000, Window: 4}).AppendTo(nil), wire.ErrCodeUnexpected, "chose protocol version 9"},
		{"no version", []byte{1}, wire.ErrCodeMalformed, "HELLO_ACK body truncated"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := startPlugin(t, Plugin{Spec: testSpec, Run: func(Open, EventSink, *Session) error { return nil }}, ServeOptions{})
			h.expect(wire.MsgHello)
			h.send(wire.MsgHelloAck, 0, tc.body)
			var e wire.ErrorMsg
			if err := e.Decode(h.expect(wire.MsgError).body); err != nil || e.Code != tc.code {
				t.Fatalf("ERROR %+v (%v), want code %s", e, err, tc.code)
			}
			h.wantExit(ExitProtocolViolation, tc.text)
		})
	}
}
