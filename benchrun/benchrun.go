// Package benchrun measures one plugin: plugctl bench. It launches the
// plugin once per round, configures it, lets it warm up, and then measures
// a window of steady state: a source's events as fast as it sends them, or
// a sink fed generated events as fast as it acknowledges them. Every
// figure is reported as the minimum, median and maximum over the rounds,
// since one run on a shared machine says little.
//
// Emit → host latency is the host's receive time minus the event's time,
// which the plugin stamps when it emits the event (wire.Event.Time, Unix
// nanoseconds): both read the same machine's clock. Plugin CPU time and
// peak RSS come from /proc (Linux only); host CPU time is this process's
// own, from getrusage.
package benchrun

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/plugctl/plugctl/host"
	"github.com/plugctl/plugctl/wire"
)

// Options say what to measure and for how long.
type Options struct {
	Command   []string          // the plugin's executable and arguments
	Dir       string            // its working directory; empty: the caller's
	Settings  map[string]string // every instance's settings
	Global    map[string]string // the process-wide settings (SETUP)
	Instances int               // instances to open; default 1
	Duration  time.Duration     // measured time, over all rounds; default 3s
	Rounds    int               // default 3
	// Warmup precedes each round's measured window; default a third of
	// the window, between 100 ms and 2 s.
	Warmup time.Duration
	// PayloadBytes is the size of the events fed to a sink; default 64.
	PayloadBytes int
	// Poll is host.Options.Poll: how long the host may poll the shared
	// ring between frames instead of sleeping; zero: the library's
	// default, negative: no polling.
	Poll   time.Duration
	Stderr io.Writer // the plugin's log
	// Progress, when set, gets a progress line redrawn in place (a
	// terminal's standard error).
	Progress io.Writer
}

func (o *Options) defaults() {
	if o.Instances <= 0 {
		o.Instances = 1
	}
	if o.Duration <= 0 {
		o.Duration = 3 * time.Second
	}
	if o.Rounds <= 0 {
		o.Rounds = 3
	}
	if o.Warmup <= 0 {
		o.Warmup = min(max(o.Duration/time.Duration(o.Rounds)/3, 100*time.Millisecond), 2*time.Second)
	}
	if o.PayloadBytes <= 0 {
		o.PayloadBytes = 64
	}
}

// Stat is one figure over the rounds.
type Stat struct {
	Min    float64 `json:"min"`
	Median float64 `json:"median"`
	Max    float64 `json:"max"`
}

// Result is what plugctl bench --json prints. Field names are stable.
// Figures of one role only are omitted for the other; a cost figure that
// cannot be measured here is null, with the reason in Unavailable.
type Result struct {
	Plugin    string `json:"plugin"`
	Version   string `json:"version"`
	Role      string `json:"role"`
	Protocol  uint16 `json:"protocol"`  // the version the session speaks
	Transport string `json:"transport"` // of the plugin's frames: "ring" (shared memory) or "stream" (pipe or socket)
	// InputTransport is the same for the host's frames: "ring" (the input
	// ring of protocol version 4) or "stream".
	InputTransport string  `json:"input_transport"`
	Instances      int     `json:"instances"`
	Rounds         int     `json:"rounds"`
	RoundSeconds   float64 `json:"round_seconds"`
	WarmupSeconds  float64 `json:"warmup_seconds"`
	PayloadBytes   int     `json:"payload_bytes,omitempty"` // a sink's: what it was fed
	PollSeconds    float64 `json:"poll_seconds"`            // the host polled the ring for up to this long between frames (--poll)

	EventsPerSec  *Stat `json:"events_per_sec"`
	MBPerSec      *Stat `json:"mb_per_sec"` // payload bytes, 10^6 per second
	BatchesPerSec *Stat `json:"batches_per_sec"`
	MeanBatchSize *Stat `json:"mean_batch_size"`

	// A source's.
	TimeToFirstEventMs *Stat `json:"time_to_first_event_ms,omitempty"`
	LatencyP50Us       *Stat `json:"latency_p50_us,omitempty"` // emit → host
	LatencyP99Us       *Stat `json:"latency_p99_us,omitempty"`
	LatencyP999Us      *Stat `json:"latency_p999_us,omitempty"`

	// A sink's.
	WriteLatencyP50Us *Stat `json:"write_latency_p50_us,omitempty"` // WRITE → RESULT, per batch
	WriteLatencyP99Us *Stat `json:"write_latency_p99_us,omitempty"`
	Retries           *Stat `json:"retries,omitempty"` // per round

	HostCPUNsPerEvent   *Stat `json:"host_cpu_ns_per_event"`
	PluginCPUNsPerEvent *Stat `json:"plugin_cpu_ns_per_event"`
	PluginPeakRSSBytes  *Stat `json:"plugin_peak_rss_bytes"`

	Unavailable map[string]string `json:"unavailable,omitempty"` // figure → why it is null
}

