// Package supervisor runs enrolled source plugins for plugctl host: it
// launches the registry's auto-launch entries and accepts enrolled plugins
// on a socket, restarts the ones that exit with backoff, parks crash loops,
// follows the registry live, and writes every event once to a durable
// output, acknowledging it only after it is on disk. docs/HOST.md states
// what is guaranteed.
package supervisor

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"maps"
	"os"
	"slices"
	"sync"
	"time"

	"github.com/plugctl/plugctl/enroll"
	"github.com/plugctl/plugctl/eventline"
	"github.com/plugctl/plugctl/host"
	"github.com/plugctl/plugctl/wire"
)

// Options configures Run.
type Options struct {
	Registry string    // the registry directory
	Listen   string    // a Unix socket on which enrolled plugins may connect; "" for none
	Out      string    // the output file; "-" writes to Stdout
	Stdout   io.Writer // where "-" writes; default os.Stdout
	State    string    // the state directory; "" keeps none (see docs/HOST.md)
	Config   *Config   // nil: one instance of each plugin with its defaults
	Metrics  string    // address to serve Prometheus metrics on; "" for none
	Policy   Policy    // zero: DefaultPolicy
	Drain    time.Duration
	Poll     time.Duration // host.Options.Poll of every launched plugin: zero its default, negative none
	Log      *slog.Logger  // default slog.Default()
}

// Timing of the supervisor; docs/HOST.md states them.
const (
	// DefaultDrain bounds the graceful stop of one plugin (STOP and CLOSE
	// of its instances, then GOODBYE) at shutdown or before a restart.
	DefaultDrain = 10 * time.Second

	// CheckpointEvery is how often changed positions are written to the
	// state directory when the output is a file. The output itself holds
	// every position written, so the state only bounds the scan at start.
	CheckpointEvery = time.Second

	// openTimeout bounds SETUP and the OPENs of a new session.
	openTimeout = 30 * time.Second

	// reconcileEvery is how often the registry's snapshot is compared
	// with what runs; host.Registry refreshes it on every change.
	reconcileEvery = 250 * time.Millisecond
)

// supervisor is one run of Run.
type supervisor struct {
	o     Options
	log   *slog.Logger
	reg   *host.Registry
	out   *Output
	store *Store // nil without a state directory
	m     *metrics

	mu    sync.Mutex
	slots map[Slot]*slot

	stopping chan struct{} // closed when shutdown begins
	failOnce sync.Once
	failed   chan struct{} // closed when the output or state cannot be written
	failErr  error
	wg       sync.WaitGroup // runners and sessions accepted on the socket
}

// Run supervises plugins until ctx ends, then drains them, writes the
// state and returns nil; or returns an error when it cannot start, or when
// the output or state cannot be written.
func Run(ctx context.Context, o Options) error {
	if o.Policy == (Policy{}) {
		o.Policy = DefaultPolicy()
	}
	if o.Drain <= 0 {
		o.Drain = DefaultDrain
	}
	if o.Log == nil {
		o.Log = slog.Default()
	}
	if o.Stdout == nil {
		o.Stdout = os.Stdout
	}
	s := &supervisor{o: o, log: o.Log, m: newMetrics(), slots: map[Slot]*slot{},
		stopping: make(chan struct{}), failed: make(chan struct{})}
	if err := s.recover(); err != nil {
		return err
	}
	defer s.out.Close()
	if s.store != nil {
		defer s.store.Close()
	}
	reg, err := host.OpenRegistry(o.Registry, o.Log)
	if err != nil {
		return err
	}
	defer reg.Close()
	s.reg = reg
	s.checkConfig(reg.Snapshot())
	if o.Metrics != "" {
		stop, err := s.m.serve(o.Metrics, s.log)
		if err != nil {
			return err
		}
		defer stop()
	}
	acceptCtx, cancelAccept := context.WithCancel(context.Background())
	defer cancelAccept()
	var ln *host.Listener
	if o.Listen != "" {
		if ln, err = host.Listen(o.Listen, host.Options{Check: reg, Role: wire.RoleSource}); err != nil {
			return err
		}
		defer ln.Close()
		s.wg.Go(func() { s.accept(acceptCtx, ln) })
	}
	s.log.Info("host running", "registry", o.Registry, "out", o.Out, "state", o.State, "listen", o.Listen)
	if _, err := os.Stat(o.Registry); errors.Is(err, fs.ErrNotExist) {
		// Most often a mistyped --registry: say so rather than run nothing quietly.
		s.log.Warn("the registry does not exist: no plugin runs until one is enrolled there (plugctl manifest enroll --registry DIR)", "registry", o.Registry)
	}
	runners := s.superviseRegistry(ctx)
	s.log.Info("shutting down: draining every plugin", "bound", o.Drain)
	close(s.stopping)
	for _, r := range runners {
		r.stop()
	}
	cancelAccept()
	if !s.waitAll(o.Drain + 2*host.RegistryPoll + 5*time.Second) {
		s.fail(errors.New("plugins still running after the drain bound"))
	}
	s.checkpoint()
	select {
	case <-s.failed:
		return s.failErr // set before failed was closed
	default:
	}
	s.log.Info("host stopped")
	return nil
}

