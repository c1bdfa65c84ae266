package sdk

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/plugctl/plugctl/wire"
)

// ringHost is the host's side of a session whose plugin frames come
// through a ring (or, without one, the plugin's output pipe), written
// with the codec alone. Serve runs on real pipes, as in a plugin process.
type ringHost struct {
	t      *testing.T
	ring   *wire.Ring // nil: the frames stay on the pipe
	out    *os.File   // to the plugin
	in     *os.File   // from the plugin: HELLO, then doorbells
	fr     *wire.FrameReader
	mu     sync.Mutex // serializes writes to out
	served chan error // what Serve returned
}

// startRingHost runs Serve for p with a ring of size bytes (none if 0) and
// reads the plugin's HELLO.
func startRingHost(t *testing.T, p Plugin, size int, opts ServeOptions) *ringHost {
	t.Helper()
	h := &ringHost{t: t, served: make(chan error, 1)}
	if size > 0 {
		var err error
		if h.ring, err = wire.InitRing(make([]byte, wire.RingMemSize(size)), size); err != nil {
			t.Fatal(err)
		}
	}
	toPlugin, out, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	in, fromPlugin, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	h.out, h.in = out, in
	t.Cleanup(func() {
		out.Close()
		in.Close()
	})
	opts.Ring = h.ring
	if opts.Stderr == nil {
		opts.Stderr = io.Discard
	}
	go func() {
		h.served <- Serve(toPlugin, fromPlugin, p, opts)
		fromPlugin.Close()
		toPlugin.Close()
	}()
	h.fr = wire.NewFrameReader(in, wire.HelloMaxFrame)
	if hd, _, err := h.fr.Next(); err != nil || hd.Type != wire.MsgHello {
		t.Fatalf("first frame %s, %v; want HELLO", hd.Type, err)
	}
	return h
}

// send writes one frame to the plugin.
func (h *ringHost) send(t wire.MsgType, instance uint16, body []byte) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.out.Write(append(wire.AppendHeader(nil, t, instance, len(body)), body...))
}

// welcome sends HELLO_ACK with heartbeats every heartbeat and the
// default window, choosing the ring if there is one, and opens instance 1.
func (h *ringHost) welcome(heartbeat time.Duration) { h.welcomeWindow(heartbeat, defaultAck.Window) }

func (h *ringHost) welcomeWindow(heartbeat time.Duration, window uint32) {
	ack := defaultAck
	ack.HeartbeatMS = uint32(heartbeat / time.Millisecond)
	ack.Window = window
	if h.ring != nil {
		ack.Transport = wire.TransportRing
	}
	h.send(wire.MsgHelloAck, 0, ack.AppendTo(nil))
	h.send(wire.MsgOpen, 1, (&wire.Request{ID: 1}).AppendTo(nil, wire.MsgOpen))
}

// reader returns the reader of the plugin's frames after HELLO.
func (h *ringHost) reader() *wire.FrameReader {
	if h.ring == nil {
		return h.fr
	}
	return wire.NewFrameReader(wire.NewRingReader(h.ring, h.in), wire.DefaultMaxFrame)
}

// beat sends HEARTBEATs a third of heartbeat apart until the test ends.
func (h *ringHost) beat(heartbeat time.Duration) {
	stop := make(chan struct{})
	h.t.Cleanup(func() { close(stop) })
	go func() {
		tick := time.NewTicker(heartbeat / 3)
		defer tick.Stop()
		for {
			select {
			case <-tick.C:
				h.send(wire.MsgHeartbeat, 0, (&wire.Heartbeat{}).AppendTo(nil))
			case <-stop:
				return
			}
		}
	}()
}

// sequence checks that the EVENTS bodies it is given continue each other,
// from position 1 on.
type sequence struct {
	t    *testing.T
	next uint64
}

func (q *sequence) add(body []byte) wire.Events {
	q.t.Helper()
	b, err := wire.ParseEvents(body, []string{testSpec.Events[0].Name}, wire.MsgEvents)
	if err != nil {
		q.t.Fatal(err)
	}
	if q.next == 0 {
		q.next = 1
	}
	if b.First() != q.next {
		q.t.Fatalf("batch starts at %d, want %d", b.First(), q.next)
	}
	q.next = b.Last() + 1
	return b
}