// round is what one round measured.
type round struct {
	window     time.Duration
	events     int64
	bytes      int64
	batches    int64
	firstEvent time.Duration // a source's: from launch to the first event
	lat        hist          // a source's emit → host, per event; a sink's WRITE → RESULT, per batch
	retries    int64
	hostCPU    time.Duration
	pluginCPU  time.Duration
	peakRSS    int64
	hostErr    error // why hostCPU is not known
	pluginErr  error // why pluginCPU is not known
	rssErr     error
}

// ErrInterrupted is wrapped by Run's error when ctx ends before the last
// round does: Run then also returns the figures of the rounds that
// finished, if any did.
var ErrInterrupted = errors.New("interrupted")

// Run measures the plugin over o.Rounds rounds.
func Run(ctx context.Context, o Options) (*Result, error) {
	o.defaults()
	if len(o.Command) == 0 {
		return nil, errors.New("no plugin command")
	}
	b := &bench{o: o, window: o.Duration / time.Duration(o.Rounds), prog: newProgress(o.Progress)}
	defer b.prog.clear()
	var rounds []*round
	for i := range o.Rounds {
		b.roundNo = i + 1
		r, err := b.round(ctx)
		if err != nil && ctx.Err() != nil {
			if len(rounds) == 0 {
				return nil, fmt.Errorf("%w in round %d of %d, before any round finished: no figures", ErrInterrupted, i+1, o.Rounds)
			}
			return b.result(rounds), fmt.Errorf("%w in round %d of %d: the figures are of the %d %s before it",
				ErrInterrupted, i+1, o.Rounds, len(rounds), plural(len(rounds), "round", "rounds"))
		}
		if err != nil {
			if o.Rounds > 1 {
				return nil, fmt.Errorf("round %d of %d: %w", i+1, o.Rounds, err)
			}
			return nil, err
		}
		rounds = append(rounds, r)
	}
	return b.result(rounds), nil
}

// bench is one plugctl bench in progress.
type bench struct {
	o       Options
	window  time.Duration
	prog    *progress
	roundNo int
	hello   wire.Hello
	ack     wire.HelloAck
	poll    time.Duration // the host's, from the session
}

// round launches the plugin, warms it up, measures one window and shuts
// it down.
func (b *bench) round(ctx context.Context) (*round, error) {
	start := time.Now()
	b.prog.show(b.roundNo, b.o.Rounds, "starting", 0)
	stderr := b.o.Stderr
	if b.prog != nil && stderr != nil {
		stderr = b.prog.above(stderr)
	}
	p, err := host.Launch(ctx, b.o.Command[0], b.o.Command[1:], host.Options{Dir: b.o.Dir, Stderr: stderr, Poll: b.o.Poll})
	if err != nil {
		return nil, err
	}
	defer p.Kill()
	if err := p.Setup(ctx, b.o.Global); err != nil {
		return nil, err
	}
	b.hello, b.ack, b.poll = p.Hello(), p.HelloAck(), p.Poll()
	r := &round{}
	if b.hello.Role == wire.RoleSink {
		err = b.sink(ctx, p, r)
	} else {
		err = b.source(ctx, p, start, r)
	}
	if err != nil {
		return nil, err
	}
	closeCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := p.Close(closeCtx); err != nil {
		return nil, err
	}
	return r, nil
}

// meter takes the cost readings at the two ends of the measured window.
type meter struct {
	pid              int
	at               time.Time
	host, plugin     time.Duration
	hostErr, plugErr error
}

func startMeter(pid int) *meter {
	m := &meter{pid: pid}
	m.host, m.hostErr = hostCPU()
	m.plugin, m.plugErr = pluginCPU(pid)
	m.at = time.Now()
	return m
}

// stop fills r's window and CPU figures.
func (m *meter) stop(r *round) {
	r.window = time.Since(m.at)
	h, herr := hostCPU()
	pl, perr := pluginCPU(m.pid)
	r.hostCPU, r.hostErr = h-m.host, errors.Join(m.hostErr, herr)
	r.pluginCPU, r.pluginErr = pl-m.plugin, errors.Join(m.plugErr, perr)
	if r.pluginErr == nil && r.pluginCPU < 0 {
		r.pluginErr = errors.New("the plugin's CPU time went backwards (a thread exited)")
	}
	r.peakRSS, r.rssErr = pluginPeakRSS(m.pid)
}

// errCut is wait's error when cut was closed first; the caller says why.
var errCut = errors.New("round cut short")

