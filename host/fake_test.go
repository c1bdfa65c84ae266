package host

import (
	"context"
	"encoding/binary"
	"net"
	"testing"
	"time"

	"github.com/plugctl/plugctl/wire"
)

// fake is an in-process plugin speaking the protocol with the codec over
// net.Pipe, scripted by the test.
type fake struct {
	t     *testing.T
	c     net.Conn
	ack   wire.HelloAck
	in    chan frame // frames from the host, heartbeats left out
	ended chan struct{}
}

type frame struct {
	h    wire.Header
	body []byte
}

func sourceHello() wire.Hello {
	return wire.Hello{Versions: []uint16{1}, ID: "id-1", Name: "fake", Version: "1.0.0",
		Role: wire.RoleSource, EventKinds: []string{"tick", "tock"}}
}

func testOptions() Options {
	return Options{Heartbeat: time.Second, Timeout: 5 * time.Second, Grace: time.Second, Stderr: testWriter{}}
}

// testWriter drops plugin stderr in in-process tests.
type testWriter struct{}

func (testWriter) Write(b []byte) (int, error) { return len(b), nil }

// startFake runs a handshake between a fake plugin sending hello and a
// host with opts. The fake's frames are read from the start, so the host
// never blocks on net.Pipe.
func startFake(t *testing.T, hello wire.Hello, opts Options) (*fake, *Plugin, error) {
	t.Helper()
	return startFakeRaw(t, func(f *fake) { f.send(wire.MsgHello, 0, hello.AppendTo(nil)) }, opts)
}

func startFakeRaw(t *testing.T, greet func(*fake), opts Options) (*fake, *Plugin, error) {
	t.Helper()
	hc, pc := net.Pipe()
	f := &fake{t: t, c: pc, in: make(chan frame, 1024), ended: make(chan struct{})}
	go func() {
		defer close(f.ended)
		defer close(f.in)
		greet(f)
		fr := wire.NewFrameReader(pc, wire.MaxFrameLimit)
		for {
			h, body, err := fr.Next()
			if err != nil {
				return
			}
			if h.Type == wire.MsgHelloAck {
				f.ack.Decode(body)
			}
			if h.Type != wire.MsgHeartbeat {
				f.in <- frame{h, append([]byte(nil), body...)}
			}
		}
	}()
	p, err := start(context.Background(), hc, nil, offers{}, identity{}, "fake", opts.withDefaults())
	t.Cleanup(func() {
		pc.Close()
		if p != nil {
			p.Kill()
		}
	})
	return f, p, err
}

// send writes one frame to the host.
func (f *fake) send(t wire.MsgType, instance uint16, body []byte) {
	b := append(wire.AppendHeader(nil, t, instance, len(body)), body...)
	f.c.SetWriteDeadline(time.Now().Add(5 * time.Second))
	f.c.Write(b)
}

// next returns the host's next frame other than ACK when skipAcks.
func (f *fake) next(skipAcks bool) frame {
	f.t.Helper()
	timeout := time.After(5 * time.Second)
	for {
		select {
		case fr, ok := <-f.in:
			if !ok {
				f.t.Fatal("fake: host closed the stream")
			}
			if skipAcks && fr.h.Type == wire.MsgAck {
				continue
			}
			return fr
		case <-timeout:
			f.t.Fatal("fake: no frame from the host within 5s")
		}
	}
}

// expect returns the next non-ACK frame and checks its type.
func (f *fake) expect(want wire.MsgType) frame {
	f.t.Helper()
	fr := f.next(true)
	if fr.h.Type != want {
		f.t.Fatalf("fake: got %s, want %s", fr.h.Type, want)
	}
	return fr
}

// request decodes the host's request frame.
func (f *fake) request(fr frame) wire.Request {
	f.t.Helper()
	var r wire.Request
	if err := r.Decode(fr.body, fr.h.Type); err != nil {
		f.t.Fatal(err)
	}
	return r
}

// reply answers a request.
func (f *fake) reply(r wire.Reply) {
	f.send(wire.MsgReply, 0, r.AppendTo(nil))
}

// events sends one EVENTS batch with the given positions.
func (f *fake) events(instance uint16, positions ...uint64) {
	body := binary.LittleEndian.AppendUint32(nil, uint32(len(positions)))
	for _, p := range positions {
		body = wire.AppendEvent(body, p, int64(p), 0, []byte("payload"), nil)
	}
	f.send(wire.MsgEvents, instance, body)
}

// openSource opens a source on p, answering the fake's side.
func openSource(t *testing.T, f *fake, p *Plugin, resume *uint64, h Handler) *Source {
	t.Helper()
	type result struct {
		s   *Source
		err error
	}
	ch := make(chan result, 1)
	go func() {
		s, err := p.OpenSource(context.Background(), map[string]string{"k": "v"}, resume, h)
		ch <- result{s, err}
	}()
	req := f.request(f.expect(wire.MsgOpen))
	f.reply(wire.Reply{ID: req.ID})
	r := <-ch
	if r.err != nil {
		t.Fatal(r.err)
	}
	return r.s
}

// waitDone waits for the session to end.
func waitDone(t *testing.T, p *Plugin, within time.Duration) error {
	t.Helper()
	select {
	case <-p.Done():
		return p.Err()
	case <-time.After(within):
		t.Fatalf("session still running after %v", within)
		return nil
	}
}