// TestRingGoodbyeAfterFullRing: a plugin shutting down on a signal while
// its ring is full still gets its GOODBYE through once the host reads
// again, even after the drain timeout has passed: the frame being written
// is finished, not cut off, and the session ends cleanly.
func TestRingGoodbyeAfterFullRing(t *testing.T) {
	payload := make([]byte, 1000)
	p := Plugin{Spec: testSpec, Source: func(Open) (Source, error) {
		return sourceFunc(func(b *Batch) error {
			for b.Append(0, 1, 0, payload) == nil {
			}
			return nil
		}), nil
	}}
	const drain = 300 * time.Millisecond
	signals := make(chan os.Signal, 1)
	h := startRingHost(t, p, wire.RingMinSize, ServeOptions{Signals: signals, ShutdownTimeout: drain})
	h.welcome(time.Minute) // the host reads nothing for a while

	time.Sleep(100 * time.Millisecond) // the source fills the ring and waits
	signals <- os.Interrupt
	time.Sleep(drain + 100*time.Millisecond) // past the drain timeout: the session is aborting

	fr := h.reader()
	var types []wire.MsgType
	for {
		hd, _, err := fr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("after %d frames: %v", len(types), err)
		}
		if len(types) == 0 || types[len(types)-1] != hd.Type {
			types = append(types, hd.Type)
		}
	}
	if len(types) == 0 || types[len(types)-1] != wire.MsgGoodbye {
		t.Fatalf("frames %v, want GOODBYE last", types)
	}
	if err := <-h.served; err != nil {
		t.Fatalf("Serve: %v, want a clean end", err)
	}
}

// TestRingBatchInPlaceYields checks the batch a streaming source encodes
// straight into the ring: a frame written meanwhile (a HEARTBEAT) leaves at
// the batch's next event instead of waiting for NextBatch to return, and
// every event still arrives once, in order.
func TestRingBatchInPlaceYields(t *testing.T) {
	const heartbeat = 20 * time.Millisecond
	payload := make([]byte, 100)
	release := make(chan struct{})
	inRing := make(chan bool, 1)
	calls := 0
	p := Plugin{Spec: testSpec, Source: func(Open) (Source, error) {
		return sourceFunc(func(b *Batch) error {
			calls++
			switch calls {
			case 1: // a full batch, at once: the next one goes into the ring
				for b.Append(0, 1, 0, payload) == nil {
				}
			case 2: // one event, then slow: a HEARTBEAT is due meanwhile
				inRing <- b.inRing()
				b.Append(0, 1, 0, payload)
				time.Sleep(3 * heartbeat)
				b.Append(0, 1, 0, payload)
				<-release
			default:
				return ErrTimeout
			}
			return nil
		}), nil
	}}
	// Room for the second batch before the first is read.
	h := startRingHost(t, p, 4*wire.RingMinSize, ServeOptions{})
	h.welcome(heartbeat)
	h.beat(heartbeat)

	fr := h.reader()
	q := sequence{t: t}
	// Without the batch moving out of the ring, no HEARTBEAT could follow
	// the first batch before NextBatch returns, and this loop would wait
	// for good. Two, so that one written just before the batch took the
	// room does not count.
	batches, beats := 0, 0
	for batches < 2 {
		hd, body, err := fr.Next()
		if err != nil {
			t.Fatalf("after %d batches: %v", batches, err)
		}
		switch hd.Type {
		case wire.MsgEvents:
			q.add(body)
			batches++
			if batches == 2 && beats < 2 {
				t.Fatalf("second batch after %d HEARTBEATs, want it after NextBatch was released", beats)
			}
		case wire.MsgHeartbeat:
			if batches == 1 {
				if beats++; beats == 2 {
					close(release)
				}
			}
		}
	}
	if !<-inRing {
		t.Fatal("the batch after a full one was not encoded in the ring")
	}
	h.out.Close()
	<-h.served
}

