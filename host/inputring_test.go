//go:build linux

package host

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/plugctl/plugctl/sdk"
	"github.com/plugctl/plugctl/wire"
)

// Fixtures of the input ring (protocol version 4), added to the table of
// fixtures_test.go.
func init() {
	fixtures["sink-verify"] = func() { sdk.Main(verifySinkPlugin()) }
	// A sink built before version 4: it takes the ring and offers
	// versions 1 to 3, so the host's frames stay on its standard input.
	fixtures["sink-v3"] = func() {
		ring, err := sdk.OfferedRing()
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		err = sdk.Serve(os.Stdin, os.Stdout, verifySinkPlugin(), sdk.ServeOptions{Versions: []uint16{1, 2, 3}, Ring: ring})
		os.Exit(sdk.ExitCode(err))
	}
	// Plugins written by hand from docs/PROTOCOL.md §10.9.
	fixtures["input-ring-corrupt"] = func() {
		_, in, w := rawInputRingHandshake()
		// A read position past everything the host wrote: its next
		// frame, a heartbeat, finds it.
		tail := binary.NativeEndian.Uint64(in[128:])
		binary.NativeEndian.PutUint64(in[128:], tail+3*binary.LittleEndian.Uint64(in[16:]))
		heartbeatForever(w)
	}
	// Answers OPEN, then reads nothing more, heartbeating all along.
	fixtures["input-ring-stall"] = func() {
		fr, _, w := rawInputRingHandshake()
		h, body := nextFrame(fr)
		var req wire.Request
		req.Decode(body, h.Type)
		ringSend(w, wire.MsgReply, 0, (&wire.Reply{ID: req.ID}).AppendTo(nil))
		heartbeatForever(w)
	}
}

// heartbeatForever keeps a raw plugin from seeming silent until the host
// kills it.
func heartbeatForever(w *wire.RingWriter) {
	for {
		ringSend(w, wire.MsgHeartbeat, 0, (&wire.Heartbeat{UnixNano: time.Now().UnixNano()}).AppendTo(nil))
		time.Sleep(10 * time.Millisecond)
	}
}

// payloadFor is the payload of the event at pos: size bytes that tell
// one position from another, so a byte of a batch out of place shows.
func payloadFor(pos uint64, size int) []byte {
	p := make([]byte, size)
	for i := range p {
		p[i] = byte(pos*31 + uint64(i))
	}
	return p
}

// verifySinkPlugin is a sink that checks what it is written: positions
// counting up by one from the instance's first, each payload as
// payloadFor makes it. Settings: size (payload bytes), retry_every (ask
// to retry every such call, at least 2), crash_on (exit with status 1 on
// that call).
func verifySinkPlugin() sdk.Plugin {
	return sdk.Plugin{
		Spec: fixtureSpec("sink-verify", wire.RoleSink),
		Sink: func(o sdk.Open) (sdk.Sink, error) {
			return &verifySink{size: setting(o, "size"), retryEvery: setting(o, "retry_every"), crashOn: setting(o, "crash_on")}, nil
		},
	}
}

type verifySink struct {
	size, retryEvery, crashOn int
	calls                     int
	next                      uint64 // 0 until the first event
}

func (s *verifySink) Write(b *wire.Events) error {
	s.calls++
	if s.calls == s.crashOn {
		fmt.Fprintf(os.Stderr, "fixture: crashing on call %d\n", s.calls)
		os.Exit(1)
	}
	if s.retryEvery > 0 && s.calls%s.retryEvery == 0 {
		return sdk.Retry(errors.New("busy")) // the next call is this batch again
	}
	r := b.Reader()
	var e wire.Event
	for r.Next(&e) {
		if s.next != 0 && e.Position != s.next {
			return fmt.Errorf("position %d, want %d", e.Position, s.next)
		}
		if string(e.Payload) != string(payloadFor(e.Position, s.size)) || e.Kind != "tock" {
			return fmt.Errorf("event at position %d: kind %q, payload not as written", e.Position, e.Kind)
		}
		s.next = e.Position + 1
	}
	return nil
}

