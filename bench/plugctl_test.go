package bench

import (
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/plugctl/plugctl/bench/internal/workload"
	"github.com/plugctl/plugctl/host"
	"github.com/plugctl/plugctl/wire"
)

// hostOptions are the host library's defaults (window, frame size, acks),
// with the role checked.
var hostOptions = host.Options{Role: wire.RoleSource}

// A connector starts plugins/plugctl with args and returns its session and
// process id.
type connector func(ctx context.Context, tb testing.TB, args []string) (*host.Plugin, int)

// launch starts the plugin with host.Launch as it is by default: the
// protocol runs on its standard input and output, and its frames come
// through the shared ring the host offers.
func launch(ctx context.Context, tb testing.TB, args []string) (*host.Plugin, int) {
	return launchWith(ctx, tb, args, hostOptions)
}

// launchPipe starts the plugin with host.Launch offering no ring: every
// frame on the pipes, which the host raises to 1 MiB.
func launchPipe(ctx context.Context, tb testing.TB, args []string) (*host.Plugin, int) {
	o := hostOptions
	o.RingSize = -1
	return launchWith(ctx, tb, args, o)
}

// launchPoll starts the plugin as launch does, with the host polling
// its ring between frames for up to latencyPoll (host.Options.Poll).
func launchPoll(ctx context.Context, tb testing.TB, args []string) (*host.Plugin, int) {
	o := hostOptions
	o.Poll = latencyPoll
	return launchWith(ctx, tb, args, o)
}

func launchWith(ctx context.Context, tb testing.TB, args []string, o host.Options) (*host.Plugin, int) {
	p, err := host.Launch(ctx, pluginPath(tb, "plugctl"), args, o)
	if err != nil {
		tb.Fatal(err)
	}
	return p, p.Pid()
}

// listen starts the plugin with wire.EnvSocket set and accepts it with
// host.Listen: the protocol runs on a Unix socket.
func listen(ctx context.Context, tb testing.TB, args []string) (*host.Plugin, int) {
	path := socketPath(tb)
	l, err := host.Listen(path, hostOptions)
	if err != nil {
		tb.Fatal(err)
	}
	defer l.Close()
	cmd := exec.Command(pluginPath(tb, "plugctl"), args...)
	cmd.Env = append(os.Environ(), wire.EnvSocket+"="+path)
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		_ = cmd.Process.Kill() // gone already after a clean Close
		_ = cmd.Wait()
	})
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	p, err := l.Accept(ctx)
	if err != nil {
		tb.Fatal(err)
	}
	return p, cmd.Process.Pid
}

// receivePlugctlRing runs plugctl over the launched plugin's shared ring.
func receivePlugctlRing(tb testing.TB, size, n int, m meter) {
	receivePlugctl(tb, launch, size, n, m)
}

// receivePlugctlCallback runs plugctl on the shared ring with the plugin
// in the Run shape, emitting from its own goroutine.
func receivePlugctlCallback(tb testing.TB, size, n int, m meter) {
	receivePlugctlArgs(tb, launch, []string{"-mode", "callback"}, size, n, m)
}

// receivePlugctlPipe runs plugctl over the launched plugin's pipes alone.
func receivePlugctlPipe(tb testing.TB, size, n int, m meter) {
	receivePlugctl(tb, launchPipe, size, n, m)
}

// receivePlugctlUnix runs plugctl over a Unix socket.
func receivePlugctlUnix(tb testing.TB, size, n int, m meter) {
	receivePlugctl(tb, listen, size, n, m)
}

// receivePlugctl runs plugctl: one source instance whose handler walks and
// checks every event. Positions and acks are on: the host library
// acknowledges each batch when the handler returns, and the plugin may run
// only Options.Window batches ahead.
func receivePlugctl(tb testing.TB, connect connector, size, n int, m meter) {
	receivePlugctlArgs(tb, connect, nil, size, n, m)
}

// receivePlugctlArgs is receivePlugctl with the plugin's arguments.
func receivePlugctlArgs(tb testing.TB, connect connector, args []string, size, n int, m meter) {
	c := newChecker(size)
	runPlugctl(tb, connect, args, size, m, func(b *wire.Events) (bool, error) {
		var e wire.Event // on the stack: filling it needs no write barriers
		r := b.Reader()  // not in the for statement, which would copy it every iteration
		for r.Next(&e) {
			if err := c.check(e.Position, e.Kind, e.Payload); err != nil {
				return false, err
			}
		}
		return c.got >= n, nil
	})
}

// BenchmarkLatency measures how long a single event takes from the
// plugin's emit to the host's handler, with the plugin emitting one
// 64-byte event about every millisecond, so no batch ever fills and the
// ring is empty when each event comes. One op is one event; the median
// and the 99th percentile are reported in microseconds, and for plugctl
// the CPU the host and the plugin use, in percent of a core.
//
// plugctl is plugins/plugctl in the Run shape under host.Launch, on the
// shared ring, with the host library's defaults: the host sleeps between
// events. plugctl-poll is the same with host.Options.Poll at latencyPoll:
// the host polls between them. The floors beside them are the rawframe
// plugin writing stamped one-event frames with nothing else in the way:
// on a pipe, and on the ring woken by its doorbell byte or by a futex on
// the ring's waiting word, or found by polling. They are what a sleeping
// wake-up, or polling, costs on the machine.
func BenchmarkLatency(b *testing.B) {
	for _, c := range []struct {
		name    string
		connect connector
	}{{"plugctl", launch}, {"plugctl-poll", launchPoll}} {
		b.Run(c.name, func(b *testing.B) {
			lat := make([]int64, 0, b.N)
			m := &benchMeter{b: b}
			runPlugctl(b, c.connect, []string{"-mode", "latency"}, 64, m, func(batch *wire.Events) (bool, error) {
				now := time.Now().UnixNano()
				var e wire.Event
				r := batch.Reader()
				for r.Next(&e) && len(lat) < b.N {
					lat = append(lat, now-e.Time)
				}
				return len(lat) == b.N, nil
			})
			reportLatency(b, lat)
			m.reportCores()
		})
	}
	for _, f := range latencyFloors {
		b.Run(f.name, func(b *testing.B) {
			r := f.start(b)
			b.ResetTimer()
			lat := loneLatencies(b, r, b.N)
			b.StopTimer()
			reportLatency(b, lat)
		})
	}
}

