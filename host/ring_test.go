//go:build linux

package host

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"github.com/plugctl/plugctl/sdk"
	"github.com/plugctl/plugctl/wire"
)

// Fixtures of the ring transport, added to the table of fixtures_test.go.
func init() {
	// A plugin built on sdk.Serve that offers only protocol version 1,
	// though a ring is offered to it.
	fixtures["count-v1"] = func() {
		err := sdk.Serve(os.Stdin, os.Stdout, countPlugin(), sdk.ServeOptions{Versions: []uint16{1}})
		os.Exit(sdk.ExitCode(err))
	}
	// sdk.Main handed a ring it cannot use: it must say so and leave
	// out version 2, which claims the ring.
	fixtures["count-badring"] = func() {
		os.Setenv(wire.EnvRingFD, "2") // not an inherited descriptor
		sdk.Main(countPlugin())
	}
	// A source whose OPEN fails with a report of what the plugin process
	// holds of the rings once sdk.Main has taken them.
	fixtures["ring-env"] = func() {
		p := countPlugin()
		p.Source = func(sdk.Open) (sdk.Source, error) {
			var fds []string
			entries, _ := os.ReadDir("/proc/self/fd")
			for _, e := range entries {
				if l, _ := os.Readlink("/proc/self/fd/" + e.Name()); strings.Contains(l, "plugctl-ring") {
					fds = append(fds, e.Name())
				}
			}
			maps, _ := os.ReadFile("/proc/self/maps")
			v, set := os.LookupEnv(wire.EnvRingFD)
			iv, iset := os.LookupEnv(wire.EnvInputRingFD)
			return nil, fmt.Errorf("env set %v %q; input env set %v %q; ring descriptors %v; mapped %d", set, v, iset, iv, fds, strings.Count(string(maps), "plugctl-ring"))
		}
		sdk.Main(p)
	}
	// Plugins written by hand from docs/PROTOCOL.md §10, on the ring.
	fixtures["ring-half-frame"] = func() {
		fr, _, _, w := rawRingHandshake()
		instance := openThenEvents(fr, w, 1, 2)
		w.Write(append(wire.AppendHeader(nil, wire.MsgEvents, instance, 4096), make([]byte, 1000)...))
		fmt.Fprintln(os.Stderr, "fixture: dying in the middle of a frame in the ring")
		os.Exit(1)
	}
	// A lone batch, then nothing until its ACK comes.
	fixtures["ring-ack"] = func() {
		fr, _, _, w := rawRingHandshake()
		instance := openThenEvents(fr, w, 1)
		for {
			h, body := nextFrame(fr)
			var ack wire.Ack
			if h.Type == wire.MsgAck && ack.Decode(body) == nil && ack.Position == 1 {
				break
			}
		}
		ringSend(w, wire.MsgEnd, instance, (&wire.End{HasPosition: true, Position: 1}).AppendTo(nil, 2))
		time.Sleep(time.Minute)
	}
	// Once the host sleeps on the doorbell, a whole session's last frames
	// put into the ring without ringing it, then the end of the output.
	fixtures["ring-exit-without-doorbell"] = func() {
		fr, ring, mem, _ := rawRingHandshake()
		waiting := (*atomic.Uint32)(unsafe.Pointer(&mem[192]))
		for i := 0; waiting.Load() != 1; i++ {
			if i == 10000 {
				fmt.Fprintln(os.Stderr, "fixture: the host never slept on the doorbell")
				os.Exit(2)
			}
			time.Sleep(time.Millisecond)
		}
		time.Sleep(20 * time.Millisecond) // let the host block on its read
		w := wire.NewRingWriter(ring, io.Discard, nil)
		instance := openThenEvents(fr, w, 1, 2)
		ringSend(w, wire.MsgEnd, instance, (&wire.End{HasPosition: true, Position: 2}).AppendTo(nil, 2))
		ringSend(w, wire.MsgGoodbye, 0, (&wire.Goodbye{Reason: wire.GoodbyeNormal}).AppendTo(nil))
		os.Exit(0)
	}
	// Takes the ring, then writes its frames to stdout as on a pipe.
	fixtures["ring-frames-on-stdout"] = func() {
		rawRingHandshake()
		hb := (&wire.Heartbeat{UnixNano: 1}).AppendTo(nil)
		os.Stdout.Write(append(wire.AppendHeader(nil, wire.MsgHeartbeat, 0, len(hb)), hb...))
		time.Sleep(time.Minute)
	}
	fixtures["ring-corrupt"] = func() {
		fr, _, mem, w := rawRingHandshake()
		ringSend(w, wire.MsgHeartbeat, 0, (&wire.Heartbeat{UnixNano: 1}).AppendTo(nil))
		// A head more than the ring's size ahead of anything the host read.
		head := binary.NativeEndian.Uint64(mem[64:])
		binary.NativeEndian.PutUint64(mem[64:], head+2*binary.LittleEndian.Uint64(mem[16:]))
		os.Stdout.Write([]byte{0}) // a doorbell, in case the host sleeps
		for {
			nextFrame(fr) // until the host kills this process
		}
	}
}