// rawInputRingHandshake maps the rings the host offers, sends a HELLO of
// a sink offering versions 2 and 4 and checks that the HELLO_ACK chose
// both rings. It returns the reader of the host's frames, through the
// input ring, the input ring's shared memory and a writer into the ring.
func rawInputRingHandshake() (*wire.FrameReader, []byte, *wire.RingWriter) {
	die := func(format string, args ...any) {
		fmt.Fprintf(os.Stderr, "fixture: "+format+"\n", args...)
		os.Exit(2)
	}
	mapRing := func(env string) (*wire.Ring, []byte) {
		fd, err := strconv.Atoi(os.Getenv(env))
		if err != nil {
			die("no %s: %v", env, err)
		}
		var st syscall.Stat_t
		if err := syscall.Fstat(fd, &st); err != nil {
			die("%s: %v", env, err)
		}
		mem, err := syscall.Mmap(fd, 0, int(st.Size), syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_SHARED)
		syscall.Close(fd)
		if err != nil {
			die("map: %v", err)
		}
		r, err := wire.OpenRing(mem)
		if err != nil {
			die("%v", err)
		}
		return r, mem
	}
	ring, _ := mapRing(wire.EnvRingFD)
	input, inMem := mapRing(wire.EnvInputRingFD)
	hello := wire.Hello{Versions: []uint16{2, 4}, ID: "raw", Name: "raw", Version: "0.0.1",
		Role: wire.RoleSink, EventKinds: []string{"tick"}}
	rawSend(wire.MsgHello, 0, hello.AppendTo(nil))
	h, body, err := wire.NewFrameReader(os.Stdin, wire.HelloMaxFrame).Next()
	var ack wire.HelloAck
	if err == nil && h.Type == wire.MsgHelloAck {
		err = ack.Decode(body)
	}
	if err != nil || h.Type != wire.MsgHelloAck || ack.Transport != wire.TransportRing || ack.InputTransport != wire.TransportRing {
		die("no HELLO_ACK choosing both rings: %v %+v %v", h.Type, ack, err)
	}
	fr := wire.NewFrameReader(wire.NewRingReader(input, os.Stdin), ack.MaxFrame)
	return fr, inMem, wire.NewRingWriter(ring, os.Stdout, nil)
}

// checkInput checks the session's version and both transports, and that
// the host holds the input ring only when the session uses it. The
// session must not be able to end meanwhile.
func checkInput(t *testing.T, p *Plugin, version uint16, transport, input uint8) {
	t.Helper()
	if ack := p.HelloAck(); ack.Version != version || ack.Transport != transport || ack.InputTransport != input {
		t.Fatalf("HELLO_ACK version %d, transport %d, input %d; want %d, %d, %d", ack.Version, ack.Transport, ack.InputTransport, version, transport, input)
	}
	if (p.inRing != nil) != (input == wire.TransportRing) {
		t.Errorf("host holds input ring %v with input transport %d: an unused ring must be unmapped at once", p.inRing, input)
	}
}

// writeAll writes events first..first+n-1 of size-byte payloads to s in
// batches of per, checking each Write.
func writeAll(t *testing.T, s *Sink, first uint64, n, per, size int) {
	t.Helper()
	ctx := closeCtx(t)
	batch := make([]wire.Event, 0, per)
	for i := range n {
		pos := first + uint64(i)
		batch = append(batch, wire.Event{Position: pos, Time: int64(pos), Kind: "tock", Payload: payloadFor(pos, size)})
		if len(batch) == per || i == n-1 {
			if err := s.Write(ctx, batch); err != nil {
				t.Fatalf("Write up to position %d: %v", pos, err)
			}
			batch = batch[:0]
		}
	}
}

