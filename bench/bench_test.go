package bench

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin"

	"github.com/plugctl/plugctl/bench/internal/grpcstream"
	"github.com/plugctl/plugctl/bench/internal/jsonframe"
	"github.com/plugctl/plugctl/bench/internal/workload"
	eventspb "github.com/plugctl/plugctl/bench/proto"
	"github.com/plugctl/plugctl/host"
	"github.com/plugctl/plugctl/runtime"
)

// sizes are the payload sizes measured, in sub-benchmark name order.
var sizes = []struct {
	name  string
	bytes int
}{
	{"64B", 64},
	{"256B", 256},
	{"1KiB", 1024},
}

// transports are the ways events travel from a plugin to the host.
var transports = []struct {
	name    string
	receive receiver
}{
	{"plugctl", receivePlugctl},
	{"jsonframe", receiveJSONFrame},
	{"grpc", receiveGRPC},
}

// A receiver launches its plugin with payloads of size bytes, receives and
// checks n events, and stops the plugin. It starts m once the plugin
// process is up, just before asking for events, and stops m as soon as the
// n-th event is handled, so what is measured is the stream alone.
type receiver func(tb testing.TB, size, n int, m meter)

// A meter measures one stream.
type meter interface {
	start(pluginPID int)
	stop()
}

// noMeter is the meter of the self-checks, which measure nothing.
type noMeter struct{}

func (noMeter) start(int) {}
func (noMeter) stop()     {}

// benchMeter drives a benchmark's timer and measures the CPU time the host
// (this process) and the plugin use between start and stop: unlike the
// wall clock, CPU per event hardly moves when other work shares the
// machine.
type benchMeter struct {
	b            *testing.B
	pid          int
	host, plugin time.Duration // CPU used so far at start; CPU used after stop
	err          error
}

func (m *benchMeter) start(pid int) {
	m.pid = pid
	m.host, m.plugin, m.err = cpuTimes(pid)
	m.b.ResetTimer()
}

func (m *benchMeter) stop() {
	m.b.StopTimer()
	host, plugin, err := cpuTimes(m.pid)
	m.host, m.plugin, m.err = host-m.host, plugin-m.plugin, errors.Join(m.err, err)
}

// report reports events/s and, where it could be measured, CPU per event.
func (m *benchMeter) report() {
	b := m.b
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
	if m.err == nil {
		b.ReportMetric(float64(m.host)/float64(b.N), "host-cpu-ns/event")
		b.ReportMetric(float64(m.plugin)/float64(b.N), "plugin-cpu-ns/event")
	}
}

// cpuTimes returns the CPU time used by this process and by process pid.
func cpuTimes(pid int) (host, plugin time.Duration, err error) {
	if host, err = processCPU(os.Getpid()); err != nil {
		return 0, 0, err
	}
	plugin, err = processCPU(pid)
	return host, plugin, err
}

// BenchmarkThroughput measures events per second from a plugin process to
// the host. One op is one event received and checked by the host, so
// ns/op is nanoseconds per event and MB/s counts payload bytes.
func BenchmarkThroughput(b *testing.B) {
	for _, tr := range transports {
		b.Run(tr.name, func(b *testing.B) {
			for _, s := range sizes {
				b.Run(s.name, func(b *testing.B) {
					b.SetBytes(int64(s.bytes))
					m := &benchMeter{b: b}
					tr.receive(b, s.bytes, b.N, m)
					m.report()
				})
			}
		})
	}
}

// BenchmarkCeiling measures what the pipe itself allows with plugctl's
// framing: the rawframe plugin writes one pre-encoded EVENTS frame (bodies
// up to 256 KiB) over and over and the host only reads each frame and
// counts its events. One op is one event.
func BenchmarkCeiling(b *testing.B) {
	for _, s := range sizes {
		b.Run(s.name, func(b *testing.B) {
			b.SetBytes(int64(s.bytes))
			m := &benchMeter{b: b}
			receiveRaw(b, s.bytes, b.N, m)
			m.report()
		})
	}
}

// TestTransports checks that every transport delivers what its plugin
// emits: the right kind and payload size, positions counting up from 1.
// It guards the benchmarks against measuring a broken stream.
func TestTransports(t *testing.T) {
	for _, tr := range transports {
		for _, s := range sizes {
			t.Run(tr.name+"/"+s.name, func(t *testing.T) {
				tr.receive(t, s.bytes, 10_000, noMeter{})
			})
		}
	}
}

// TestCeiling checks that the rawframe plugin's frames are valid EVENTS
// frames, so the ceiling measures the real format.
func TestCeiling(t *testing.T) {
	for _, s := range sizes {
		t.Run(s.name, func(t *testing.T) {
			receiveRaw(t, s.bytes, 10_000, noMeter{})
		})
	}
}