// openThenEvents reads the host's OPEN and answers it, then sends a
// batch of the given positions, all through w.
func openThenEvents(fr *wire.FrameReader, w *wire.RingWriter, positions ...uint64) uint16 {
	h, body := nextFrame(fr)
	var req wire.Request
	req.Decode(body, h.Type)
	reply := wire.Reply{ID: req.ID}
	ringSend(w, wire.MsgReply, 0, reply.AppendTo(nil))
	batch := binary.LittleEndian.AppendUint32(nil, uint32(len(positions)))
	for _, pos := range positions {
		batch = wire.AppendEvent(batch, pos, int64(pos), 0, []byte("event"), nil)
	}
	ringSend(w, wire.MsgEvents, h.Instance, batch)
	return h.Instance
}

// rawRingHandshake maps the ring the host offers, sends a HELLO offering
// only version 2 and checks the HELLO_ACK chose the ring. It returns the
// reader of the host's frames, the shared memory and a writer into the
// ring.
func rawRingHandshake() (*wire.FrameReader, *wire.Ring, []byte, *wire.RingWriter) {
	die := func(format string, args ...any) {
		fmt.Fprintf(os.Stderr, "fixture: "+format+"\n", args...)
		os.Exit(2)
	}
	fd, err := strconv.Atoi(os.Getenv(wire.EnvRingFD))
	if err != nil {
		die("no ring offered: %v", err)
	}
	var st syscall.Stat_t
	if err := syscall.Fstat(fd, &st); err != nil {
		die("ring descriptor: %v", err)
	}
	mem, err := syscall.Mmap(fd, 0, int(st.Size), syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_SHARED)
	syscall.Close(fd)
	if err != nil {
		die("map: %v", err)
	}
	ring, err := wire.OpenRing(mem)
	if err != nil {
		die("%v", err)
	}
	hello := wire.Hello{Versions: []uint16{2}, ID: "raw", Name: "raw", Version: "0.0.1",
		Role: wire.RoleSource, EventKinds: []string{"tick"}}
	rawSend(wire.MsgHello, 0, hello.AppendTo(nil))
	fr := wire.NewFrameReader(os.Stdin, wire.MaxFrameLimit)
	h, body, err := fr.Next()
	var ack wire.HelloAck
	if err == nil && h.Type == wire.MsgHelloAck {
		err = ack.Decode(body)
	}
	if err != nil || h.Type != wire.MsgHelloAck || ack.Transport != wire.TransportRing {
		die("no HELLO_ACK choosing the ring: %v %+v %v", h.Type, ack, err)
	}
	return fr, ring, mem, wire.NewRingWriter(ring, os.Stdout, nil)
}

// ringSend writes one frame into the ring.
func ringSend(w *wire.RingWriter, t wire.MsgType, instance uint16, body []byte) {
	if _, err := w.Write(append(wire.AppendHeader(nil, t, instance, len(body)), body...)); err != nil {
		fmt.Fprintf(os.Stderr, "fixture: ring write: %v\n", err)
		os.Exit(3)
	}
}

// launchRing launches a fixture as mustLaunch does. A plugin built with
// the race detector waits a second before it exits, which Close would
// wait for: the wait is cut, race reports are not.
func launchRing(t *testing.T, fixture string, opts Options) *Plugin {
	t.Helper()
	opts.Env = append(opts.Env, "GORACE="+os.Getenv("GORACE")+" atexit_sleep_ms=0")
	return mustLaunch(t, fixture, opts)
}

