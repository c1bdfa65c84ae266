//go:build unix && !solaris

package sdk

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/plugctl/plugctl/wire"
)

// TestHelperPlugin is the plugin process of the Main tests: the test
// binary run again with PLUGCTL_TEST_HELPER set.
func TestHelperPlugin(t *testing.T) {
	if os.Getenv("PLUGCTL_TEST_HELPER") != "1" {
		t.Skip("the plugin process of TestMain*; not a test of its own")
	}
	Main(Plugin{Spec: testSpec, Run: func(o Open, sink EventSink, s *Session) error {
		fmt.Println("a stray print")
		child := exec.Command("sh", "-c", "echo a child prints too")
		child.Stdout = os.Stdout
		if err := child.Run(); err != nil {
			return err
		}
		// Standard input no longer carries the protocol: reading it
		// steals nothing.
		n, _ := os.Stdin.Read(make([]byte, 64))
		if err := sink.Emit("tick", fmt.Appendf(nil, "stdin gave %d bytes", n)); err != nil {
			return err
		}
		s.Wait()
		return nil
	}})
}

// plugin is a plugin process run by Main, seen from its host.
type plugin struct {
	t      *testing.T
	cmd    *exec.Cmd
	in     io.WriteCloser
	fr     *wire.FrameReader
	stderr syncBuffer
}

func helperCommand(env ...string) *exec.Cmd {
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperPlugin$")
	cmd.Env = append(append(os.Environ(), "PLUGCTL_TEST_HELPER=1", wire.EnvPluginID+"=proc-id"), env...)
	return cmd
}

func startProcess(t *testing.T, env ...string) *plugin {
	t.Helper()
	p := &plugin{t: t, cmd: helperCommand(env...)}
	p.cmd.Stderr = &p.stderr
	var err error
	if p.in, err = p.cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	out, err := p.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	p.fr = wire.NewFrameReader(out, wire.MaxFrameLimit)
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.cmd.Process.Kill() })
	return p
}

func (p *plugin) send(t wire.MsgType, instance uint16, body []byte) {
	p.t.Helper()
	if _, err := p.in.Write(append(wire.AppendHeader(nil, t, instance, len(body)), body...)); err != nil {
		p.t.Fatal(err)
	}
}

// expect returns the body of the next frame other than HEARTBEAT, which
// must be of type t.
func (p *plugin) expect(t wire.MsgType) []byte {
	p.t.Helper()
	for {
		h, body, err := p.fr.Next()
		if err != nil {
			p.t.Fatalf("reading from the plugin: %v; stderr:\n%s", err, &p.stderr)
		}
		if h.Type == wire.MsgHeartbeat {
			continue
		}
		if h.Type != t {
			p.t.Fatalf("got %s, want %s", h.Type, t)
		}
		return bytes.Clone(body)
	}
}

// exitCode waits for the process, bounded, and returns its exit code.
func (p *plugin) exitCode() int {
	p.t.Helper()
	done := make(chan error, 1)
	go func() { done <- p.cmd.Wait() }()
	select {
	case err := <-done:
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return ee.ExitCode()
		}
		if err != nil {
			p.t.Fatal(err)
		}
		return 0
	case <-time.After(hangGuard):
		p.t.Fatalf("the plugin process did not exit; stderr:\n%s", &p.stderr)
		return -1
	}
}

func TestMainStdioAndSignal(t *testing.T) {
	p := startProcess(t)
	var hello wire.Hello
	if err := hello.Decode(p.expect(wire.MsgHello)); err != nil || hello.ID != "proc-id" {
		t.Fatalf("HELLO %+v, %v", hello, err)
	}
	p.send(wire.MsgHelloAck, 0, defaultAck.AppendTo(nil))
	p.send(wire.MsgOpen, 1, (&wire.Request{ID: 1}).AppendTo(nil, wire.MsgOpen))
	var r wire.Reply
	if err := r.Decode(p.expect(wire.MsgReply)); err != nil || r.Status != wire.StatusOK {
		t.Fatalf("OPEN reply %+v, %v", r, err)
	}
	b, err := wire.ParseEvents(p.expect(wire.MsgEvents), []string{"tick", "tock"}, wire.MsgEvents)
	if err != nil {
		t.Fatal(err)
	}
	var e wire.Event
	if rd := b.Reader(); !rd.Next(&e) || string(e.Payload) != "stdin gave 0 bytes" {
		t.Fatalf("event %q, want stdin to give nothing", e.Payload)
	}
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	var g wire.Goodbye
	if err := g.Decode(p.expect(wire.MsgGoodbye)); err != nil || g.Reason != wire.GoodbyeSignal {
		t.Fatalf("GOODBYE %+v, %v", g, err)
	}
	if code := p.exitCode(); code != ExitOK {
		t.Fatalf("exit code %d, want 0; stderr:\n%s", code, &p.stderr)
	}
	for _, want := range []string{"a stray print", "a child prints too", "shutting down"} {
		if !strings.Contains(p.stderr.String(), want) {
			t.Errorf("stderr does not hold %q:\n%s", want, &p.stderr)
		}
	}
}