// latencyFloors start rawframe -every on each transport and return what
// to read its frames from.
var latencyFloors = []struct {
	name  string
	start func(testing.TB) io.Reader
}{
	{"pipe-floor", lonePipe},
	{"ring-doorbell-floor", func(tb testing.TB) io.Reader { return loneRing(tb, false, 0) }},
	{"ring-futex-floor", func(tb testing.TB) io.Reader { return loneRing(tb, true, 0) }},
	{"ring-poll-floor", func(tb testing.TB) io.Reader { return loneRing(tb, false, latencyPoll) }},
}

// latencyPoll is the polling of plugctl-poll and ring-poll-floor: long
// enough to outlast the pause between events.
const latencyPoll = 2 * loneEvery

// lonePipe starts rawframe -every on a pipe and returns its read end.
func lonePipe(tb testing.TB) io.Reader {
	r, w, err := os.Pipe()
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { r.Close() })
	startRaw(tb, 64, w, "-every", loneEvery.String())
	w.Close()
	return r
}

// loneEvery is the pause between the latency benchmarks' events.
const loneEvery = time.Millisecond

// loneLatencies reads n one-event frames from r, stamped by rawframe
// -every, and returns how long each took to arrive, in nanoseconds.
func loneLatencies(tb testing.TB, r io.Reader, n int) []int64 {
	fr := wire.NewFrameReader(r, wire.MaxFrameLimit)
	lat := make([]int64, 0, n)
	for len(lat) < n {
		_, body, err := fr.Next()
		now := time.Now().UnixNano()
		if err != nil {
			tb.Fatal(err)
		}
		batch, err := wire.ParseEvents(body, []string{workload.Kind}, wire.MsgEvents)
		if err != nil {
			tb.Fatal(err)
		}
		var e wire.Event
		for rd := batch.Reader(); rd.Next(&e); {
			lat = append(lat, now-e.Time)
		}
	}
	return lat
}

// reportLatency reports the median and 99th percentile of lat, in
// nanoseconds, as microseconds.
func reportLatency(b *testing.B, lat []int64) {
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2])/1e3, "p50-us")
	b.ReportMetric(float64(lat[(len(lat)*99+99)/100-1])/1e3, "p99-us")
}

// BenchmarkIdle measures what an idle plugin costs: plugins/plugctl in
// the latency mode's shape (Run), launched with the host library's
// defaults, its instance open but emitting nothing, heartbeats going both
// ways. One op is one millisecond of idleness; the benchmark reports the
// plugin's CPU as a percentage of one core (from its threads' run times,
// which resolve what the 10 ms CPU ticks cannot) and its peak resident
// memory.
func BenchmarkIdle(b *testing.B) {
	b.Run("plugctl", func(b *testing.B) {
		ctx := b.Context()
		p, pid := launch(ctx, b, []string{"-mode", "idle"})
		defer func() {
			ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
			defer cancel()
			if err := p.Close(ctx); err != nil {
				b.Error(err)
			}
		}()
		s, err := p.OpenSource(ctx, map[string]string{"size": "64"}, nil, func(*wire.Events) error {
			return errors.New("an idle plugin sent events")
		})
		if err != nil {
			b.Fatal(err)
		}
		time.Sleep(100 * time.Millisecond) // past the start-up
		before, err := processRunTime(pid)
		if err != nil {
			b.Skip(err)
		}
		b.ResetTimer()
		time.Sleep(time.Duration(b.N) * time.Millisecond)
		b.StopTimer()
		after, err := processRunTime(pid)
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(100*float64(after-before)/float64(b.Elapsed()), "plugin-cpu-%")
		rss, err := peakRSS(pid)
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(rss)/(1<<20), "plugin-peak-rss-MiB")
		if err := s.Close(ctx); err != nil {
			b.Fatal(err)
		}
	})
}

// runPlugctl starts plugins/plugctl with args through connect, starts m,
// opens one source instance with payloads of size bytes and passes every
// batch to consume until consume reports it has had enough or fails. Then
// it stops m, drains and closes the instance and ends the session.
func runPlugctl(tb testing.TB, connect connector, args []string, size int, m meter, consume func(*wire.Events) (enough bool, err error)) {
	ctx := tb.Context()
	p, pid := connect(ctx, tb, args)
	defer func() {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		if err := p.Close(ctx); err != nil {
			tb.Error(err)
		}
	}()
	finished := make(chan error, 1) // the first error, or nil once consume has had enough
	reported := false
	handler := func(b *wire.Events) error {
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
	m.start(pid)
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
