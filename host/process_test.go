package host

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/plugctl/plugctl/sdk"
	"github.com/plugctl/plugctl/wire"
)

// syncBuffer collects a plugin's forwarded stderr.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func testBinary(t testing.TB) string {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	return exe
}

// launchFixture launches the test binary as the named fixture plugin. The
// plugin is killed and checked gone when the test ends.
func launchFixture(t testing.TB, fixture string, opts Options) (*Plugin, error) {
	t.Helper()
	opts.Env = append(opts.Env, envFixture+"="+fixture, wire.EnvPluginID+"=test-"+fixture)
	if opts.Stderr == nil {
		opts.Stderr = &syncBuffer{}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	p, err := Launch(ctx, testBinary(t), nil, opts)
	if p != nil {
		t.Cleanup(func() {
			p.Kill()
			assertGone(t, p.Pid())
		})
	}
	return p, err
}

func mustLaunch(t testing.TB, fixture string, opts Options) *Plugin {
	t.Helper()
	p, err := launchFixture(t, fixture, opts)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// assertGone checks that the plugin process was reaped and left no
// process behind in its group.
func assertGone(t testing.TB, pid int) {
	t.Helper()
	if runtime.GOOS != "linux" || pid == 0 {
		return
	}
	if _, err := os.Stat(fmt.Sprintf("/proc/%d", pid)); err == nil {
		t.Errorf("plugin process %d still exists (running or a zombie)", pid)
	}
	stats, _ := filepath.Glob("/proc/[0-9]*/stat")
	for _, f := range stats {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		// pid (comm) state ppid pgrp ...: comm may hold spaces, so split after ')'.
		fields := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:]))
		if len(fields) > 2 && fields[2] == fmt.Sprint(pid) {
			t.Errorf("process %s is left in the plugin's process group %d", f, pid)
		}
	}
}

// stream records a source's events: positions in order, payloads checked.
type stream struct {
	mu        sync.Mutex
	positions []uint64
	payloads  [][]byte // kept only when keep is set
	keep      bool
	opaque    bool // payloads do not start with the position
	reached   chan struct{}
	target    int
	slow      time.Duration
}

func newStream(target int) *stream { return &stream{reached: make(chan struct{}), target: target} }

func (s *stream) handle(b *wire.Events) error {
	if s.slow > 0 {
		time.Sleep(s.slow)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	r := b.Reader()
	var e wire.Event
	for r.Next(&e) {
		s.positions = append(s.positions, e.Position)
		if s.keep {
			s.payloads = append(s.payloads, append([]byte(nil), e.Payload...))
		} else if !s.opaque && len(e.Payload) >= 8 && binary.LittleEndian.Uint64(e.Payload) != e.Position {
			return fmt.Errorf("event %d carries payload of event %d", e.Position, binary.LittleEndian.Uint64(e.Payload))
		}
	}
	if len(s.positions) >= s.target && s.target > 0 {
		s.target = 0
		close(s.reached)
	}
	return nil
}

// reach returns a channel closed once n events have arrived in all.
func (s *stream) reach(n int) <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.reached, s.target = make(chan struct{}), n
	if len(s.positions) >= n {
		s.target = 0
		close(s.reached)
	}
	return s.reached
}

func (s *stream) got() []uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]uint64(nil), s.positions...)
}

func wait(t testing.TB, ch <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(20 * time.Second):
		t.Fatalf("timed out waiting for %s", what)
	}
}

// checkSeq checks positions are exactly from..to, in order.
func checkSeq(t testing.TB, got []uint64, from, to uint64) {
	t.Helper()
	if uint64(len(got)) != to-from+1 {
		t.Fatalf("got %d events, want %d (%d..%d)", len(got), to-from+1, from, to)
	}
	for i, p := range got {
		if p != from+uint64(i) {
			t.Fatalf("event %d has position %d, want %d", i, p, from+uint64(i))
		}
	}
}