// TestMainStrayRingVariable: a ring variable naming a descriptor that is
// not a ring (the protocol's own, the Go runtime's, none) leaves it open:
// the plugin leaves out version 2, which would claim the ring (or 4, for
// the input ring), and works on the stream.
func TestMainStrayRingVariable(t *testing.T) {
	for _, tc := range []struct {
		env, says string
		versions  []uint16
	}{
		{wire.EnvRingFD, "cannot use the shared ring", []uint16{1, 3, 4}},
		{wire.EnvInputRingFD, "cannot use the input ring", []uint16{1, 2, 3}},
	} {
		for fd := 3; fd <= 10; fd++ {
			t.Run(fmt.Sprintf("%s=%d", tc.env, fd), func(t *testing.T) {
				p := startProcess(t, tc.env+"="+strconv.Itoa(fd))
				var hello wire.Hello
				if err := hello.Decode(p.expect(wire.MsgHello)); err != nil || !slices.Equal(hello.Versions, tc.versions) {
					t.Fatalf("HELLO %+v, %v; want versions %v", hello, err, tc.versions)
				}
				ack := defaultAck
				ack.Version = slices.Max(tc.versions)
				p.send(wire.MsgHelloAck, 0, ack.AppendTo(nil))
				p.send(wire.MsgOpen, 1, (&wire.Request{ID: 1}).AppendTo(nil, wire.MsgOpen))
				var r wire.Reply
				if err := r.Decode(p.expect(wire.MsgReply)); err != nil || r.Status != wire.StatusOK {
					t.Fatalf("OPEN reply %+v, %v", r, err)
				}
				if _, err := wire.ParseEvents(p.expect(wire.MsgEvents), []string{"tick", "tock"}, wire.MsgEvents); err != nil {
					t.Fatal(err)
				}
				if !strings.Contains(p.stderr.String(), tc.says) {
					t.Errorf("stderr does not say the ring was refused:\n%s", &p.stderr)
				}
			})
		}
	}
}

// TestMainInputRingHostKilled: Main maps the input ring a host offers
// and reads the host's frames from it; when the host dies in the middle
// of a frame, which closes the plugin's input, the plugin drains the ring
// and exits 3, connection lost, instead of waiting for the rest.
func TestMainInputRingHostKilled(t *testing.T) {
	f, err := os.CreateTemp(t.TempDir(), "input-ring")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	size := wire.RingMinSize
	if err := f.Truncate(int64(wire.RingMemSize(size))); err != nil {
		t.Fatal(err)
	}
	mem, err := syscall.Mmap(int(f.Fd()), 0, wire.RingMemSize(size), syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_SHARED)
	if err != nil {
		t.Fatal(err)
	}
	defer syscall.Munmap(mem)
	ring, err := wire.InitRing(mem, size)
	if err != nil {
		t.Fatal(err)
	}
	p := &plugin{t: t, cmd: helperCommand(wire.EnvInputRingFD + "=3")}
	p.cmd.ExtraFiles = []*os.File{f}
	p.cmd.Stderr = &p.stderr
	if p.in, err = p.cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	out, err := p.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	p.fr = wire.NewFrameReader(out, wire.MaxFrameLimit)
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.cmd.Process.Kill() })

	var hello wire.Hello
	if err := hello.Decode(p.expect(wire.MsgHello)); err != nil || !slices.Contains(hello.Versions, wire.InputRingVersion) {
		t.Fatalf("HELLO %+v, %v; want version %d listed", hello, err, wire.InputRingVersion)
	}
	ack := defaultAck
	ack.InputTransport = wire.TransportRing
	p.send(wire.MsgHelloAck, 0, ack.AppendTo(nil))
	rw := wire.NewRingWriter(ring, p.in, nil)
	open := (&wire.Request{ID: 1}).AppendTo(nil, wire.MsgOpen)
	if _, err := rw.Write(append(wire.AppendHeader(nil, wire.MsgOpen, 1, len(open)), open...)); err != nil {
		t.Fatal(err)
	}
	var r wire.Reply
	if err := r.Decode(p.expect(wire.MsgReply)); err != nil || r.Status != wire.StatusOK {
		t.Fatalf("OPEN through the input ring: reply %+v, %v", r, err)
	}
	// Half an ACK, then the host is gone.
	if _, err := rw.Write(wire.AppendHeader(nil, wire.MsgAck, 1, 8)[:6]); err != nil {
		t.Fatal(err)
	}
	p.in.Close()
	if code := p.exitCode(); code != ExitConnectionLost {
		t.Fatalf("exit code %d, want %d; stderr:\n%s", code, ExitConnectionLost, &p.stderr)
	}
	if !strings.Contains(p.stderr.String(), "host connection lost") {
		t.Errorf("stderr does not say the host was lost:\n%s", &p.stderr)
	}
}