// checkAck checks the session's negotiated version and transport.
func checkAck(t *testing.T, p *Plugin, version uint16, transport uint8) {
	t.Helper()
	if ack := p.HelloAck(); ack.Version != version || ack.Transport != transport {
		t.Fatalf("HELLO_ACK version %d transport %d, want version %d transport %d", ack.Version, ack.Transport, version, transport)
	}
}

// checkTransport checks the HELLO_ACK as checkAck does, and that the host
// holds the ring it offered only while the session uses it. The session
// must not be able to end meanwhile: the read loop releases the ring.
func checkTransport(t *testing.T, p *Plugin, version uint16, transport uint8) {
	t.Helper()
	checkAck(t, p, version, transport)
	if (p.ring != nil) != (transport == wire.TransportRing) {
		t.Errorf("host holds ring %v with transport %d: an unused ring must be unmapped at once", p.ring, transport)
	}
}

// streamAll reads a count source of n events of size-byte payloads to its
// end, checks them and closes the session cleanly.
func streamAll(t *testing.T, p *Plugin, n, size int) {
	t.Helper()
	ctx := closeCtx(t)
	st := newStream(0)
	src, err := p.OpenSource(ctx, map[string]string{"n": fmt.Sprint(n), "size": fmt.Sprint(size)}, nil, st.handle)
	if err != nil {
		t.Fatal(err)
	}
	wait(t, src.Ended(), "END")
	checkSeq(t, st.got(), 1, uint64(n))
	if src.Acked() != uint64(n) {
		t.Errorf("Acked() = %d, want %d", src.Acked(), n)
	}
	if err := p.Close(ctx); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if p.ring != nil {
		t.Error("the ring is still mapped after the session ended")
	}
}

// TestRingLaunchTakesRing: a plugin on sdk.Main takes the ring a
// launched plugin is offered, and a stream arrives complete and in order.
func TestRingLaunchTakesRing(t *testing.T) {
	for _, tc := range []struct {
		name    string
		opts    Options
		n, size int
	}{
		{"default ring", Options{}, 100000, 64},
		// Frames of up to 60 KiB fill a 64 KiB ring: the plugin waits
		// for room and the ring wraps constantly.
		{"smallest ring", Options{RingSize: wire.RingMinSize}, 20000, 1000},
		// Each event travels alone in a frame larger than the whole ring.
		{"events larger than the ring", Options{RingSize: 1, MaxFrame: 1 << 20}, 40, 200000},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := launchRing(t, "count", tc.opts)
			checkTransport(t, p, wire.ProtocolVersion, wire.TransportRing)
			if tc.opts.RingSize != 0 && p.ring.ring.Size() != wire.RingMinSize {
				t.Errorf("ring of %d bytes, want %d", p.ring.ring.Size(), wire.RingMinSize)
			}
			streamAll(t, p, tc.n, tc.size)
		})
	}
}

// TestRingManyGoroutines: a callback source whose goroutines emit
// concurrently, through the smallest ring.
func TestRingManyGoroutines(t *testing.T) {
	ctx := closeCtx(t)
	p := launchRing(t, "emitter", Options{RingSize: wire.RingMinSize})
	checkTransport(t, p, wire.ProtocolVersion, wire.TransportRing)
	const goroutines, per = 8, 2500
	st := newStream(0)
	st.opaque = true
	src, err := p.OpenSource(ctx, map[string]string{"goroutines": fmt.Sprint(goroutines), "per": fmt.Sprint(per), "size": "300"}, nil, st.handle)
	if err != nil {
		t.Fatal(err)
	}
	wait(t, src.Ended(), "END")
	checkSeq(t, st.got(), 1, goroutines*per)
	if err := p.Close(ctx); err != nil {
		t.Fatal(err)
	}
}

// TestRingNegativeSizeKeepsStream: without a ring offered, a session of
// version 2 or later keeps every frame on the stream.
func TestRingNegativeSizeKeepsStream(t *testing.T) {
	p := launchRing(t, "count", Options{RingSize: -1})
	checkTransport(t, p, wire.ProtocolVersion, wire.TransportStream)
	streamAll(t, p, 20000, 64)
}

