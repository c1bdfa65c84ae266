package bench

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/plugctl/plugctl/bench/internal/workload"
)

// sizes are the payload sizes measured, in sub-benchmark name order.
var sizes = []struct {
	name  string
	bytes int
}{
	{"64B", 64},
	{"256B", 256},
	{"1KiB", 1024},
	{"16KiB", 16 << 10},
}

// transports are the ways events travel from a plugin to the host, in
// sub-benchmark name order.
var transports = []struct {
	name    string
	receive receiver
}{
	{"plugctl", receivePlugctlRing},
	{"plugctl-callback", receivePlugctlCallback},
	{"plugctl-pipe", receivePlugctlPipe},
	{"plugctl-unix", receivePlugctlUnix},
	{"jsonframe", receiveJSONFrame},
	{"grpc", receiveGRPC},
}

// ceilings are the raw transports under plugctl's and, beside the ring's,
// what the ring allows a host that validates every batch and checks every
// event, as plugctl's host and the benchmark's handler do.
var ceilings = []struct {
	name    string
	receive receiver
}{
	{"ring", receiveRawRing},
	{"ring-checked", receiveRawRingChecked},
	{"pipe", receiveRawPipe},
	{"unix", receiveRawUnix},
}

// A receiver launches its plugin with payloads of size bytes, receives and
// checks n events, and stops the plugin. It starts m once the plugin
// process is up, just before asking for events, and stops m as soon as the
// n-th event is handled, so what is measured is the stream alone.
type receiver func(tb testing.TB, size, n int, m meter)

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

// BenchmarkCeiling measures what a shared ring, a pipe or a Unix socket
// itself allows with plugctl's framing: the rawframe plugin writes one
// pre-encoded EVENTS frame, as large as the SDK's batches, over and
// over and the host reads each frame and only counts its events; in
// ring-checked it also validates each frame and checks each event, as
// plugctl's host and handler do. One op is one event.
func BenchmarkCeiling(b *testing.B) {
	for _, c := range ceilings {
		b.Run(c.name, func(b *testing.B) {
			for _, s := range sizes {
				b.Run(s.name, func(b *testing.B) {
					b.SetBytes(int64(s.bytes))
					m := &benchMeter{b: b}
					c.receive(b, s.bytes, b.N, m)
					m.report()
				})
			}
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

// TestLatencyFloors reads a few events from each latency floor: they
// come, one per frame, each stamped with a time before its arrival and
// less than a second before it.
func TestLatencyFloors(t *testing.T) {
	for _, f := range latencyFloors {
		t.Run(f.name, func(t *testing.T) {
			for i, d := range loneLatencies(t, f.start(t), 20) {
				if d <= 0 || d >= int64(time.Second) {
					t.Fatalf("event %d arrived %v after its stamp", i+1, time.Duration(d))
				}
			}
		})
	}
}

// TestCeilings checks that the rawframe plugin's frames are valid EVENTS
// frames, so the ceilings measure the real format.
func TestCeilings(t *testing.T) {
	for _, c := range ceilings {
		for _, s := range sizes {
			t.Run(c.name+"/"+s.name, func(t *testing.T) {
				c.receive(t, s.bytes, 10_000, noMeter{})
			})
		}
	}
}

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

// reportCores reports the CPU the host and the plugin used, in percent of
// one core, where it could be measured.
func (m *benchMeter) reportCores() {
	if m.err == nil {
		m.b.ReportMetric(100*float64(m.host)/float64(m.b.Elapsed()), "host-cpu-%")
		m.b.ReportMetric(100*float64(m.plugin)/float64(m.b.Elapsed()), "plugin-cpu-%")
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

// checker verifies the events a host receives and counts them.
type checker struct {
	size int    // expected payload size
	next uint64 // expected next position
	got  int    // events checked so far
}

func newChecker(size int) *checker { return &checker{size: size, next: 1} }

// check verifies one event. It is small enough to be inlined: the host's
// own per-event work is what the benchmarks measure, not a call.
func (c *checker) check(position uint64, kind string, payload []byte) error {
	if position != c.next || kind != workload.Kind || len(payload) != c.size {
		return c.fail(position, kind, payload)
	}
	c.next++
	c.got++
	return nil
}

// fail says how an event differs from what check expected.
func (c *checker) fail(position uint64, kind string, payload []byte) error {
	switch {
	case position != c.next:
		return fmt.Errorf("event %d: position %d, want %d", c.got+1, position, c.next)
	case kind != workload.Kind:
		return fmt.Errorf("event at position %d: kind %q, want %q", position, kind, workload.Kind)
	}
	return fmt.Errorf("event at position %d: payload of %d bytes, want %d", position, len(payload), c.size)
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

// socketPath returns a path for a Unix socket in a directory removed when
// tb ends, short enough for the kernel's limit of about 100 bytes.
func socketPath(tb testing.TB) string {
	dir, err := os.MkdirTemp("", "plugctl-bench-sock-")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { os.RemoveAll(dir) })
	return filepath.Join(dir, "s")
}

// TestMain removes the plugin binaries once every test and benchmark ran.
func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}