// checkConfig warns of configured plugins that no entry is named for:
// not an error, since the plugin may be enrolled while the host runs.
func (s *supervisor) checkConfig(snap *enroll.Snapshot) {
	if s.o.Config == nil {
		return
	}
	for _, name := range slices.Sorted(maps.Keys(s.o.Config.Plugins)) {
		if !slices.ContainsFunc(snap.Entries, func(e *enroll.Entry) bool { return e.ID == name || e.Name == name }) {
			s.log.Warn("config: no enrolled plugin has this name or id yet", "plugin", name)
		}
	}
}

// waitAll waits, at most d, for runners and sessions to end.
func (s *supervisor) waitAll(d time.Duration) bool {
	done := make(chan struct{})
	go func() {
		s.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
		return true
	case <-time.After(d):
		return false
	}
}

// fail records a failure that makes the host's guarantee impossible to
// keep, and starts the shutdown.
func (s *supervisor) fail(err error) {
	s.failOnce.Do(func() {
		s.log.Error("host failing", "err", err)
		s.failErr = err
		close(s.failed)
	})
}

// superviseRegistry runs a runner for every auto-launch source entry,
// following the registry, until ctx ends or the host fails. It returns
// the runners still running.
func (s *supervisor) superviseRegistry(ctx context.Context) map[string]*runner {
	runners := map[string]*runner{}
	entries := map[string]*enroll.Entry{} // each runner's entry as last handed to it
	sinks := map[string]bool{}            // sink entries already reported
	var last *enroll.Snapshot
	reconcile := time.NewTicker(reconcileEvery)
	defer reconcile.Stop()
	checkpoint := time.NewTicker(CheckpointEvery)
	defer checkpoint.Stop()
	for {
		if snap := s.reg.Snapshot(); snap != last {
			last = snap
			s.reconcile(snap, runners, entries, sinks)
		}
		select {
		case <-ctx.Done():
			return runners
		case <-s.failed:
			return runners
		case <-reconcile.C:
		case <-checkpoint.C:
			if s.out.Durable() {
				s.checkpoint()
			}
		}
	}
}

// reconcile starts, restarts and stops runners to match snap.
func (s *supervisor) reconcile(snap *enroll.Snapshot, runners map[string]*runner, entries map[string]*enroll.Entry, sinks map[string]bool) {
	want := map[string]bool{}
	for _, e := range snap.Entries {
		if !e.AutoLaunch || e.Revoked {
			continue
		}
		if e.Role == wire.RoleSink.String() {
			if !sinks[e.ID] {
				sinks[e.ID] = true
				s.pluginLog(e).Warn("auto-launch sink not started: plugctl host runs source plugins only")
			}
			continue
		}
		want[e.ID] = true
		switch r := runners[e.ID]; {
		case r == nil:
			r = &runner{s: s, wake: make(chan struct{}, 1), quit: make(chan struct{})}
			runners[e.ID], entries[e.ID] = r, e
			s.wg.Go(func() { r.run(e) })
		case !bytes.Equal(enroll.Marshal(entries[e.ID]), enroll.Marshal(e)):
			entries[e.ID] = e
			s.pluginLog(e).Info("registry entry changed: restarting the plugin", "version", e.Version)
			r.update(e)
		}
	}
	for id, r := range runners {
		if want[id] {
			continue
		}
		why := "its entry was removed from the registry"
		if e := snap.ByID(id); e != nil && e.Revoked {
			why = "its entry is revoked: " + e.Reason
		} else if e != nil {
			why = "its entry is no longer auto_launch"
		}
		s.pluginLog(entries[id]).Info("stopping plugin, not to be restarted: " + why)
		r.stop()
		delete(runners, id)
		delete(entries, id)
	}
}