// checker verifies the events a host receives and counts them.
type checker struct {
	size int    // expected payload size
	next uint64 // expected next position
	got  int    // events checked so far
}

func newChecker(size int) *checker { return &checker{size: size, next: 1} }

// check verifies one event.
func (c *checker) check(position uint64, kind string, payload []byte) error {
	switch {
	case position != c.next:
		return fmt.Errorf("event %d: position %d, want %d", c.got+1, position, c.next)
	case kind != workload.Kind:
		return fmt.Errorf("event at position %d: kind %q, want %q", position, kind, workload.Kind)
	case len(payload) != c.size:
		return fmt.Errorf("event at position %d: payload of %d bytes, want %d", position, len(payload), c.size)
	}
	c.next++
	c.got++
	return nil
}

// receivePlugctl runs plugctl: host.Launch and one source instance whose
// handler walks and checks every event. Positions and acks are on: the
// host library acknowledges each batch when the handler returns, and the
// plugin may only run Options.Window batches ahead.
func receivePlugctl(tb testing.TB, size, n int, m meter) {
	c := newChecker(size)
	var e runtime.Event
	runPlugctl(tb, nil, size, m, func(b *runtime.Events) (bool, error) {
		for r := b.Reader(); r.Next(&e); {
			if err := c.check(e.Position, e.Kind, e.Payload); err != nil {
				return false, err
			}
		}
		return c.got >= n, nil
	})
}

// BenchmarkLatency measures how long a single event takes from the
// plugin's emit to the host's handler, with the plugin emitting one event
// about every millisecond, so no batch ever fills. One op is one event;
// the median and the 99th percentile are reported in microseconds.
func BenchmarkLatency(b *testing.B) {
	b.Run("plugctl", func(b *testing.B) {
		lat := make([]int64, 0, b.N)
		var e runtime.Event
		runPlugctl(b, []string{"-mode", "latency"}, 64, &benchMeter{b: b}, func(batch *runtime.Events) (bool, error) {
			now := time.Now().UnixNano()
			for r := batch.Reader(); r.Next(&e) && len(lat) < b.N; {
				lat = append(lat, now-e.Time)
			}
			return len(lat) == b.N, nil
		})
		slices.Sort(lat)
		b.ReportMetric(float64(lat[len(lat)/2])/1e3, "p50-us")
		b.ReportMetric(float64(lat[(len(lat)*99+99)/100-1])/1e3, "p99-us")
	})
}

// runPlugctl launches plugins/plugctl with args, starts m, opens one
// source instance with payloads of size bytes and passes every batch to
// consume until consume reports it has had enough or fails. Then it stops
// m, drains and closes the instance and ends the plugin.
func runPlugctl(tb testing.TB, args []string, size int, m meter, consume func(*runtime.Events) (enough bool, err error)) {
	ctx := tb.Context()
	p, err := host.Launch(ctx, pluginPath(tb, "plugctl"), args, host.Options{Role: runtime.RoleSource})
	if err != nil {
		tb.Fatal(err)
	}
	defer func() {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		if err := p.Close(ctx); err != nil {
			tb.Error(err)
		}
	}()
	finished := make(chan error, 1) // the first error, or nil once consume has had enough
	reported := false
	handler := func(b *runtime.Events) error {
		if reported {
			return nil // the drain after enough events: acknowledged, not consumed
		}
		enough, err := consume(b)
		if enough || err != nil {
			reported = true
			finished <- err
		}
		return err
	}
	m.start(p.Pid())
	s, err := p.OpenSource(ctx, map[string]string{"size": strconv.Itoa(size)}, nil, handler)
	if err != nil {
		tb.Fatal(err)
	}
	select {
	case err := <-finished:
		if err != nil {
			tb.Fatal(err)
		}
	case <-p.Done():
		tb.Fatalf("the plugin ended its session before the benchmark did: %v", p.Err())
	}
	m.stop()
	if err := s.Close(ctx); err != nil {
		tb.Fatal(err)
	}
}

// receiveJSONFrame runs the JSON baseline: the plugin writes one JSON
// object per frame to its standard output and the host unmarshals each.
// The first frame is read before the timer starts, to know the process is
// up; the n events timed come after it.
func receiveJSONFrame(tb testing.TB, size, n int, m meter) {
	cmd := exec.Command(pluginPath(tb, "jsonframe"), "-size", strconv.Itoa(size))
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		tb.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	defer func() {
		_ = cmd.Process.Kill() // it would write forever
		_ = cmd.Wait()
	}()
	r := jsonframe.NewReader(bufio.NewReaderSize(out, 64<<10))
	c := newChecker(size)
	var e jsonframe.Event
	next := func() {
		if err := r.Next(&e); err != nil {
			tb.Fatal(err)
		}
		if err := c.check(e.Position, e.Kind, e.Payload); err != nil {
			tb.Fatal(err)
		}
	}
	next()
	m.start(cmd.Process.Pid)
	for range n {
		next()
	}
	m.stop()
}