func closeCtx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func TestProcessNormalStream(t *testing.T) {
	p := mustLaunch(t, "count", Options{Role: wire.RoleSource})
	if h := p.Hello(); h.Name != "count" || h.ID != "test-count" || h.Version != "1.2.3" || p.Pid() == 0 {
		t.Fatalf("Hello() = %+v, pid %d", h, p.Pid())
	}
	if p.w.raw == nil && runtime.GOOS != "windows" {
		t.Error("the read loop cannot write ACKs itself on a launched plugin's pipe: its descriptor blocks")
	}
	ctx := closeCtx(t)
	const n = 100000
	st := newStream(0)
	src, err := p.OpenSource(ctx, map[string]string{"n": fmt.Sprint(n), "size": "64"}, nil, st.handle)
	if err != nil {
		t.Fatal(err)
	}
	wait(t, src.Ended(), "END")
	checkSeq(t, st.got(), 1, n)
	if src.Acked() != n {
		t.Errorf("Acked() = %d, want %d", src.Acked(), n)
	}
	if err := src.Close(ctx); err != nil {
		t.Fatal(err)
	}
	pid := p.Pid()
	if err := p.Close(ctx); err != nil {
		t.Fatalf("Close: %v", err)
	}
	assertGone(t, pid)
}

func TestProcessResume(t *testing.T) {
	ctx := closeCtx(t)
	const n = 200000
	settings := map[string]string{"n": fmt.Sprint(n)}

	p := mustLaunch(t, "count", Options{})
	first := newStream(400)
	src, err := p.OpenSource(ctx, settings, nil, first.handle)
	if err != nil {
		t.Fatal(err)
	}
	wait(t, first.reached, "400 events")
	k, ok, err := src.Stop(ctx)
	if err != nil || !ok {
		t.Fatalf("Stop = %d, %v, %v", k, ok, err)
	}
	if src.Acked() != k {
		t.Fatalf("Acked() = %d after Stop returned last position %d", src.Acked(), k)
	}
	checkSeq(t, first.got(), 1, k)
	if err := p.Close(ctx); err != nil {
		t.Fatal(err)
	}

	p = mustLaunch(t, "count", Options{})
	second := newStream(0)
	src, err = p.OpenSource(ctx, settings, &k, second.handle)
	if err != nil {
		t.Fatal(err)
	}
	wait(t, src.Ended(), "END")
	checkSeq(t, second.got(), k+1, n)
	t.Logf("first run acknowledged 1..%d, second delivered %d..%d", k, k+1, n)
	if err := p.Close(ctx); err != nil {
		t.Fatal(err)
	}
}

func TestProcessStopDrainsExactly(t *testing.T) {
	ctx := closeCtx(t)
	p := mustLaunch(t, "count", Options{})
	st := newStream(5000)
	src, err := p.OpenSource(ctx, map[string]string{"size": "100"}, nil, st.handle) // without end
	if err != nil {
		t.Fatal(err)
	}
	wait(t, st.reached, "5000 events")
	last, ok, err := src.Stop(ctx)
	if err != nil || !ok {
		t.Fatalf("Stop = %d, %v, %v", last, ok, err)
	}
	checkSeq(t, st.got(), 1, last)
	time.Sleep(200 * time.Millisecond)
	checkSeq(t, st.got(), 1, last) // nothing after the drain
	if err := src.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if err := p.Close(ctx); err != nil {
		t.Fatal(err)
	}
}

// sessionErr checks err is a *SessionError with cause, exit code and a
// stderr line containing line.
func sessionErr(t testing.TB, err error, cause error, code int, line string) *SessionError {
	t.Helper()
	var se *SessionError
	if !errors.As(err, &se) || !errors.Is(err, cause) {
		t.Fatalf("err = %v, want a *SessionError wrapping %v", err, cause)
	}
	if code >= 0 && (se.Exit == nil || se.Exit.ExitCode() != code) {
		t.Errorf("exit = %v, want status %d (err: %v)", se.Exit, code, err)
	}
	if line != "" && !strings.Contains(strings.Join(se.Stderr, "\n"), line) {
		t.Errorf("stderr tail %q lacks %q", se.Stderr, line)
	}
	return se
}

func TestProcessCrashMidStream(t *testing.T) {
	ctx := closeCtx(t)
	stderr := &syncBuffer{}
	p := mustLaunch(t, "count", Options{Stderr: stderr})
	st := newStream(0)
	if _, err := p.OpenSource(ctx, map[string]string{"crash_at": "50000"}, nil, st.handle); err != nil {
		t.Fatal(err)
	}
	wait(t, p.Done(), "the session to end")
	se := sessionErr(t, p.Err(), ErrConnectionLost, 1, "crashing at position 50000")
	t.Log(se)
	if !strings.Contains(se.Error(), "exit status 1, the SDK's code for a plugin error") {
		t.Errorf("error %q does not explain the exit", se)
	}
	if !strings.Contains(stderr.String(), "[count] fixture: crashing at position 50000") {
		t.Errorf("stderr not forwarded with the plugin's name: %q", stderr.String())
	}
	if got := st.got(); len(got) > 0 {
		checkSeq(t, got, 1, uint64(len(got))) // a prefix, in order
	}
}