// TestRingDeclined: a plugin that does not list version 2 gets the
// stream, whatever version is chosen, and the ring offered to it is
// released.
func TestRingDeclined(t *testing.T) {
	t.Run("Serve with Versions [1]", func(t *testing.T) {
		p := launchRing(t, "count-v1", Options{})
		checkTransport(t, p, 1, wire.TransportStream)
		streamAll(t, p, 20000, 64)
	})
	t.Run("Main with an unusable ring: versions 1 and 3", func(t *testing.T) {
		stderr := &syncBuffer{}
		p := launchRing(t, "count-badring", Options{Stderr: stderr})
		checkTransport(t, p, wire.ProtocolVersion, wire.TransportStream)
		streamAll(t, p, 20000, 64)
		if !strings.Contains(stderr.String(), "cannot use the shared ring") {
			t.Errorf("the plugin did not say why it declined the ring; stderr: %q", stderr.String())
		}
	})
}

// TestRingTakenCleanly: once sdk.Main has mapped the ring, the plugin
// process keeps neither the descriptor nor the variable for its own child
// processes to inherit (docs/PROTOCOL.md §10.1), nor of the input ring.
func TestRingTakenCleanly(t *testing.T) {
	p := launchRing(t, "ring-env", Options{})
	checkTransport(t, p, wire.ProtocolVersion, wire.TransportRing)
	_, err := p.OpenSource(closeCtx(t), nil, nil, newStream(0).handle)
	const want = `env set false ""; input env set false ""; ring descriptors []; mapped 2`
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("OpenSource = %v, want the plugin's report %q", err, want)
	}
}

// TestRingIdleSessionStaysAlive: an idle plugin's heartbeats go through
// the ring while the host sleeps on the doorbell; without the doorbell
// the host would declare the plugin silent.
func TestRingIdleSessionStaysAlive(t *testing.T) {
	ctx := closeCtx(t)
	p := launchRing(t, "count", Options{Heartbeat: 100 * time.Millisecond})
	checkTransport(t, p, wire.ProtocolVersion, wire.TransportRing)
	select {
	case <-p.Done():
		t.Fatalf("an idle plugin's session ended: %v", p.Err())
	case <-time.After(700 * time.Millisecond):
	}
	if _, err := p.Spec(ctx); err != nil {
		t.Fatalf("Spec after an idle spell: %v", err)
	}
	if err := p.Close(ctx); err != nil {
		t.Fatal(err)
	}
}

// TestRingCrashInsideFrame: a plugin that dies with half a frame in the
// ring ends the session as on a pipe: the complete frames before it are
// delivered, then the connection is lost.
func TestRingCrashInsideFrame(t *testing.T) {
	ctx := closeCtx(t)
	p := launchRing(t, "ring-half-frame", Options{})
	checkTransport(t, p, 2, wire.TransportRing)
	st := newStream(0)
	if _, err := p.OpenSource(ctx, nil, nil, st.handle); err != nil {
		t.Fatal(err)
	}
	wait(t, p.Done(), "the session to end")
	se := sessionErr(t, p.Err(), ErrConnectionLost, 1, "dying in the middle of a frame in the ring")
	if !strings.Contains(se.Error(), "stream ended inside a 4096-byte EVENTS body") {
		t.Errorf("error %q does not say where the stream broke", se)
	}
	checkSeq(t, st.got(), 1, 2)
	if p.ring != nil {
		t.Error("the ring is still mapped after the session ended")
	}
}

// TestRingCorruptHead: a plugin that stores an impossible head breaks the
// protocol: the host reports the corrupt ring and kills the plugin.
func TestRingCorruptHead(t *testing.T) {
	p := launchRing(t, "ring-corrupt", Options{})
	checkAck(t, p, 2, wire.TransportRing) // the session may already be over
	wait(t, p.Done(), "the session to end")
	err := p.Err()
	se := sessionErr(t, err, ErrProtocol, -1, "")
	if !errors.Is(err, wire.ErrRingCorrupt) || !errors.Is(err, wire.ErrMalformed) || !strings.Contains(err.Error(), "(malformed)") {
		t.Errorf("err = %v, want a malformed violation wrapping wire.ErrRingCorrupt", err)
	}
	if se.Exit == nil || se.Exit.Success() {
		t.Errorf("exit %v, want the plugin killed", se.Exit)
	}
}