// TestRingRunSourceInPlace: a Run source flooding its events fills its
// batches straight in the ring; when it pauses, the room is given up, so
// the plugin's HEARTBEATs keep coming; every event arrives once, in order.
func TestRingRunSourceInPlace(t *testing.T) {
	const heartbeat = 20 * time.Millisecond
	const each = 20_000
	payload := make([]byte, 100)
	paused := make(chan struct{})
	var sawRing bool
	flood := func(sink EventSink) error {
		for range each {
			if err := sink.EmitKind(0, 1, payload); err != nil {
				return err
			}
			sink.e.mu.Lock()
			sawRing = sawRing || sink.e.inRing
			sink.e.mu.Unlock()
		}
		return nil
	}
	p := Plugin{Spec: testSpec, Run: func(o Open, sink EventSink, s *Session) error {
		if err := flood(sink); err != nil {
			return err
		}
		close(paused)
		time.Sleep(10 * heartbeat) // quiet: HEARTBEATs must not wait behind ring room
		if err := flood(sink); err != nil {
			return err
		}
		return ErrEndOfStream
	}}
	h := startRingHost(t, p, 64*wire.RingMinSize, ServeOptions{})
	h.welcome(heartbeat)
	h.beat(heartbeat)

	fr := h.reader()
	q := sequence{t: t, next: 1}
	beatsInPause := 0
	for {
		hd, body, err := fr.Next()
		if err != nil {
			t.Fatalf("at position %d: %v", q.next, err)
		}
		if hd.Type == wire.MsgHeartbeat {
			select {
			case <-paused:
				if q.next == each+1 {
					beatsInPause++
				}
			default:
			}
			continue
		}
		if hd.Type == wire.MsgEnd {
			break
		}
		if hd.Type != wire.MsgEvents {
			continue
		}
		b := q.add(body)
		h.send(wire.MsgAck, 1, (&wire.Ack{Position: b.Last()}).AppendTo(nil))
	}
	if q.next != 2*each+1 {
		t.Fatalf("events up to %d, want %d", q.next-1, 2*each)
	}
	if beatsInPause < 3 {
		t.Fatalf("%d HEARTBEATs while the source paused for 10 intervals, want several: the ring's room was held", beatsInPause)
	}
	if !sawRing {
		t.Fatal("no batch was encoded in the ring")
	}
	h.out.Close()
	<-h.served
}

// TestRingLastFrameAfterAbort: when the session aborts (here the host
// goes silent, and the plugin gives up on it) while a Run source's batch
// holds the ring's room, the room is given up and the plugin's last frame,
// an ERROR, still reaches the host before the stream ends.
func TestRingLastFrameAfterAbort(t *testing.T) {
	for round := range 10 {
		payload := make([]byte, 100)
		p := Plugin{Spec: testSpec, Run: func(o Open, sink EventSink, s *Session) error {
			// Bursts with short gaps: the batches go in and out of the
			// ring all the time.
			for {
				for range 200 {
					if err := sink.EmitKind(0, 1, payload); err != nil {
						return err
					}
				}
				time.Sleep(time.Duration(round*10) * time.Microsecond)
			}
		}}
		h := startRingHost(t, p, 64*wire.RingMinSize, ServeOptions{ShutdownTimeout: time.Second})
		// The host reads the ring but sends nothing, not even ACKs:
		// the window is wide enough that it never fills.
		h.welcomeWindow(20*time.Millisecond, 1<<20)
		fr := h.reader()
		var last wire.MsgType
		for {
			hd, body, err := fr.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatalf("round %d: %v", round, err)
			}
			last = hd.Type
			if hd.Type == wire.MsgError {
				var m wire.ErrorMsg
				if err := m.Decode(body); err != nil || m.Code != wire.ErrCodeHeartbeatTimeout {
					t.Fatalf("round %d: ERROR %v, %v; want the heartbeat timeout", round, &m, err)
				}
			}
		}
		if last != wire.MsgError {
			t.Fatalf("round %d: last frame %s, want ERROR", round, last)
		}
		<-h.served
	}
}

// TestSilentHost: a host that stops reading while a Run source floods a
// full ring or pipe, emitting and reporting progress from two goroutines,
// is declared dead after three heartbeat intervals, and Serve returns
// with that error instead of hanging on the blocked writes.
func TestSilentHost(t *testing.T) {
	for _, tc := range []struct {
		name     string
		ring     int
		progress bool
	}{
		{"ring/emit", wire.RingMinSize, false},
		{"ring/emit+progress", wire.RingMinSize, true},
		{"pipe/emit", 0, false},
		{"pipe/emit+progress", 0, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			payload := make([]byte, 200)
			p := Plugin{Spec: testSpec, Run: func(o Open, sink EventSink, s *Session) error {
				if tc.progress {
					go func() {
						for sink.Progress(50, "half") == nil {
						}
					}()
				}
				for sink.EmitKind(0, 1, payload) == nil {
				}
				return nil
			}}
			h := startRingHost(t, p, tc.ring, ServeOptions{ShutdownTimeout: 200 * time.Millisecond})
			h.welcome(20 * time.Millisecond)
			// From here on the host reads nothing and sends nothing.
			select {
			case err := <-h.served:
				var ee *ExitError
				if !errors.As(err, &ee) || ee.Code != ExitConnectionLost || !strings.Contains(err.Error(), "heartbeat") {
					t.Fatalf("Serve: %v, want the heartbeat timeout", err)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("Serve still running 10 s after the host went silent")
			}
		})
	}
}