// pluginLog is the logger of lines about the plugin enrolled as e.
func (s *supervisor) pluginLog(e *enroll.Entry) *slog.Logger {
	return s.log.With("plugin", e.Name, "plugin_id", e.ID)
}

// hostOptions are the options of a launched plugin's session; its
// standard error becomes log lines.
func (s *supervisor) hostOptions(log *slog.Logger) host.Options {
	return host.Options{Role: wire.RoleSource, Stderr: stderrLog{log}, Poll: s.o.Poll}
}

// stderrLog turns the host's "[name] line" forwarding of a plugin's
// standard error into log records about that plugin.
type stderrLog struct{ log *slog.Logger }

func (w stderrLog) Write(b []byte) (int, error) {
	line := string(bytes.TrimRight(b, "\n"))
	if i := bytes.Index(b, []byte("] ")); len(b) > 0 && b[0] == '[' && i > 0 {
		line = line[i+2:]
	}
	w.log.Info("plugin stderr", "line", line)
	return len(b), nil
}

// noteReject logs a refused handshake with its reason and counts it.
func (s *supervisor) noteReject(err error, log *slog.Logger) bool {
	var re *host.RejectError
	if !errors.As(err, &re) {
		return false
	}
	s.m.rejects.WithLabelValues(re.Reason.String()).Inc()
	var se *host.SessionError
	if errors.As(err, &se) {
		log = log.With("session", se.Plugin)
	}
	log.Warn("plugin rejected", "reason", re.Reason.String(), "why", re.Message)
	return true
}

// accept serves the enrolled plugins that connect on the socket until ctx
// ends. They are not restarted: whoever started them does that.
func (s *supervisor) accept(ctx context.Context, ln *host.Listener) {
	for {
		p, err := ln.Accept(ctx)
		if ctx.Err() != nil {
			if p != nil {
				p.Kill()
			}
			return
		}
		if err != nil {
			if !s.noteReject(err, s.log) {
				s.log.Warn("socket: handshake failed", "err", err)
				time.Sleep(100 * time.Millisecond) // a listener that fails at once must not spin
			}
			continue
		}
		e := s.reg.Snapshot().ByID(p.Hello().ID)
		if e == nil { // the entry went between Admit and now
			s.log.Warn("socket: the plugin's entry is gone; ending its session", "plugin", p.Hello().Name, "plugin_id", p.Hello().ID)
			p.Kill()
			continue
		}
		s.wg.Go(func() { s.serveAccepted(p, e) })
	}
}

func (s *supervisor) serveAccepted(p *host.Plugin, e *enroll.Entry) {
	log := s.pluginLog(e).With("via", "socket")
	pc := s.o.Config.For(e)
	slots, err := s.acquire(e, pc.Instances, p)
	if err != nil {
		log.Error("session refused", "err", err)
		closePlugin(p, s.o.Drain, log)
		return
	}
	defer s.release(slots)
	log.Info("plugin connected on the socket")
	out, err := s.serve(p, e, pc, slots, log, s.stopping, nil)
	if out == ended {
		log.Warn("session on the socket ended; plugins that connect are not restarted by the host", "err", err)
	}
}

// outcome is how a session ended.
type outcome int

const (
	ended       outcome = iota // by itself; the error says why (nil: the plugin exited cleanly)
	finished                   // every instance reported END and the plugin was closed
	interrupted                // the host stopped it (shutdown, or its entry changed)
)