// TestRingFramesOnStdout: a plugin that took the ring but writes a frame
// to its output, as on a pipe, is a protocol violation at once, not a
// plugin that seems silent until the heartbeat watch ends it.
func TestRingFramesOnStdout(t *testing.T) {
	p := launchRing(t, "ring-frames-on-stdout", Options{Heartbeat: time.Minute})
	wait(t, p.Done(), "the session to end")
	err := p.Err()
	sessionErr(t, err, ErrProtocol, -1, "")
	if !errors.Is(err, wire.ErrMalformed) || !strings.Contains(err.Error(), "only 0x00 doorbells may follow") {
		t.Errorf("err = %v, want a malformed violation naming the byte on the output", err)
	}
}

// TestRingLoneBatchAcked: a batch followed by silence is acknowledged
// when the host finds the ring empty, not when the next frame comes: a
// plugin may wait for that ACK before it sends anything more.
func TestRingLoneBatchAcked(t *testing.T) {
	p := launchRing(t, "ring-ack", Options{})
	checkTransport(t, p, 2, wire.TransportRing)
	st := newStream(0)
	st.opaque = true
	src, err := p.OpenSource(closeCtx(t), nil, nil, st.handle)
	if err != nil {
		t.Fatal(err)
	}
	select {
	case <-src.Ended():
	case <-p.Done():
		t.Fatalf("the session ended before the plugin got its ACK: %v", p.Err())
	case <-time.After(20 * time.Second):
		t.Fatal("timed out waiting for END")
	}
	checkSeq(t, st.got(), 1, 1)
}

// TestRingExitWithoutDoorbell: frames a plugin published while the host
// slept, without ringing, are still read when its output ends: the host
// drains the ring before it takes the end of the stream.
func TestRingExitWithoutDoorbell(t *testing.T) {
	p := launchRing(t, "ring-exit-without-doorbell", Options{})
	checkTransport(t, p, 2, wire.TransportRing)
	st := newStream(0)
	st.opaque = true
	src, err := p.OpenSource(closeCtx(t), nil, nil, st.handle)
	if err != nil {
		t.Fatalf("OpenSource: %v (the REPLY in the ring was lost)", err)
	}
	wait(t, src.Ended(), "END")
	wait(t, p.Done(), "the session to end")
	if err := p.Err(); err != nil {
		t.Fatalf("Err() = %v, want a clean end after the plugin's GOODBYE", err)
	}
	checkSeq(t, st.got(), 1, 2)
}

// TestRingBatchBudget: on a ring, the SDK cuts EVENTS batches at a
// sixteenth of the ring, at most max_frame (docs/PROTOCOL.md §10.6): more
// than any pipe budget (a quarter of a pipe of at most 1 MiB).
func TestRingBatchBudget(t *testing.T) {
	const ringSize, maxFrame = 32 << 20, 4 << 20
	p := launchRing(t, "count", Options{RingSize: ringSize, MaxFrame: maxFrame})
	checkTransport(t, p, wire.ProtocolVersion, wire.TransportRing)
	var largest int
	st := newStream(0)
	handler := func(b *wire.Events) error {
		largest = max(largest, b.Len())
		return st.handle(b)
	}
	const n, size = 10000, 1000
	src, err := p.OpenSource(closeCtx(t), map[string]string{"n": fmt.Sprint(n), "size": fmt.Sprint(size)}, nil, handler)
	if err != nil {
		t.Fatal(err)
	}
	wait(t, src.Ended(), "END")
	checkSeq(t, st.got(), 1, n)
	event := wire.EventHeaderSize + size
	budget := ringSize/16 - wire.HeaderSize
	if most := budget / event; largest > most || largest < (1<<20)/4/event {
		t.Errorf("largest batch holds %d events of %d bytes; the ring budget of %d bytes holds at most %d, a pipe's at most %d",
			largest, event, budget, most, (1<<20)/4/event)
	}
}