// TestProcessPanicMidStream: a Go plugin that panics exits 2, as the SDK
// does when the host rejects it; the error says it panicked, not that it
// was rejected.
func TestProcessPanicMidStream(t *testing.T) {
	ctx := closeCtx(t)
	p := mustLaunch(t, "count", Options{Stderr: &syncBuffer{}})
	st := newStream(0)
	if _, err := p.OpenSource(ctx, map[string]string{"panic_at": "50000"}, nil, st.handle); err != nil {
		t.Fatal(err)
	}
	wait(t, p.Done(), "the session to end")
	se := sessionErr(t, p.Err(), ErrConnectionLost, 2, "panic: fixture: panicking at position 50000")
	if msg := se.Error(); !strings.Contains(msg, "exit status 2: the plugin panicked") || strings.Contains(msg, "rejected") {
		t.Errorf("error %q does not say the plugin panicked", msg)
	}
}

// TestProcessInstanceFailure: with protocol version 3, one instance that
// fails ends alone. The host hears why (Source.Err), the other instance's
// events keep coming, a new instance opens, the failed one stops and
// closes without error, and the session ends cleanly.
func TestProcessInstanceFailure(t *testing.T) {
	ctx := closeCtx(t)
	stderr := &syncBuffer{}
	p := mustLaunch(t, "count", Options{Stderr: stderr})
	if v := p.HelloAck().Version; v != wire.ProtocolVersion {
		t.Fatalf("version %d chosen, want %d", v, wire.ProtocolVersion)
	}
	healthy := newStream(0)
	a, err := p.OpenSource(ctx, nil, nil, healthy.handle)
	if err != nil {
		t.Fatal(err)
	}
	failing := newStream(0)
	b, err := p.OpenSource(ctx, map[string]string{"fail_at": "1000"}, nil, failing.handle)
	if err != nil {
		t.Fatal(err)
	}
	wait(t, b.Ended(), "the failed instance's END")
	var ie *InstanceError
	if !errors.As(b.Err(), &ie) || ie.Instance != 2 || ie.Plugin != "count" || ie.Message != "sensor unplugged at position 1000" {
		t.Fatalf("Err() = %#v, want instance 2's failure with the plugin's reason", b.Err())
	}
	checkSeq(t, failing.got(), 1, 999)
	if a.Err() != nil || p.Err() != nil {
		t.Fatalf("the healthy instance has Err %v, the session %v: want both nil", a.Err(), p.Err())
	}
	// Events the healthy instance sent after the failure.
	wait(t, healthy.reach(len(healthy.got())+1000), "the healthy instance's events after the failure")

	last, ok, err := b.Stop(ctx)
	if err != nil || !ok || last != 999 {
		t.Fatalf("Stop of the failed instance = %d, %v, %v; want 999, true, nil", last, ok, err)
	}
	if err := b.Close(ctx); err != nil {
		t.Fatalf("Close of the failed instance: %v", err)
	}
	c, err := p.OpenSource(ctx, map[string]string{"n": "10"}, nil, newStream(0).handle)
	if err != nil {
		t.Fatalf("opening an instance after the failure: %v", err)
	}
	wait(t, c.Ended(), "the new instance's END")
	if c.Err() != nil {
		t.Fatalf("a clean end has Err %v", c.Err())
	}
	for _, s := range []*Source{a, c} {
		if err := s.Close(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if err := p.Close(ctx); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if !strings.Contains(stderr.String(), "instance 2 failed: sensor unplugged at position 1000") {
		t.Errorf("the plugin did not log the failure; stderr: %q", stderr.String())
	}
}

// TestProcessInstanceFailureVersion2: a plugin that speaks only versions 1
// and 2 cannot fail one instance alone: its GOODBYE error ends the
// session, which reports the instance's failure.
func TestProcessInstanceFailureVersion2(t *testing.T) {
	ctx := closeCtx(t)
	p := mustLaunch(t, "count-v2", Options{})
	if v := p.HelloAck().Version; v != 2 {
		t.Fatalf("version %d chosen, want 2", v)
	}
	other, err := p.OpenSource(ctx, nil, nil, newStream(0).handle)
	if err != nil {
		t.Fatal(err)
	}
	b, err := p.OpenSource(ctx, map[string]string{"fail_at": "1000"}, nil, newStream(0).handle)
	if err != nil {
		t.Fatal(err)
	}
	wait(t, p.Done(), "the session to end")
	var se *SessionError
	if !errors.As(p.Err(), &se) || !strings.Contains(se.Err.Error(), "plugin failed: instance 2 failed: sensor unplugged at position 1000") {
		t.Fatalf("Err() = %v, want a *SessionError giving the instance's failure", p.Err())
	}
	if se.Exit == nil || se.Exit.ExitCode() != 1 {
		t.Errorf("exit %v, want status 1", se.Exit)
	}
	for _, s := range []*Source{other, b} {
		if s.Err() != nil {
			t.Errorf("Source.Err() = %v: a version 2 failure is the session's", s.Err())
		}
	}
}

func TestProcessCrashInsideFrame(t *testing.T) {
	ctx := closeCtx(t)
	p := mustLaunch(t, "half-frame", Options{})
	st := newStream(0)
	if _, err := p.OpenSource(ctx, nil, nil, st.handle); err != nil {
		t.Fatal(err)
	}
	wait(t, p.Done(), "the session to end")
	se := sessionErr(t, p.Err(), ErrConnectionLost, 1, "dying in the middle of a frame")
	if !strings.Contains(se.Error(), "stream ended inside a 4096-byte EVENTS body") {
		t.Errorf("error %q does not say where the stream broke", se)
	}
	checkSeq(t, st.got(), 1, 2)
	if _, _, err := (&Source{p: p, id: 1}).Stop(ctx); !errors.Is(err, ErrConnectionLost) {
		t.Errorf("Stop after the crash: %v, want the session's error", err)
	}
}

// TestProcessDeafPlugin: a plugin that closed its input, alive and
// sending, ends its session for a lost connection once a write to it has
// failed, not when the host gives up on it.
func TestProcessDeafPlugin(t *testing.T) {
	p := mustLaunch(t, "deaf-heartbeat", Options{Heartbeat: 50 * time.Millisecond})
	wait(t, p.Done(), "the session to end")
	if err := p.Err(); !errors.Is(err, ErrConnectionLost) || !strings.Contains(err.Error(), "writing to the plugin") {
		t.Errorf("session error %v, want a lost connection writing to the plugin", err)
	}
}

func TestProcessSilent(t *testing.T) {
	p := mustLaunch(t, "silent", Options{Heartbeat: 100 * time.Millisecond})
	begin := time.Now()
	wait(t, p.Done(), "the silent plugin to be declared dead")
	se := sessionErr(t, p.Err(), ErrPluginSilent, -1, "")
	if se.Exit == nil || se.Exit.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		t.Errorf("exit = %v, want killed", se.Exit)
	}
	// Three intervals are 300ms; the bound leaves room for a loaded machine.
	if d := time.Since(begin); d > 3*time.Second {
		t.Errorf("declared dead after %v, want about 300ms", d)
	}
	t.Logf("declared dead after %v: %v", time.Since(begin), se)
}

func TestProcessHostClosesPipe(t *testing.T) {
	p := mustLaunch(t, "count", Options{Heartbeat: 5 * time.Second})
	p.conn.(*pipeConn).w.Close() // as if the host died: the plugin's input ends
	wait(t, p.Done(), "the plugin to exit")
	sessionErr(t, p.Err(), ErrConnectionLost, sdk.ExitConnectionLost, "")
}

func TestProcessOversizedFrame(t *testing.T) {
	p := mustLaunch(t, "oversized", Options{})
	wait(t, p.Done(), "the session to end")
	sessionErr(t, p.Err(), ErrProtocol, -1, "")
	if !errors.Is(p.Err(), wire.ErrFrameTooLarge) || !strings.Contains(p.Err().Error(), "EVENTS frame announces 2147483648 bytes, limit is 1048576") {
		t.Errorf("err = %v, want the size and the limit", p.Err())
	}
}

func TestProcessGarbageOnStream(t *testing.T) {
	p := mustLaunch(t, "garbage", Options{})
	wait(t, p.Done(), "the session to end")
	sessionErr(t, p.Err(), ErrProtocol, -1, "")
	if !strings.Contains(p.Err().Error(), "unknown message type 0xee") {
		t.Errorf("err = %v, want the bad type named", p.Err())
	}
}

func TestProcessNotAPlugin(t *testing.T) {
	_, err := launchFixture(t, "not-a-plugin", Options{Timeout: 2 * time.Second})
	sessionErr(t, err, wire.ErrFrameTooLarge, -1, "")
	if !strings.Contains(err.Error(), `not a plugctl plugin: first bytes "Listening on port 8080\n" are not a HELLO frame`) {
		t.Errorf("err = %v, want the first bytes shown", err)
	}
}

func TestProcessRejected(t *testing.T) {
	want, err := filepath.EvalSymlinks(testBinary(t))
	if err != nil {
		t.Fatal(err)
	}
	check := EnrollmentFunc(func(c *Candidate) error {
		if c.Binary != want || !c.Launched || c.Pid <= 0 {
			t.Errorf("Check got binary %q (launched %v, pid %d), want %q launched", c.Binary, c.Launched, c.Pid, want)
		}
		return &RejectError{Reason: wire.RejectHashMismatch, Message: "binary changed since enrollment"}
	})
	_, err = launchFixture(t, "count", Options{Check: check})
	var re *RejectError
	if !errors.As(err, &re) || re.Reason != wire.RejectHashMismatch {
		t.Fatalf("err = %v, want a hash_mismatch rejection", err)
	}
	sessionErr(t, err, re, sdk.ExitRejected, "")
}

func TestProcessSIGTERM(t *testing.T) {
	ctx := closeCtx(t)
	p := mustLaunch(t, "count", Options{})
	st := newStream(1000)
	if _, err := p.OpenSource(ctx, nil, nil, st.handle); err != nil {
		t.Fatal(err)
	}
	wait(t, st.reached, "1000 events")
	proc, err := os.FindProcess(p.Pid())
	if err != nil {
		t.Fatal(err)
	}
	if err := proc.Signal(syscall.SIGTERM); err != nil {
		t.Skipf("cannot send SIGTERM here: %v", err)
	}
	wait(t, p.Done(), "the plugin to leave")
	if err := p.Err(); err != nil {
		t.Fatalf("Err() = %v after SIGTERM, want a clean end", err)
	}
	got := st.got()
	checkSeq(t, got, 1, uint64(len(got)))
}

func TestProcessManyGoroutines(t *testing.T) {
	ctx := closeCtx(t)
	p := mustLaunch(t, "emitter", Options{})
	const goroutines, per = 50, 2000
	st := newStream(0)
	st.keep = true
	src, err := p.OpenSource(ctx, map[string]string{"goroutines": fmt.Sprint(goroutines), "per": fmt.Sprint(per), "size": "32"}, nil, st.handle)
	if err != nil {
		t.Fatal(err)
	}
	wait(t, src.Ended(), "END")
	checkSeq(t, st.got(), 1, goroutines*per)
	seen := make(map[[2]uint32]bool)
	for _, b := range st.payloads {
		if len(b) != 32 {
			t.Fatalf("payload of %d bytes, want 32", len(b))
		}
		k := [2]uint32{binary.LittleEndian.Uint32(b), binary.LittleEndian.Uint32(b[4:])}
		if seen[k] || k[0] >= goroutines || k[1] >= per {
			t.Fatalf("event %v duplicated or invented", k)
		}
		seen[k] = true
	}
	if err := p.Close(ctx); err != nil {
		t.Fatal(err)
	}
}

func TestProcessSlowHostBoundsPluginMemory(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("reads /proc")
	}
	ctx := closeCtx(t)
	p := mustLaunch(t, "emitter", Options{Heartbeat: 200 * time.Millisecond})
	st := newStream(0)
	st.slow = 20 * time.Millisecond
	st.opaque = true
	// Flat out, 64 KiB events would be gigabytes a second.
	if _, err := p.OpenSource(ctx, map[string]string{"forever": "1", "size": "65536"}, nil, st.handle); err != nil {
		t.Fatal(err)
	}
	time.Sleep(3 * time.Second)
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", p.Pid()))
	if err != nil {
		t.Fatal(err)
	}
	var hwm int
	for _, line := range strings.Split(string(status), "\n") {
		if strings.HasPrefix(line, "VmHWM:") {
			fmt.Sscanf(strings.TrimPrefix(line, "VmHWM:"), "%d", &hwm)
		}
	}
	t.Logf("plugin peak RSS %d KiB after %d events delivered to a slow host", hwm, len(st.got()))
	if hwm == 0 || hwm > 100<<10 {
		t.Errorf("plugin peak RSS %d KiB, want under 100 MiB", hwm)
	}
	if err := p.Err(); err != nil {
		t.Errorf("slow handler ended the session: %v", err)
	}
	if err := p.Close(ctx); err != nil {
		t.Fatal(err)
	}
}