// TestRingRunSourceStress: several producers on a small ring (room often
// shorter than an event), a window of 2 and slow ACKs, events of every
// size, some with metadata, some larger than the batch budget: every
// event arrives once, each producer's in order, metadata intact.
func TestRingRunSourceStress(t *testing.T) {
	for _, c := range []struct {
		ring   int
		window uint32
		ackMax int
	}{{4 * wire.RingMinSize, 2, 200}, {4 * wire.RingMinSize, 8, 1}, {16 * wire.RingMinSize, 8, 1}, {wire.RingMinSize, 64, 1}} {
		name := fmt.Sprintf("ring=%dKiB/window=%d/ack-delay=%dus", c.ring>>10, c.window, c.ackMax)
		t.Run(name, func(t *testing.T) { ringRunSourceStress(t, c.ring, c.window, c.ackMax) })
	}
}

func ringRunSourceStress(t *testing.T, ringSize int, window uint32, ackMax int) {
	const producers, each = 4, 3000
	p := Plugin{Spec: testSpec, Run: func(o Open, sink EventSink, s *Session) error {
		err := produce(producers, func(id int) error {
			r := rand.New(rand.NewPCG(uint64(id), 1))
			for seq := range each {
				var size int
				switch x := r.IntN(100); {
				case x < 70:
					size = 16 + r.IntN(200)
				case x < 90:
					size = 1000 + r.IntN(6000)
				default:
					size = 10_000 + r.IntN(30_000) // beyond soft (16 KiB - 8) on this ring
				}
				payload := make([]byte, size)
				payload[0] = byte(id)
				binary.LittleEndian.PutUint64(payload[1:], uint64(seq))
				var err error
				if r.IntN(5) == 0 {
					err = sink.EmitEvent(wire.Event{Kind: testSpec.Events[0].Name, Payload: payload,
						Metadata: map[string]string{"p": string(rune('a' + id)), "seq": string(payload[1:9])}})
				} else {
					err = sink.EmitKind(0, 0, payload)
				}
				if err != nil {
					return err
				}
				if r.IntN(50) == 0 {
					time.Sleep(time.Duration(r.IntN(300)) * time.Microsecond)
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
		return ErrEndOfStream
	}}
	h := startRingHost(t, p, ringSize, ServeOptions{})
	h.welcomeWindow(50*time.Millisecond, window)
	h.beat(50 * time.Millisecond)
	fr := h.reader()
	q := sequence{t: t, next: 1}
	next := make([]uint64, producers)
	total := 0
	acks := make(chan uint64, 1024)
	go func() {
		for pos := range acks {
			time.Sleep(time.Duration(rand.IntN(ackMax)) * time.Microsecond)
			h.send(wire.MsgAck, 1, (&wire.Ack{Position: pos}).AppendTo(nil))
		}
	}()
	defer close(acks)
	for {
		hd, body, err := fr.Next()
		if err != nil {
			t.Fatalf("after %d events: %v", total, err)
		}
		if hd.Type == wire.MsgEnd {
			break
		}
		if hd.Type != wire.MsgEvents {
			continue
		}
		b := q.add(body)
		var e wire.Event
		for r := b.Reader(); r.Next(&e); {
			id := int(e.Payload[0])
			seq := binary.LittleEndian.Uint64(e.Payload[1:])
			if seq != next[id] {
				t.Fatalf("producer %d: event %d, want %d", id, seq, next[id])
			}
			if e.Metadata != nil && (e.Metadata["p"] != string(rune('a'+id)) || e.Metadata["seq"] != string(e.Payload[1:9])) {
				t.Fatalf("producer %d event %d: metadata %v", id, seq, e.Metadata)
			}
			next[id]++
			total++
		}
		acks <- b.Last()
	}
	if total != producers*each {
		t.Fatalf("%d events, want %d", total, producers*each)
	}
	h.out.Close()
	<-h.served
}

// TestRingStopAnyTime: STOP at a random moment of a bursty Run
// source on a ring (often while the flusher lingers or delays in the
// ring): the REPLY comes, reports the last position received, and every
// accepted event arrived before it.
func TestRingStopAnyTime(t *testing.T) {
	for round := range 60 {
		var accepted atomic.Uint64
		payload := make([]byte, 100)
		gap := time.Duration(rand.IntN(150)) * time.Microsecond
		runDone := make(chan struct{})
		p := Plugin{Spec: testSpec, Run: func(o Open, sink EventSink, s *Session) error {
			defer close(runDone)
			for {
				for range 1 + rand.IntN(400) {
					if err := sink.EmitKind(0, 1, payload); err != nil {
						return nil
					}
					accepted.Add(1)
				}
				time.Sleep(gap)
			}
		}}
		h := startRingHost(t, p, 16*wire.RingMinSize, ServeOptions{})
		h.welcome(50 * time.Millisecond)
		h.beat(50 * time.Millisecond)
		fr := h.reader()
		q := sequence{t: t, next: 1}
		stopAt := time.Now().Add(time.Duration(rand.IntN(3000)) * time.Microsecond)
		done := make(chan struct{})
		go func() {
			time.Sleep(time.Until(stopAt))
			h.send(wire.MsgStop, 1, (&wire.Request{ID: 7}).AppendTo(nil, wire.MsgStop))
			close(done)
		}()
		var lastPos uint64
		deadline := time.AfterFunc(5*time.Second, func() { h.out.Close(); h.in.Close() })
		for {
			hd, body, err := fr.Next()
			if err != nil {
				t.Fatalf("round %d: %v (hang?)", round, err)
			}
			if hd.Type == wire.MsgEvents {
				b := q.add(body)
				lastPos = b.Last()
				h.send(wire.MsgAck, 1, (&wire.Ack{Position: b.Last()}).AppendTo(nil))
				continue
			}
			if hd.Type == wire.MsgReply {
				var r wire.Reply
				if err := r.Decode(body); err != nil {
					t.Fatal(err)
				}
				if r.ID != 7 {
					continue
				}
				if r.Position != lastPos && (lastPos != 0 || r.HasPosition) {
					t.Fatalf("round %d: STOP reply at %d, last received %d", round, r.Position, lastPos)
				}
				break
			}
		}
		deadline.Stop()
		<-done
		h.out.Close()
		<-h.served
		<-runDone
		if got := accepted.Load(); got != lastPos {
			t.Fatalf("round %d: %d events accepted, %d received", round, got, lastPos)
		}
	}
}

// TestWaitRingRoom: a source that streams waits for room in a full ring
// rather than fill a buffer to copy in later; the wait ends when the host
// has read enough, or when the instance stops or the session aborts.
func TestWaitRingRoom(t *testing.T) {
	size := wire.RingMinSize
	ring, err := wire.InitRing(make([]byte, wire.RingMemSize(size)), size)
	if err != nil {
		t.Fatal(err)
	}
	c := &conn{w: io.Discard, ring: wire.NewRingWriter(ring, io.Discard, nil)}
	if !c.waitRingRoom(size, nil, nil) {
		t.Fatal("an empty ring has no room")
	}
	host := wire.NewRingReader(ring, strings.NewReader(""))
	fill := func() {
		t.Helper()
		free, err := c.ring.Free()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.ring.Write(make([]byte, free-100)); err != nil {
			t.Fatal(err)
		}
	}

	fill()
	done := make(chan bool)
	go func() { done <- c.waitRingRoom(1000, nil, nil) }()
	select {
	case <-done:
		t.Fatal("the wait ended with 100 bytes free, 1000 asked")
	case <-time.After(50 * time.Millisecond):
	}
	if _, err := host.Read(make([]byte, 2000)); err != nil {
		t.Fatal(err)
	}
	if !<-done {
		t.Fatal("the wait for room reported a stop")
	}

	for _, end := range []string{"stop", "abort"} {
		fill()
		ch := make(chan struct{})
		stop, abort := ch, make(chan struct{})
		if end == "abort" {
			stop, abort = abort, ch
		}
		go func() { done <- c.waitRingRoom(1000, stop, abort) }()
		close(ch)
		if <-done {
			t.Errorf("%s: the wait reported room in a full ring", end)
		}
		if _, err := host.Read(make([]byte, size)); err != nil {
			t.Fatal(err)
		}
	}

	// More than the ring holds: half of it will do, or a source whose
	// quarter batch outgrows the ring would wait for ever.
	if _, err := c.ring.Write(make([]byte, size/2)); err != nil {
		t.Fatal(err)
	}
	ends := func(what string, least int) {
		t.Helper()
		stop := make(chan struct{})
		go func() { done <- c.waitRingRoom(least, stop, nil) }()
		select {
		case ok := <-done:
			if !ok {
				t.Errorf("%s: the wait reported a stop", what)
			}
		case <-time.After(10 * time.Second):
			close(stop)
			<-done
			t.Errorf("%s: the wait did not end", what)
		}
	}
	ends("more than the ring holds, with half of it free", 2*size)
	fill()
	c.err = errors.New("broken")
	ends("a broken session", 1000)
	if !(&conn{}).waitRingRoom(1, nil, nil) {
		t.Error("without a ring the wait reported a stop")
	}
}