// wait sleeps for d, showing progress, unless the plugin ends or cut is
// closed first.
func (b *bench) wait(ctx context.Context, p *host.Plugin, d time.Duration, phase string, events func() int64, cut <-chan struct{}) error {
	t := time.NewTimer(d)
	defer t.Stop()
	tick := time.NewTicker(progressEvery)
	defer tick.Stop()
	start, last, lastAt := time.Now(), events(), time.Now()
	for {
		select {
		case <-t.C:
			return nil
		case now := <-tick.C:
			n := events()
			b.prog.show(b.roundNo, b.o.Rounds, fmt.Sprintf("%s %.1fs", phase, now.Sub(start).Seconds()), float64(n-last)/now.Sub(lastAt).Seconds())
			last, lastAt = n, now
		case <-p.Done():
			if err := p.Err(); err != nil {
				return err
			}
			return errors.New("the plugin ended its session during the measurement")
		case <-cut:
			return errCut // the caller says why
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// result reduces the rounds to figures.
func (b *bench) result(rounds []*round) *Result {
	res := &Result{
		Plugin: b.hello.Name, Version: b.hello.Version, Role: b.hello.Role.String(),
		Protocol: b.ack.Version, Transport: transport(b.ack.Transport), InputTransport: transport(b.ack.InputTransport),
		Instances: b.o.Instances, Rounds: len(rounds),
		RoundSeconds: b.window.Seconds(), WarmupSeconds: b.o.Warmup.Seconds(), PollSeconds: b.poll.Seconds(),
		Unavailable: map[string]string{},
	}
	perSec := func(f func(r *round) int64) *Stat {
		return over(rounds, func(r *round) float64 { return float64(f(r)) / r.window.Seconds() })
	}
	res.EventsPerSec = perSec(func(r *round) int64 { return r.events })
	res.MBPerSec = over(rounds, func(r *round) float64 { return float64(r.bytes) / 1e6 / r.window.Seconds() })
	res.BatchesPerSec = perSec(func(r *round) int64 { return r.batches })
	res.MeanBatchSize = over(rounds, func(r *round) float64 { return float64(r.events) / float64(max(r.batches, 1)) })
	us := func(q float64) *Stat {
		return over(rounds, func(r *round) float64 { return r.lat.quantile(q) / 1e3 })
	}
	if b.hello.Role == wire.RoleSink {
		res.PayloadBytes = b.o.PayloadBytes
		res.WriteLatencyP50Us, res.WriteLatencyP99Us = us(0.50), us(0.99)
		res.Retries = over(rounds, func(r *round) float64 { return float64(r.retries) })
	} else {
		res.TimeToFirstEventMs = over(rounds, func(r *round) float64 { return float64(r.firstEvent) / 1e6 })
		res.LatencyP50Us, res.LatencyP99Us, res.LatencyP999Us = us(0.50), us(0.99), us(0.999)
	}
	cost := func(name string, why func(r *round) error, v func(r *round) float64) *Stat {
		for _, r := range rounds {
			if err := why(r); err != nil {
				res.Unavailable[name] = err.Error()
				return nil
			}
		}
		return over(rounds, v)
	}
	perEvent := func(d time.Duration, r *round) float64 { return float64(d) / float64(max(r.events, 1)) }
	res.HostCPUNsPerEvent = cost("host_cpu_ns_per_event", func(r *round) error { return r.hostErr },
		func(r *round) float64 { return perEvent(r.hostCPU, r) })
	res.PluginCPUNsPerEvent = cost("plugin_cpu_ns_per_event", func(r *round) error { return r.pluginErr },
		func(r *round) float64 { return perEvent(r.pluginCPU, r) })
	res.PluginPeakRSSBytes = cost("plugin_peak_rss_bytes", func(r *round) error { return r.rssErr },
		func(r *round) float64 { return float64(r.peakRSS) })
	if len(res.Unavailable) == 0 {
		res.Unavailable = nil
	}
	return res
}

// over is the minimum, median and maximum of f over the rounds.
func over(rounds []*round, f func(r *round) float64) *Stat {
	v := make([]float64, len(rounds))
	for i, r := range rounds {
		v[i] = f(r)
	}
	slices.Sort(v)
	med := v[len(v)/2]
	if len(v)%2 == 0 {
		med = (v[len(v)/2-1] + v[len(v)/2]) / 2
	}
	return &Stat{Min: v[0], Median: med, Max: v[len(v)-1]}
}

// transport names how frames travel: a HELLO_ACK's Transport or
// InputTransport.
func transport(t uint8) string {
	if t == wire.TransportRing {
		return "ring"
	}
	return "stream"
}

// errNoEvents is a round in which nothing was measured.
func errNoEvents(role string, window time.Duration) error {
	if role == "sink" {
		return fmt.Errorf("the sink acknowledged no batch in the measured window of %v; a sink that takes longer per batch (a flush interval, say) needs a longer --duration",
			window.Round(time.Millisecond))
	}
	return fmt.Errorf("the source sent no event in the measured window of %v; a source that waits between events (an interval setting, say) needs a longer --duration, or a shorter wait",
		window.Round(time.Millisecond))
}
