package sdk

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/plugctl/plugctl/wire"
)

// hangGuard bounds every wait of the tests: generous, it only turns a hang
// into a failure.
const hangGuard = 20 * time.Second

// syncBuffer is a bytes.Buffer safe for the SDK's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// frame is a frame the fake host received, its body copied.
type frame struct {
	h    wire.Header
	body []byte
}

// fakeHost is the host side of an in-process session, written with the
// codec alone.
type fakeHost struct {
	t       *testing.T
	w       *io.PipeWriter // to the plugin
	r       *io.PipeReader // from the plugin
	wmu     sync.Mutex
	input   *wire.Ring       // the input ring the plugin was given, if any
	inW     *wire.RingWriter // writes into input once HELLO_ACK chose it
	served  chan struct{}    // closed when Serve has returned
	frames  chan frame
	readErr chan error
	stash   []frame // frames read while waiting for something else
	result  chan error
	stderr  *syncBuffer
	hello   wire.Hello
	version uint16 // chosen by handshake
	nextID  uint32
	stopHB  chan struct{}
}

// startPlugin runs Serve for p on pipes and returns the host's end.
func startPlugin(t *testing.T, p Plugin, opts ServeOptions) *fakeHost {
	t.Helper()
	toPlugin, pluginIn := io.Pipe()
	pluginOut, fromPlugin := io.Pipe()
	h := &fakeHost{
		t:       t,
		w:       pluginIn,
		r:       pluginOut,
		frames:  make(chan frame, 1<<14),
		readErr: make(chan error, 1),
		result:  make(chan error, 1),
		stderr:  &syncBuffer{},
		stopHB:  make(chan struct{}),
		input:   opts.InputRing,
		served:  make(chan struct{}),
	}
	opts.Stderr = h.stderr
	if opts.ID == "" {
		opts.ID = "test-id"
	}
	go func() {
		err := Serve(toPlugin, fromPlugin, p, opts)
		// As when a plugin process exits: the host's writes fail, its
		// reads end.
		toPlugin.Close()
		fromPlugin.Close()
		close(h.served)
		h.result <- err
	}()
	go func() {
		fr := wire.NewFrameReader(pluginOut, wire.MaxFrameLimit)
		for {
			hd, body, err := fr.Next()
			if err != nil {
				h.readErr <- err
				close(h.frames)
				return
			}
			h.frames <- frame{hd, bytes.Clone(body)}
		}
	}()
	t.Cleanup(func() {
		h.stopHeartbeats()
		toPlugin.Close()
		pluginIn.Close()
		pluginOut.Close()
		fromPlugin.Close()
	})
	return h
}

// sendRaw writes bytes to the plugin: on its input stream, or into the
// input ring once HELLO_ACK chose it.
func (h *fakeHost) sendRaw(b []byte) error {
	h.wmu.Lock()
	defer h.wmu.Unlock()
	if h.inW != nil {
		_, err := h.inW.Write(b)
		return err
	}
	_, err := h.w.Write(b)
	return err
}

func (h *fakeHost) send(t wire.MsgType, instance uint16, body []byte) {
	h.t.Helper()
	f := wire.AppendHeader(nil, t, instance, len(body))
	// A plugin that has ended reads nothing more: what the test expects
	// next says whether it should have.
	if err := h.sendRaw(append(f, body...)); err != nil && err != io.ErrClosedPipe {
		h.t.Fatalf("host: send %s: %v", t, err)
	}
}

// next returns the next frame other than HEARTBEAT.
func (h *fakeHost) next() frame {
	h.t.Helper()
	f, ok := h.tryNext()
	if !ok {
		h.t.Fatalf("host: the plugin closed its stream; stderr:\n%s", h.stderr)
	}
	return f
}

func (h *fakeHost) tryNext() (frame, bool) {
	h.t.Helper()
	if len(h.stash) > 0 {
		f := h.stash[0]
		h.stash = h.stash[1:]
		return f, true
	}
	timer := time.NewTimer(hangGuard)
	defer timer.Stop()
	for {
		select {
		case f, ok := <-h.frames:
			if !ok {
				return frame{}, false
			}
			if f.h.Type == wire.MsgHeartbeat {
				continue
			}
			return f, true
		case <-timer.C:
			h.t.Fatalf("host: no frame from the plugin within %v; stderr:\n%s", hangGuard, h.stderr)
		}
	}
}

// expect returns the next frame, which must be of type t.
func (h *fakeHost) expect(t wire.MsgType) frame {
	h.t.Helper()
	f := h.next()
	if f.h.Type != t {
		h.t.Fatalf("host: got %s frame, want %s", f.h.Type, t)
	}
	return f
}