// TestProcessCloseSlowHandler: a plugin that exits after its GOODBYE
// breaks the pipe of ACKs while a slow handler still has many heartbeat
// intervals of its last frames to read; the session still ends cleanly,
// with every event handled.
func TestProcessCloseSlowHandler(t *testing.T) {
	ctx := closeCtx(t)
	p := mustLaunch(t, "emitter", Options{Heartbeat: 50 * time.Millisecond})
	st := newStream(0)
	st.slow = 20 * time.Millisecond
	st.opaque = true
	if _, err := p.OpenSource(ctx, map[string]string{"forever": "1", "size": "65536"}, nil, st.handle); err != nil {
		t.Fatal(err)
	}
	wait(t, st.reach(100), "100 events")
	if err := p.Close(ctx); err != nil {
		t.Fatalf("Close: %v", err)
	}
	got := st.got()
	checkSeq(t, got, 1, uint64(len(got)))
}

func TestProcessSink(t *testing.T) {
	for _, mode := range []string{"ok", "retry", "error"} {
		t.Run(mode, func(t *testing.T) {
			ctx := closeCtx(t)
			p := mustLaunch(t, "sink", Options{Role: wire.RoleSink})
			out := filepath.Join(t.TempDir(), "written")
			sink, err := p.OpenSink(ctx, map[string]string{"mode": mode, "out": out})
			if err != nil {
				t.Fatal(err)
			}
			var errs []error
			for i := uint64(0); i < 3; i++ {
				errs = append(errs, sink.Write(ctx, events(10*i+1, 10*i+10, 100)))
			}
			if mode == "error" {
				var we *WriteError
				if !errors.As(errs[0], &we) || we.Status != wire.WriteError || !strings.Contains(we.Message, "schema mismatch") {
					t.Fatalf("Write = %v, want a *WriteError", errs[0])
				}
				return
			}
			if err := errors.Join(errs...); err != nil {
				t.Fatal(err)
			}
			if _, err := os.Stat(out); err == nil {
				t.Fatal("sink flushed before Stop")
			}
			last, ok, err := sink.Stop(ctx)
			if err != nil || !ok || last != 30 {
				t.Fatalf("Stop = %d, %v, %v; want 30, true, nil", last, ok, err)
			}
			written, err := os.ReadFile(out)
			if err != nil {
				t.Fatal(err)
			}
			var want []string
			for i := 1; i <= 30; i++ {
				want = append(want, fmt.Sprint(i))
			}
			if string(written) != strings.Join(want, "\n") {
				t.Errorf("sink wrote %q, want 1..30 once each", written)
			}
			if err := sink.Close(ctx); err != nil {
				t.Fatal(err)
			}
			if err := p.Close(ctx); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// acceptFixture starts the test binary as the named fixture plugin with
// plugin id "sock", connecting to a Listener made with opts, and accepts
// it. The channel gets the plugin's exit; the plugin is killed and the
// Listener closed when t ends.
func acceptFixture(t *testing.T, fixture string, opts Options) (*Plugin, *Listener, <-chan error) {
	t.Helper()
	dir, err := os.MkdirTemp("", "plugctl") // short: socket paths are limited to ~100 bytes
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	path := filepath.Join(dir, "host.sock")
	ln, err := Listen(path, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	cmd := exec.Command(testBinary(t))
	cmd.Env = append(os.Environ(), envFixture+"="+fixture, wire.EnvSocket+"="+path, wire.EnvPluginID+"=sock")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() { cmd.Process.Kill() })
	p, err := ln.Accept(closeCtx(t))
	if err != nil {
		t.Fatal(err)
	}
	return p, ln, exited
}

func TestProcessSocket(t *testing.T) {
	ctx := closeCtx(t)
	p, ln, exited := acceptFixture(t, "count", Options{})
	if p.Pid() != 0 || p.Hello().ID != "sock" {
		t.Errorf("Pid() = %d, Hello() = %+v", p.Pid(), p.Hello())
	}
	if p.w.raw == nil && runtime.GOOS != "windows" {
		t.Error("the read loop cannot write ACKs itself on an accepted socket: its descriptor blocks")
	}
	st := newStream(0)
	src, err := p.OpenSource(ctx, map[string]string{"n": "10000"}, nil, st.handle)
	if err != nil {
		t.Fatal(err)
	}
	wait(t, src.Ended(), "END")
	checkSeq(t, st.got(), 1, 10000)
	if err := p.Close(ctx); err != nil {
		t.Fatalf("Close: %v", err)
	}
	select {
	case err := <-exited:
		if err != nil {
			t.Errorf("plugin exited with %v, want status 0", err)
		}
	case <-time.After(10 * time.Second):
		t.Error("plugin still running after Close")
	}

	cancelled, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	if _, err := ln.Accept(cancelled); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Accept with nobody connecting: %v, want the context's error", err)
	}
}

func TestProcessNoLeaks(t *testing.T) {
	ctx := closeCtx(t)
	before := 0
	for i := range 4 {
		if i == 1 {
			// The first launch started what lives for good (on Linux, the
			// launcher thread's goroutine): count from here.
			before = runtime.NumGoroutine()
		}
		p := mustLaunch(t, "count", Options{})
		st := newStream(0)
		src, err := p.OpenSource(ctx, map[string]string{"n": "1000"}, nil, st.handle)
		if err != nil {
			t.Fatal(err)
		}
		wait(t, src.Ended(), "END")
		pid := p.Pid()
		if err := p.Close(ctx); err != nil {
			t.Fatal(err)
		}
		assertGone(t, pid)
	}
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > before {
		buf := make([]byte, 1<<16)
		t.Errorf("%d goroutines before, %d after Close:\n%s", before, n, buf[:runtime.Stack(buf, true)])
	}
}

func TestProcessPluginDiesWithHost(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("the parent-death signal is Linux only")
	}
	host := exec.Command(testBinary(t))
	host.Env = append(os.Environ(), envFixture+"=host")
	out, err := host.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := host.Start(); err != nil {
		t.Fatal(err)
	}
	var pid int
	if _, err := fmt.Fscan(out, &pid); err != nil {
		host.Process.Kill()
		t.Fatalf("reading the plugin's pid from the host: %v", err)
	}
	host.Process.Kill() // the host dies without closing anything
	host.Wait()
	deadline := time.Now().Add(10 * time.Second)
	for {
		stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			return // gone
		}
		if fields := strings.Fields(string(stat[bytes.LastIndexByte(stat, ')')+1:])); len(fields) > 0 && fields[0] == "Z" {
			return // dead, waiting for init to reap it
		}
		if time.Now().After(deadline) {
			if proc, err := os.FindProcess(pid); err == nil {
				proc.Kill()
			}
			t.Fatalf("plugin %d still running 10s after its host was killed", pid)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestListenStaleSocket: a socket left by a host that died (nothing
// listens on it) is replaced; one a live host listens on is not, nor a
// file that is no socket.
func TestListenStaleSocket(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("a dead listener's socket file is a Unix matter")
	}
	dir, err := os.MkdirTemp("", "plugctl") // short: socket paths are limited to ~100 bytes
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	path := filepath.Join(dir, "host.sock")
	dead, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	dead.SetUnlinkOnClose(false) // as a killed host leaves it
	dead.Close()
	ln, err := Listen(path, Options{})
	if err != nil {
		t.Fatalf("Listen over a stale socket: %v", err)
	}
	defer ln.Close()
	if _, err := Listen(path, Options{}); err == nil || !strings.Contains(err.Error(), "address already in use") {
		t.Fatalf("Listen beside a live listener: %v, want address already in use", err)
	}
	plain := filepath.Join(dir, "plain")
	if err := os.WriteFile(plain, []byte("keep"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Listen(plain, Options{}); err == nil {
		t.Fatal("Listen replaced a plain file")
	}
	if b, err := os.ReadFile(plain); err != nil || string(b) != "keep" {
		t.Fatalf("the plain file is %q, %v", b, err)
	}
}
