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
	"testing"
	"time"

	"github.com/plugctl/plugctl/sdk"
	"github.com/plugctl/plugctl/wire"
)

// envFixture names the fixture plugin a re-executed test binary runs.
const envFixture = "PLUGCTL_TEST_PLUGIN"

// TestMain runs a fixture plugin instead of the tests when the test binary
// is launched as a plugin (the re-exec pattern).
func TestMain(m *testing.M) {
	if name := os.Getenv(envFixture); name != "" {
		fixture, ok := fixtures[name]
		if !ok {
			fmt.Fprintf(os.Stderr, "unknown fixture %q\n", name)
			os.Exit(1)
		}
		fixture()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

var fixtures = map[string]func(){
	"count": func() { sdk.Main(countPlugin()) },
	// A plugin that speaks protocol versions 1 and 2 only, as plugins
	// built before version 3 do.
	"count-v2": func() {
		ring, err := sdk.OfferedRing()
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		err = sdk.Serve(os.Stdin, os.Stdout, countPlugin(), sdk.ServeOptions{Versions: []uint16{1, 2}, Ring: ring})
		os.Exit(sdk.ExitCode(err))
	},
	"emitter": func() { sdk.Main(emitterPlugin()) },
	"sink":    func() { sdk.Main(sinkPlugin()) },
	// Misbehaving plugins speak the codec by hand.
	"not-a-plugin": func() {
		fmt.Println("Listening on port 8080")
		time.Sleep(time.Minute)
	},
	"silent": func() {
		rawHandshake()
		time.Sleep(time.Minute)
	},
	"oversized": func() {
		rawHandshake()
		os.Stdout.Write(wire.AppendHeader(nil, wire.MsgEvents, 1, 2<<30))
		time.Sleep(time.Minute)
	},
	"garbage": func() {
		rawHandshake()
		os.Stdout.Write([]byte("\x10\x00\x00\x00\xee\x00\x00\x00garbage garbage!"))
		time.Sleep(time.Minute)
	},
	"flood": flood,
	// A plugin that closes its input and goes on sending heartbeats: the
	// host's writes fail while it is plainly alive.
	"deaf-heartbeat": func() {
		rawHandshake()
		os.Stdin.Close()
		for {
			rawSend(wire.MsgHeartbeat, 0, (&wire.Heartbeat{UnixNano: time.Now().UnixNano()}).AppendTo(nil))
			time.Sleep(20 * time.Millisecond)
		}
	},
	// A host that launches a plugin deaf to its input, prints its pid and
	// waits to be killed.
	"host": func() {
		exe, _ := os.Executable()
		p, err := Launch(context.Background(), exe, nil, Options{Heartbeat: time.Minute, Env: []string{envFixture + "=silent"}})
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		fmt.Println(p.Pid())
		time.Sleep(time.Minute)
	},
	"half-frame": func() {
		fr := rawHandshake()
		h, body := nextFrame(fr)
		var req wire.Request
		req.Decode(body, h.Type)
		reply := wire.Reply{ID: req.ID}
		rawSend(wire.MsgReply, 0, reply.AppendTo(nil))
		batch := binary.LittleEndian.AppendUint32(nil, 2)
		batch = wire.AppendEvent(batch, 1, 1, 0, []byte("one"), nil)
		batch = wire.AppendEvent(batch, 2, 2, 0, []byte("two"), nil)
		rawSend(wire.MsgEvents, h.Instance, batch)
		frame := append(wire.AppendHeader(nil, wire.MsgEvents, h.Instance, 4096), make([]byte, 1000)...)
		os.Stdout.Write(frame)
		fmt.Fprintln(os.Stderr, "fixture: dying in the middle of a frame")
		os.Exit(1)
	},
}

func fixtureSpec(name string, role wire.Role) wire.Spec {
	return wire.Spec{Name: name, Version: "1.2.3", Role: role,
		Events: []wire.EventKind{{Name: "tick"}, {Name: "tock"}}}
}

func setting(o sdk.Open, key string) int {
	n, _ := strconv.Atoi(o.Settings[key])
	return n
}

// countPlugin is a polled source of positions ResumeFrom+1 … n (n 0:
// without end). Each payload starts with its position. Settings: n, size
// (payload bytes, at least 8), crash_at (exit with status 1 on reaching
// that position), panic_at (panic there), fail_at (the instance fails on reaching that position,
// having sent the ones before).
func countPlugin() sdk.Plugin {
	return sdk.Plugin{
		Spec: fixtureSpec("count", wire.RoleSource),
		Source: func(o sdk.Open) (sdk.Source, error) {
			return &counter{
				next:    o.ResumeFrom + 1,
				n:       uint64(setting(o, "n")),
				crashAt: uint64(setting(o, "crash_at")),
				panicAt: uint64(setting(o, "panic_at")),
				failAt:  uint64(setting(o, "fail_at")),
				payload: make([]byte, max(8, setting(o, "size"))),
				stamp:   time.Now().UnixNano(),
			}, nil
		},
	}
}

type counter struct {
	next, n, crashAt, panicAt, failAt uint64
	payload                           []byte
	stamp                             int64
}

// deepPanic panics depth calls down, so that the traceback is longer than
// the stderr lines a host keeps.
func deepPanic(depth int, msg string) {
	if depth > 0 {
		deepPanic(depth-1, msg)
	}
	panic(msg)
}

func (c *counter) NextBatch(b *sdk.Batch) error {
	for !b.Full() {
		if c.n != 0 && c.next > c.n {
			if b.Len() > 0 {
				return nil
			}
			return sdk.ErrEndOfStream
		}
		if c.next == c.failAt {
			if b.Len() > 0 {
				return nil
			}
			return fmt.Errorf("sensor unplugged at position %d", c.next)
		}
		if c.next == c.crashAt {
			fmt.Fprintf(os.Stderr, "fixture: crashing at position %d\n", c.next)
			os.Exit(1)
		}
		if c.next == c.panicAt {
			deepPanic(30, fmt.Sprintf("fixture: panicking at position %d", c.next))
		}
		binary.LittleEndian.PutUint64(c.payload, c.next)
		// A fixed time keeps the clock out of the measurement.
		if err := b.Append(c.next, c.stamp, 0, c.payload); err != nil {
			if errors.Is(err, sdk.ErrBatchFull) {
				return nil
			}
			return err
		}
		c.next++
	}
	return nil
}

// emitterPlugin is a callback-driven source. Settings: goroutines and per
// (each goroutine emits per events whose payload is goroutine id and
// sequence number, then the source ends); size (payload bytes); every
// (milliseconds between events: single events for latency; 0: flat out);
// forever (never end).
func emitterPlugin() sdk.Plugin {
	return sdk.Plugin{
		Spec: fixtureSpec("emitter", wire.RoleSource),
		Run: func(o sdk.Open, sink sdk.EventSink, s *sdk.Session) error {
			goroutines, per := max(1, setting(o, "goroutines")), setting(o, "per")
			every := time.Duration(setting(o, "every")) * time.Millisecond
			forever := o.Settings["forever"] != ""
			var wg sync.WaitGroup
			errs := make(chan error, goroutines)
			for g := range goroutines {
				wg.Go(func() {
					payload := make([]byte, max(8, setting(o, "size")))
					for i := 0; forever || i < per; i++ {
						binary.LittleEndian.PutUint32(payload, uint32(g))
						binary.LittleEndian.PutUint32(payload[4:], uint32(i))
						if every > 0 && !s.Sleep(every) {
							return
						}
						if err := sink.EmitAt("tock", time.Now().UnixNano(), payload); err != nil {
							if !errors.Is(err, sdk.ErrShutdown) {
								errs <- err
							}
							return
						}
					}
				})
			}
			wg.Wait()
			close(errs)
			if err := <-errs; err != nil {
				return err
			}
			if s.ShuttingDown() {
				return nil
			}
			return sdk.ErrEndOfStream
		},
	}
}

// sinkPlugin buffers what it is given and writes the positions, one per
// line, to the file named by the setting out when stopped. Setting mode:
// "retry" asks for every batch to be sent twice, "error" refuses them.
func sinkPlugin() sdk.Plugin {
	return sdk.Plugin{
		Spec: fixtureSpec("sink", wire.RoleSink),
		Sink: func(o sdk.Open) (sdk.Sink, error) {
			return &fileSink{mode: o.Settings["mode"], out: o.Settings["out"]}, nil
		},
	}
}

type fileSink struct {
	mode, out string
	tries     int
	buf       []string
}

func (s *fileSink) Write(b *wire.Events) error {
	s.tries++
	switch {
	case s.mode == "error":
		return errors.New("schema mismatch")
	case s.mode == "retry" && s.tries%2 == 1:
		return sdk.Retry(errors.New("busy"))
	}
	r := b.Reader()
	var e wire.Event
	for r.Next(&e) {
		s.buf = append(s.buf, strconv.FormatUint(e.Position, 10))
	}
	return nil
}

// Stop flushes: until then the host cannot see what was written.
func (s *fileSink) Stop() error {
	return os.WriteFile(s.out, []byte(strings.Join(s.buf, "\n")), 0o600)
}

// rawHandshake sends a HELLO by hand and reads the HELLO_ACK, returning
// the reader of the host's frames.
func rawHandshake() *wire.FrameReader {
	h := wire.Hello{Versions: []uint16{1}, ID: "raw", Name: "raw", Version: "0.0.1",
		Role: wire.RoleSource, EventKinds: []string{"tick"}}
	rawSend(wire.MsgHello, 0, h.AppendTo(nil))
	fr := wire.NewFrameReader(os.Stdin, wire.MaxFrameLimit)
	if h, _, err := fr.Next(); err != nil || h.Type != wire.MsgHelloAck {
		fmt.Fprintf(os.Stderr, "fixture: no HELLO_ACK: %v %v\n", h.Type, err)
		os.Exit(2)
	}
	return fr
}

func rawSend(t wire.MsgType, instance uint16, body []byte) {
	os.Stdout.Write(append(wire.AppendHeader(nil, t, instance, len(body)), body...))
}

// nextFrame reads the host's next frame other than a heartbeat.
func nextFrame(fr *wire.FrameReader) (wire.Header, []byte) {
	for {
		h, body, err := fr.Next()
		if err != nil {
			fmt.Fprintf(os.Stderr, "fixture: %v\n", err)
			os.Exit(3)
		}
		if h.Type != wire.MsgHeartbeat {
			return h, body
		}
	}
}

// flood writes pre-encoded EVENTS frames flat out, ignoring the window:
// the ceiling of the transport and of the host's read path. Settings: size
// (payload bytes), frame (frame body bytes).
func flood() {
	fr := rawHandshake()
	h, body := nextFrame(fr)
	var open wire.Request
	open.Decode(body, h.Type)
	reply := wire.Reply{ID: open.ID}
	rawSend(wire.MsgReply, 0, reply.AppendTo(nil))
	go func() { // drain the host's ACKs and heartbeats; leave on GOODBYE
		for {
			if h, _ := nextFrame(fr); h.Type == wire.MsgGoodbye {
				os.Exit(0)
			}
		}
	}()
	size, _ := strconv.Atoi(open.Settings["size"])
	frameBytes, _ := strconv.Atoi(open.Settings["frame"])
	n := frameBytes / (wire.EventHeaderSize + size)
	frame := binary.LittleEndian.AppendUint32(wire.AppendHeader(nil, wire.MsgEvents, h.Instance, 0), uint32(n))
	for i := range n {
		frame = wire.AppendEvent(frame, uint64(i+1), 1, 0, make([]byte, size), nil)
	}
	wire.PutHeader(frame, wire.MsgEvents, h.Instance, len(frame)-wire.HeaderSize)
	for pos := uint64(1); ; {
		for off := wire.HeaderSize + 4; off < len(frame); off += wire.EventHeaderSize + size {
			binary.LittleEndian.PutUint64(frame[off:], pos)
			pos++
		}
		if _, err := os.Stdout.Write(frame); err != nil {
			os.Exit(sdk.ExitConnectionLost)
		}
	}
}