// serve opens every slot of the plugin as a source instance and runs the
// session until it ends, every instance ends, or stop or wake fires (then
// it drains the plugin).
func (s *supervisor) serve(p *host.Plugin, e *enroll.Entry, pc PluginConfig, slots []*slot, log *slog.Logger, stop, wake <-chan struct{}) (outcome, error) {
	up := s.m.up.WithLabelValues(e.Name, e.ID)
	up.Set(1)
	defer up.Set(0)
	ctx, cancel := context.WithTimeout(context.Background(), openTimeout)
	defer cancel()
	if pc.Global != nil {
		if err := p.Setup(ctx, pc.Global); err != nil {
			p.Kill()
			return ended, err
		}
	}
	sources := make([]*host.Source, len(slots))
	endings := make(chan int, len(slots))
	resumes := make([]any, 0, 2*len(slots))
	for i, sl := range slots {
		resume := sl.resume()
		src, err := p.OpenSource(ctx, pc.Settings, resume, s.handler(sl, e))
		if err != nil {
			p.Kill()
			return ended, fmt.Errorf("slot %d: %w", sl.key.Slot, err)
		}
		sources[i] = src
		go func() {
			select {
			case <-src.Ended():
				endings <- i
			case <-p.Done():
			}
		}()
		from := "start"
		if resume != nil {
			from = fmt.Sprint(*resume)
		}
		resumes = append(resumes, fmt.Sprintf("slot%d_resumes_after", sl.key.Slot), from)
	}
	log.Info("plugin running", append([]any{"version", p.Hello().Version, "instances", len(slots)}, resumes...)...)
	open := len(slots)
	for {
		select {
		case <-p.Done():
			return ended, p.Err()
		case i := <-endings:
			log.Info("instance ended its stream", "slot", slots[i].key.Slot, "position", sources[i].Acked())
			stopSources(sources[i:i+1], slots[i:i+1], s.o.Drain, log)
			sources[i] = nil
			if open--; open == 0 {
				closePlugin(p, s.o.Drain, log)
				return finished, nil
			}
		case <-stop:
			s.drain(p, sources, slots, log)
			return interrupted, nil
		case <-wake:
			s.drain(p, sources, slots, log)
			return interrupted, nil
		}
	}
}

// drain stops every open instance (the plugin sends what it produced and
// the host writes and acknowledges it), closes them and ends the session,
// within Options.Drain; a plugin still running then is killed.
func (s *supervisor) drain(p *host.Plugin, sources []*host.Source, slots []*slot, log *slog.Logger) {
	start := time.Now()
	stopSources(sources, slots, s.o.Drain, log)
	closePlugin(p, max(s.o.Drain-time.Since(start), time.Millisecond), log)
}

func stopSources(sources []*host.Source, slots []*slot, bound time.Duration, log *slog.Logger) {
	ctx, cancel := context.WithTimeout(context.Background(), bound)
	defer cancel()
	for i, src := range sources {
		if src == nil {
			continue
		}
		last, ok, err := src.Stop(ctx)
		if err == nil {
			err = src.Close(ctx)
		}
		switch {
		case err != nil:
			log.Warn("instance did not stop cleanly", "slot", slots[i].key.Slot, "err", err)
		case ok:
			log.Info("instance drained", "slot", slots[i].key.Slot, "position", last)
		}
	}
}

func closePlugin(p *host.Plugin, bound time.Duration, log *slog.Logger) {
	ctx, cancel := context.WithTimeout(context.Background(), bound)
	defer cancel()
	if err := p.Close(ctx); err != nil {
		log.Warn("plugin did not close cleanly", "err", err)
	}
}

// handler writes each batch of a slot to the output as JSON lines, and
// returns, so acknowledging the batch, only once they are durable.
func (s *supervisor) handler(sl *slot, e *enroll.Entry) host.Handler {
	return func(b *wire.Events) error {
		buf := sl.buf[:0]
		r := b.Reader()
		var ev wire.Event
		var newest int64
		for r.Next(&ev) {
			l := eventline.FromEvent(uint16(sl.key.Slot), &ev)
			l.Plugin, l.PluginID = e.Name, e.ID
			buf = eventline.Append(buf, &l)
			newest = ev.Time
		}
		sl.buf = buf
		sl.m.batches.Inc()
		sl.writes()
		end, err := s.out.Write(buf)
		if err != nil {
			s.fail(err)
			return err
		}
		sl.advance(b.Last(), end)
		if !s.out.Durable() && s.store != nil {
			// A stream cannot be read back, so the state is the only
			// record: it is written before the ACK.
			if err := s.save(sl); err != nil {
				s.fail(err)
				return err
			}
		}
		sl.m.events.Add(float64(b.Len()))
		sl.m.bytes.Add(float64(len(buf)))
		sl.m.acks.Inc()
		sl.m.position.Set(float64(b.Last()))
		sl.m.lag.Set(time.Since(time.Unix(0, newest)).Seconds())
		return nil
	}
}