// TestInputRingSink: a sink on sdk.Main takes the input ring, and every
// WRITE arrives whole and in order through it: frames that wrap, frames
// larger than the whole ring, several instances writing at once, retries.
func TestInputRingSink(t *testing.T) {
	for _, tc := range []struct {
		name                 string
		opts                 Options
		instances, n, per    int
		size                 int
		retryEvery           int
		wantRetries, wantMin int64
	}{
		{name: "default ring", instances: 1, n: 20000, per: 512, size: 64},
		{name: "smallest ring", opts: Options{RingSize: wire.RingMinSize}, instances: 1, n: 5000, per: 37, size: 1000},
		// 200 KB frames through 64 KiB: the host waits for room, the
		// plugin reads each frame in pieces.
		{name: "frames larger than the ring", opts: Options{RingSize: wire.RingMinSize}, instances: 1, n: 2000, per: 200, size: 1000},
		{name: "instances at once", opts: Options{RingSize: wire.RingMinSize}, instances: 4, n: 3000, per: 50, size: 300},
		{name: "retries", instances: 1, n: 300, per: 10, size: 64, retryEvery: 3, wantMin: 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := closeCtx(t)
			tc.opts.Role = wire.RoleSink
			p := launchRing(t, "sink-verify", tc.opts)
			checkInput(t, p, wire.ProtocolVersion, wire.TransportRing, wire.TransportRing)
			sinks := make([]*Sink, tc.instances)
			for i := range sinks {
				s, err := p.OpenSink(ctx, map[string]string{"size": fmt.Sprint(tc.size), "retry_every": fmt.Sprint(tc.retryEvery)})
				if err != nil {
					t.Fatal(err)
				}
				sinks[i] = s
			}
			var wg sync.WaitGroup
			for _, s := range sinks {
				wg.Go(func() { writeAll(t, s, 1, tc.n, tc.per, tc.size) })
			}
			wg.Wait()
			for _, s := range sinks {
				if last, ok, err := s.Stop(ctx); err != nil || !ok || last != uint64(tc.n) {
					t.Fatalf("Stop = %d, %v, %v; want %d, true, nil", last, ok, err, tc.n)
				}
				if s.Retries() < tc.wantMin {
					t.Errorf("Retries() = %d, want at least %d", s.Retries(), tc.wantMin)
				}
				if err := s.Close(ctx); err != nil {
					t.Fatal(err)
				}
			}
			if err := p.Close(ctx); err != nil {
				t.Fatalf("Close: %v", err)
			}
			if p.inRing != nil {
				t.Error("the input ring is still mapped after the session ended")
			}
		})
	}
}