var defaultAck = wire.HelloAck{Version: wire.ProtocolVersion, MaxFrame: wire.DefaultMaxFrame, HeartbeatMS: 1000, Window: 8}

// handshake reads HELLO and accepts it with ack, then keeps the session
// alive with heartbeats.
func (h *fakeHost) handshake(ack wire.HelloAck) {
	h.t.Helper()
	f := h.expect(wire.MsgHello)
	if err := h.hello.Decode(f.body); err != nil {
		h.t.Fatalf("host: HELLO: %v", err)
	}
	h.version = ack.Version
	h.send(wire.MsgHelloAck, 0, ack.AppendTo(nil))
	if ack.InputTransport == wire.TransportRing {
		h.wmu.Lock()
		h.inW = wire.NewRingWriter(h.input, h.w, h.served)
		h.wmu.Unlock()
	}
	go func() {
		tick := time.NewTicker(time.Duration(ack.HeartbeatMS) * time.Millisecond / 3)
		defer tick.Stop()
		hb := wire.AppendHeader(nil, wire.MsgHeartbeat, 0, 8)
		hb = append(hb, make([]byte, 8)...)
		for {
			select {
			case <-tick.C:
				if h.sendRaw(hb) != nil {
					return
				}
			case <-h.stopHB:
				return
			}
		}
	}()
}

func (h *fakeHost) stopHeartbeats() {
	select {
	case <-h.stopHB:
	default:
		close(h.stopHB)
	}
}

// request sends a request and waits for its REPLY, keeping other frames
// for next.
func (h *fakeHost) request(t wire.MsgType, instance uint16, req wire.Request) wire.Reply {
	h.t.Helper()
	h.nextID++
	req.ID = h.nextID
	h.send(t, instance, req.AppendTo(nil, t))
	return h.reply(req.ID)
}

// reply waits for the REPLY to request id, keeping other frames for next.
func (h *fakeHost) reply(id uint32) wire.Reply {
	h.t.Helper()
	var kept []frame
	defer func() { h.stash = append(kept, h.stash...) }()
	for {
		f := h.next()
		if f.h.Type != wire.MsgReply {
			kept = append(kept, f)
			continue
		}
		var r wire.Reply
		if err := r.Decode(f.body); err != nil {
			h.t.Fatalf("host: REPLY: %v", err)
		}
		if r.ID != id {
			h.t.Fatalf("host: REPLY to request %d, want %d", r.ID, id)
		}
		return r
	}
}

// open opens instance id and checks the reply is OK.
func (h *fakeHost) open(id uint16, settings map[string]string) {
	h.t.Helper()
	if r := h.request(wire.MsgOpen, id, wire.Request{Settings: settings}); r.Status != wire.StatusOK {
		h.t.Fatalf("host: OPEN %d: %s: %s", id, r.Status, r.Message)
	}
}

// events decodes an EVENTS frame.
func (h *fakeHost) events(f frame) []wire.Event {
	h.t.Helper()
	if f.h.Type != wire.MsgEvents {
		h.t.Fatalf("host: got %s frame, want EVENTS", f.h.Type)
	}
	b, err := wire.ParseEvents(f.body, h.hello.EventKinds, wire.MsgEvents)
	if err != nil {
		h.t.Fatalf("host: EVENTS: %v", err)
	}
	var out []wire.Event
	r := b.Reader()
	var e wire.Event
	for r.Next(&e) {
		e.Payload = bytes.Clone(e.Payload)
		out = append(out, e)
	}
	return out
}

func (h *fakeHost) ack(instance uint16, pos uint64) {
	h.t.Helper()
	h.send(wire.MsgAck, instance, (&wire.Ack{Position: pos}).AppendTo(nil))
}

// wait returns what Serve returned.
func (h *fakeHost) wait() error {
	h.t.Helper()
	select {
	case err := <-h.result:
		return err
	case <-time.After(hangGuard):
		h.t.Fatalf("Serve did not return within %v; stderr:\n%s", hangGuard, h.stderr)
		return nil
	}
}

// wantExit checks Serve's error gives code and stderr mentions text.
func (h *fakeHost) wantExit(code int, text string) error {
	h.t.Helper()
	err := h.wait()
	if got := ExitCode(err); got != code {
		h.t.Fatalf("exit code %d (%v), want %d; stderr:\n%s", got, err, code, h.stderr)
	}
	if code != ExitOK {
		var ee *ExitError
		if !errors.As(err, &ee) {
			h.t.Fatalf("Serve returned %T, want *ExitError", err)
		}
	}
	if !strings.Contains(h.stderr.String(), text) {
		h.t.Fatalf("stderr does not mention %q:\n%s", text, h.stderr)
	}
	return err
}