// TestRingNoOfferNoVariable: a ring variable in the host's own
// environment does not reach a plugin offered no ring, which would take
// it for an offer it cannot use and leave out version 2 (or 4, for the
// input ring).
func TestRingNoOfferNoVariable(t *testing.T) {
	t.Setenv(wire.EnvRingFD, "99")
	t.Setenv(wire.EnvInputRingFD, "98")
	p := launchRing(t, "count", Options{RingSize: -1})
	if v := p.Hello().Versions; !slices.Equal(v, []uint16{1, 2, 3, 4}) {
		t.Errorf("HELLO offers versions %v, want [1 2 3 4]", v)
	}
	checkAck(t, p, wire.ProtocolVersion, wire.TransportStream)
}

// TestRingVariableInOptionsEnv: a ring variable in Options.Env, naming
// some descriptor of the plugin's (the protocol's, the Go runtime's), is
// dropped too, and the plugin works on the stream. (The SDK's own
// guard, for a variable that gets through anyway, is tested by
// TestMainStrayRingVariable.)
func TestRingVariableInOptionsEnv(t *testing.T) {
	for fd := 3; fd <= 10; fd++ {
		t.Run(strconv.Itoa(fd), func(t *testing.T) {
			p, err := launchFixture(t, "count", Options{RingSize: -1, Env: []string{wire.EnvRingFD + "=" + strconv.Itoa(fd)}})
			if err != nil {
				t.Fatal(err)
			}
			streamAll(t, p, 1000, 64)
		})
	}
}

// TestRingStreamFlushesAcks: reading from a ring that never runs dry
// still sends the deferred ACKs once ringAckDelay has passed since the
// last flush, so a quiet instance is not kept waiting by a busy one, and
// not before, so a busy one is not woken every few batches.
func TestRingStreamFlushesAcks(t *testing.T) {
	size := wire.RingMinSize
	ring, err := wire.InitRing(make([]byte, wire.RingMemSize(size)), size)
	if err != nil {
		t.Fatal(err)
	}
	pr, pw, err := os.Pipe() // the doorbell
	if err != nil {
		t.Fatal(err)
	}
	defer pr.Close()
	go func() {
		defer pw.Close()
		wire.NewRingWriter(ring, pw, nil).Write(make([]byte, 1<<20))
	}()
	flushes := 0
	s := &ringStream{rr: wire.NewRingReader(ring, pr), closed: new(atomic.Bool), flush: func() { flushes++ }}
	buf := make([]byte, 4096)
	read := func(n int) {
		t.Helper()
		for range n {
			if _, err := s.Read(buf); err != nil {
				t.Fatal(err)
			}
		}
	}
	// Flushed a moment ago, as far as the stream knows.
	s.flushed = time.Now().Add(time.Hour)
	read(100)
	if flushes != 0 {
		t.Fatalf("%d flushes within ringAckDelay of the last, want none", flushes)
	}
	last := time.Now().Add(-ringAckDelay)
	s.flushed = last
	read(1)
	if flushes != 1 || !s.flushed.After(last) {
		t.Fatalf("after ringAckDelay: %d flushes, last at %v (was %v); want one, now", flushes, s.flushed, last)
	}
	if _, err := io.Copy(io.Discard, s.rr); err != nil { // let the writer end
		t.Fatal(err)
	}
}

// TestRingSourceWindow: a source on the ring gets the wide window, so a
// busy stream is acknowledged every few milliseconds rather than every
// few batches; a sink, a source on the pipes and Options.Window keep
// theirs.
func TestRingSourceWindow(t *testing.T) {
	for _, tc := range []struct {
		name    string
		fixture string
		opts    Options
		want    uint32
	}{
		{"source on the ring", "count", Options{}, ringSourceWindow},
		{"source on the pipes", "count", Options{RingSize: -1}, defaultWindow},
		{"sink on the ring", "sink-verify", Options{}, defaultWindow},
		{"Options.Window", "count", Options{Window: 5}, 5},
		{"negative Options.Window", "count", Options{Window: -1}, ringSourceWindow},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := launchRing(t, tc.fixture, tc.opts)
			if tc.opts.RingSize == 0 {
				checkAck(t, p, wire.ProtocolVersion, wire.TransportRing)
			}
			if got := p.HelloAck().Window; got != tc.want {
				t.Errorf("window %d, want %d", got, tc.want)
			}
			if err := p.Close(closeCtx(t)); err != nil {
				t.Fatal(err)
			}
		})
	}
}