// TestInputRingDeclined: a sink that does not list version 4 keeps the
// host's frames on its standard input and its own in the ring; a source
// is offered the input ring (the host may not know the role) but is not
// given it, which the reference host keeps for sinks.
func TestInputRingDeclined(t *testing.T) {
	t.Run("sink offering versions 1 to 3", func(t *testing.T) {
		ctx := closeCtx(t)
		p := launchRing(t, "sink-v3", Options{})
		checkInput(t, p, 3, wire.TransportRing, wire.TransportStream)
		s, err := p.OpenSink(ctx, map[string]string{"size": "64"})
		if err != nil {
			t.Fatal(err)
		}
		writeAll(t, s, 1, 2000, 100, 64)
		if err := p.Close(ctx); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("source", func(t *testing.T) {
		p := launchRing(t, "count", Options{})
		checkInput(t, p, wire.ProtocolVersion, wire.TransportRing, wire.TransportStream)
		streamAll(t, p, 20000, 64)
	})
	t.Run("no ring offered", func(t *testing.T) {
		ctx := closeCtx(t)
		p := launchRing(t, "sink-verify", Options{RingSize: -1})
		checkInput(t, p, wire.ProtocolVersion, wire.TransportStream, wire.TransportStream)
		s, err := p.OpenSink(ctx, map[string]string{"size": "64"})
		if err != nil {
			t.Fatal(err)
		}
		writeAll(t, s, 1, 2000, 100, 64)
		if err := p.Close(ctx); err != nil {
			t.Fatal(err)
		}
	})
}

// TestInputRingOffer: the plugin maps both rings a host offers and keeps
// neither descriptor nor variable; a host that wants a source offers only
// the ring.
func TestInputRingOffer(t *testing.T) {
	for _, tc := range []struct {
		role   wire.Role
		mapped int
	}{{0, 2}, {wire.RoleSource, 1}} {
		t.Run(fmt.Sprint("role ", tc.role), func(t *testing.T) {
			p := launchRing(t, "ring-env", Options{Role: tc.role})
			_, err := p.OpenSource(closeCtx(t), nil, nil, newStream(0).handle)
			want := fmt.Sprintf(`env set false ""; input env set false ""; ring descriptors []; mapped %d`, tc.mapped)
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Fatalf("OpenSource = %v, want the plugin's report %q", err, want)
			}
		})
	}
}

// TestInputRingCorruptTail: a plugin that stores an impossible read
// position in the input ring breaks the protocol: the host's next frame
// finds it, and the host reports the corrupt ring and kills the plugin.
func TestInputRingCorruptTail(t *testing.T) {
	p := launchRing(t, "input-ring-corrupt", Options{Heartbeat: 20 * time.Millisecond})
	wait(t, p.Done(), "the session to end")
	err := p.Err()
	se := sessionErr(t, err, ErrProtocol, -1, "")
	if !errors.Is(err, wire.ErrRingCorrupt) || !errors.Is(err, wire.ErrMalformed) || !strings.Contains(err.Error(), "input ring") {
		t.Errorf("err = %v, want a malformed violation of the input ring wrapping wire.ErrRingCorrupt", err)
	}
	if se.Exit == nil || se.Exit.Success() {
		t.Errorf("exit %v, want the plugin killed", se.Exit)
	}
	if p.inRing != nil {
		t.Error("the input ring is still mapped after the session ended")
	}
}

// TestInputRingPluginStalls: a plugin that stops reading its input ring
// leaves the host's writer waiting for room; the WRITE goes unanswered
// and ends the session within Options.Timeout, and the host releases the
// ring only once its writer has stopped writing into it.
func TestInputRingPluginStalls(t *testing.T) {
	ctx := closeCtx(t)
	p := launchRing(t, "input-ring-stall", Options{RingSize: wire.RingMinSize, Timeout: 500 * time.Millisecond})
	checkInput(t, p, wire.InputRingVersion, wire.TransportRing, wire.TransportRing)
	s, err := p.OpenSink(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	big := []wire.Event{{Position: 1, Kind: "tick", Payload: make([]byte, 3*wire.RingMinSize)}}
	err = s.Write(ctx, big)
	if !errors.Is(err, ErrTimeout) {
		t.Fatalf("Write = %v, want ErrTimeout", err)
	}
	wait(t, p.Done(), "the session to end")
	if p.inRing != nil {
		t.Error("the input ring is still mapped after the session ended")
	}
}

// TestInputRingSinkDiesMidWrite: a sink that dies while the host is
// copying WRITEs larger than the ring into it (another instance's) ends
// the session as a lost connection: every Write fails, nothing hangs, and
// the ring is released once the writer has let go of it.
func TestInputRingSinkDiesMidWrite(t *testing.T) {
	for i := range 5 {
		t.Run(strconv.Itoa(i), func(t *testing.T) {
			ctx := closeCtx(t)
			p := launchRing(t, "sink-verify", Options{Role: wire.RoleSink, RingSize: wire.RingMinSize})
			var sinks []*Sink
			for _, crash := range []string{"3", "0"} {
				s, err := p.OpenSink(ctx, map[string]string{"size": "1000", "crash_on": crash})
				if err != nil {
					t.Fatal(err)
				}
				sinks = append(sinks, s)
			}
			errs := make([]error, len(sinks))
			var wg sync.WaitGroup
			for k, s := range sinks {
				wg.Go(func() {
					batch := make([]wire.Event, 300) // 310 KB: almost five rings
					for pos := uint64(1); ; {
						for j := range batch {
							batch[j] = wire.Event{Position: pos, Kind: "tock", Payload: payloadFor(pos, 1000)}
							pos++
						}
						if errs[k] = s.Write(ctx, batch); errs[k] != nil {
							return
						}
					}
				})
			}
			wg.Wait()
			for k, err := range errs {
				if !errors.Is(err, ErrConnectionLost) {
					t.Errorf("instance %d: Write = %v, want ErrConnectionLost", k+1, err)
				}
			}
			wait(t, p.Done(), "the session to end")
			sessionErr(t, p.Err(), ErrConnectionLost, 1, "crashing on call 3")
			if p.inRing != nil {
				t.Error("the input ring is still mapped after the session ended")
			}
		})
	}
}

// TestInputRingIdleSinkStaysAlive: an idle sink's host heartbeats come
// through the input ring while the plugin sleeps on its doorbell; without
// the doorbell the plugin would declare the host silent and leave.
func TestInputRingIdleSinkStaysAlive(t *testing.T) {
	ctx := closeCtx(t)
	p := launchRing(t, "sink-verify", Options{Role: wire.RoleSink, Heartbeat: 50 * time.Millisecond})
	select {
	case <-p.Done():
		t.Fatalf("an idle sink's session ended: %v", p.Err())
	case <-time.After(500 * time.Millisecond):
	}
	s, err := p.OpenSink(ctx, map[string]string{"size": "8"})
	if err != nil {
		t.Fatal(err)
	}
	writeAll(t, s, 1, 10, 10, 8)
	if err := p.Close(context.WithoutCancel(ctx)); err != nil {
		t.Fatal(err)
	}
}