func TestMainExitCodes(t *testing.T) {
	t.Run("rejected", func(t *testing.T) {
		p := startProcess(t)
		p.expect(wire.MsgHello)
		p.send(wire.MsgReject, 0, (&wire.Reject{Reason: wire.RejectRevoked, Message: "revoked on Monday"}).AppendTo(nil))
		if code := p.exitCode(); code != ExitRejected || !strings.Contains(p.stderr.String(), "plugin rejected by host: revoked: revoked on Monday") {
			t.Fatalf("exit code %d, stderr:\n%s", code, &p.stderr)
		}
	})
	t.Run("host gone", func(t *testing.T) {
		p := startProcess(t)
		p.expect(wire.MsgHello)
		p.send(wire.MsgHelloAck, 0, defaultAck.AppendTo(nil))
		p.in.Close()
		if code := p.exitCode(); code != ExitConnectionLost || !strings.Contains(p.stderr.String(), "host connection lost") {
			t.Fatalf("exit code %d, stderr:\n%s", code, &p.stderr)
		}
	})
	t.Run("garbage", func(t *testing.T) {
		p := startProcess(t)
		p.expect(wire.MsgHello)
		p.send(wire.MsgHelloAck, 0, defaultAck.AppendTo(nil))
		p.send(wire.MsgEnd, 1, (&wire.End{}).AppendTo(nil, defaultAck.Version))
		p.expect(wire.MsgError)
		if code := p.exitCode(); code != ExitProtocolViolation || !strings.Contains(p.stderr.String(), "protocol violation by host: END frame from the host") {
			t.Fatalf("exit code %d, stderr:\n%s", code, &p.stderr)
		}
	})
}

func TestMainSocket(t *testing.T) {
	path := t.TempDir() + "/host.sock"
	l, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	p := &plugin{t: t, cmd: helperCommand(wire.EnvSocket + "=" + path)}
	p.cmd.Stderr = &p.stderr
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.cmd.Process.Kill() })
	c, err := l.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	p.in, p.fr = c, wire.NewFrameReader(c, wire.MaxFrameLimit)
	var hello wire.Hello
	if err := hello.Decode(p.expect(wire.MsgHello)); err != nil || hello.Name != "acme" {
		t.Fatalf("HELLO %+v, %v", hello, err)
	}
	p.send(wire.MsgHelloAck, 0, defaultAck.AppendTo(nil))
	p.send(wire.MsgGoodbye, 0, (&wire.Goodbye{}).AppendTo(nil))
	p.expect(wire.MsgGoodbye)
	if code := p.exitCode(); code != ExitOK {
		t.Fatalf("exit code %d; stderr:\n%s", code, &p.stderr)
	}
}

func TestMainSocketUnreachable(t *testing.T) {
	cmd := helperCommand(wire.EnvSocket + "=" + t.TempDir() + "/nobody.sock")
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != ExitConnectionLost || !strings.Contains(string(out), "cannot reach the host at") {
		t.Fatalf("exit %v, output:\n%s", err, out)
	}
}