// receiveRaw runs the ceiling: it reads the rawframe plugin's frames from
// a pipe raised to 1 MiB and counts their events. The first frame is
// checked in full, before the timer starts.
func receiveRaw(tb testing.TB, size, n int, m meter) {
	r, wr, err := os.Pipe()
	if err != nil {
		tb.Fatal(err)
	}
	defer r.Close()
	growPipe(r)
	cmd := exec.Command(pluginPath(tb, "rawframe"), "-size", strconv.Itoa(size))
	cmd.Stdout = wr
	cmd.Stderr = os.Stderr
	err = cmd.Start()
	wr.Close()
	if err != nil {
		tb.Fatal(err)
	}
	defer func() {
		_ = cmd.Process.Kill() // it would write forever
		_ = cmd.Wait()
	}()
	fr := runtime.NewFrameReader(r, runtime.MaxFrameLimit)
	_, body, err := fr.Next()
	if err != nil {
		tb.Fatal(err)
	}
	first, err := runtime.ParseEvents(body, []string{workload.Kind}, runtime.MsgEvents)
	if err != nil {
		tb.Fatal(err)
	}
	c := newChecker(size)
	var e runtime.Event
	for rd := first.Reader(); rd.Next(&e); {
		if err := c.check(e.Position, e.Kind, e.Payload); err != nil {
			tb.Fatal(err)
		}
	}
	m.start(cmd.Process.Pid)
	for got := 0; got < n; {
		h, body, err := fr.Next()
		if err != nil {
			tb.Fatal(err)
		}
		if h.Type != runtime.MsgEvents || len(body) < 4 {
			tb.Fatalf("rawframe sent a %d-byte %s frame", len(body), h.Type)
		}
		got += int(binary.LittleEndian.Uint32(body))
	}
	m.stop()
}

// receiveGRPC runs the gRPC baseline: go-plugin launches the plugin and the
// host consumes one server-streaming call of batches of
// grpcstream.BatchSize events. The timer starts once go-plugin's handshake
// is done, before the call.
func receiveGRPC(tb testing.TB, size, n int, m meter) {
	cmd := exec.Command(pluginPath(tb, "grpcstream"))
	client := plugin.NewClient(&plugin.ClientConfig{
		HandshakeConfig:  grpcstream.Handshake,
		Plugins:          grpcstream.Set(nil),
		Cmd:              cmd,
		AllowedProtocols: []plugin.Protocol{plugin.ProtocolGRPC},
		Logger:           hclog.NewNullLogger(),
	})
	defer client.Kill()
	conn, err := client.Client()
	if err != nil {
		tb.Fatal(err)
	}
	raw, err := conn.Dispense(grpcstream.Name)
	if err != nil {
		tb.Fatal(err)
	}
	ctx, cancel := context.WithCancel(tb.Context())
	defer cancel()
	c := newChecker(size)
	m.start(cmd.Process.Pid)
	stream, err := raw.(eventspb.EventSourceClient).Stream(ctx, &eventspb.StreamRequest{
		PayloadSize: uint32(size),
		BatchSize:   grpcstream.BatchSize,
	})
	if err != nil {
		tb.Fatal(err)
	}
	for c.got < n {
		batch, err := stream.Recv()
		if err != nil {
			tb.Fatal(err)
		}
		for _, e := range batch.GetEvents() {
			if err := c.check(e.GetPosition(), e.GetKind(), e.GetPayload()); err != nil {
				tb.Fatal(err)
			}
		}
	}
	m.stop()
}

// The plugin binaries are built once per test binary, on first use.
var (
	buildOnce sync.Once
	binDir    string
	buildErr  error
)

// pluginPath returns the path of the plugin built from plugins/name.
func pluginPath(tb testing.TB, name string) string {
	buildOnce.Do(func() { binDir, buildErr = buildPlugins() })
	if buildErr != nil {
		tb.Fatal(buildErr)
	}
	return filepath.Join(binDir, name)
}

// buildPlugins builds every plugin under plugins/ into a new temporary
// directory and returns it.
func buildPlugins() (string, error) {
	dir, err := os.MkdirTemp("", "plugctl-bench-")
	if err != nil {
		return "", err
	}
	out, err := exec.Command("go", "build", "-o", dir+string(filepath.Separator), "./plugins/...").CombinedOutput()
	if err != nil {
		return dir, fmt.Errorf("building the plugins: %w\n%s", err, out)
	}
	return dir, nil
}

// TestMain removes the plugin binaries once every test and benchmark ran.
func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}
