// Package devhost is the development host behind plugctl run: it launches
// one plugin, configures it, and shows what it does. A source's events are
// printed as JSON lines (package eventline) as they arrive; a sink is fed
// such lines. A first interrupt stops with a drain, a second kills; a
// summary says what happened and how to resume.
package devhost

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/plugctl/plugctl/host"
	"github.com/plugctl/plugctl/wire"
)

// Options say what to run and how.
type Options struct {
	Command   []string          // the plugin's executable and arguments
	Dir       string            // its working directory; empty: the caller's
	Settings  map[string]string // every instance's settings
	Global    map[string]string // the process-wide settings (SETUP)
	Instances int               // how many instances to open; default 1
	// Resume is where sources continue: key 0 for every instance, key n
	// for instance n (1-based), overriding key 0.
	Resume    map[int]uint64
	MaxEvents int64         // stop after this many events; 0: no limit
	Duration  time.Duration // stop after this long; 0: no limit
	Text      bool          // print events as text for people, not JSON lines
	Input     io.Reader     // a sink's input: JSON lines
	Stdout    io.Writer     // a source's events
	Stderr    io.Writer     // the plugin's log, per-batch sink reports and the summary
	Status    bool          // draw a live status line on Stderr, a terminal
	Interrupt <-chan os.Signal
}

// ErrKilled: a second interrupt killed the plugin at once.
var ErrKilled = errors.New("killed at once by a second interrupt")

// drainTimeout bounds the drain after an interrupt or a limit.
const drainTimeout = 5 * time.Second

// ConfigError is a configuration the plugin refused: the CLI shows each
// problem on its own line and exits 2.
type ConfigError struct {
	Op       string // "setup" or "open instance N"
	Message  string
	Problems []wire.Problem
}

func (e *ConfigError) Error() string {
	lines := []string{fmt.Sprintf("the plugin refused the configuration (%s)", e.Op)}
	if e.Message != "" && len(e.Problems) == 0 {
		lines[0] += ": " + e.Message
	}
	for _, p := range e.Problems {
		lines = append(lines, fmt.Sprintf("  %s: %s", p.Param, p.Message))
	}
	return strings.Join(lines, "\n")
}

// AsConfigError turns a request the plugin refused for its configuration
// into a *ConfigError; any other error is returned as it is.
func AsConfigError(err error) error {
	var re *host.RequestError
	if errors.As(err, &re) && re.Status == wire.StatusInvalidConfig {
		return &ConfigError{Op: re.Op, Message: re.Message, Problems: re.Problems}
	}
	return err
}

// Run runs the plugin until it ends, a limit is reached or an interrupt
// comes, and returns what happened. The error is a *ConfigError for a
// refused configuration, or why the plugin failed.
func Run(ctx context.Context, o Options) (*Summary, error) {
	if o.Instances <= 0 {
		o.Instances = 1
	}
	stderr := o.Stderr
	var st *status
	if o.Status {
		st = newStatus(o.Stderr)
		defer st.close()
		stderr = st.logWriter()
	}
	p, err := host.Launch(ctx, o.Command[0], o.Command[1:], host.Options{Dir: o.Dir, Stderr: stderr})
	if err != nil {
		return nil, err
	}
	kill := func() { p.Kill() }
	defer kill()
	if err := p.Setup(ctx, o.Global); err != nil {
		return nil, AsConfigError(err)
	}
	r := &run{o: o, p: p, st: st, start: time.Now(), stopping: make(chan struct{}), cut: make(chan struct{})}
	if p.Hello().Role == wire.RoleSink {
		err = r.sink(ctx)
	} else {
		err = r.source(ctx)
	}
	var refused *ConfigError
	if errors.As(err, &refused) {
		return nil, err // nothing ran: no summary
	}
	if r.killed.Load() {
		err = ErrKilled
	}
	if errors.Is(err, errOutputClosed) {
		err = nil
	}
	sum := r.summary(err)
	if closeErr := p.Close(ctx); err == nil && closeErr != nil && !r.killed.Load() {
		err = closeErr
	}
	return sum, err
}

// run is one plugctl run in progress.
type run struct {
	o     Options
	p     *host.Plugin
	st    *status
	start time.Time

	stopping chan struct{} // closed when a limit or an interrupt ends the run
	cut      chan struct{} // closed by an interrupt or --duration: what is in flight has drainTimeout
	killed   atomic.Bool   // a second interrupt killed the plugin
	counts   *counts

	mu  sync.Mutex
	why string // what ended the run
}

// stop ends the run, for a reason; the first wins.
func (r *run) stop(why string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.why == "" {
		r.why = why
		close(r.stopping)
	}
}

// reason is what ended the run, so far.
func (r *run) reason() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.why
}

// limits returns a channel that yields when the duration or an interrupt
// ends the run; a second interrupt kills the plugin.
func (r *run) limits() <-chan string {
	out := make(chan string, 1)
	go func() {
		var timeout <-chan time.Time
		if r.o.Duration > 0 {
			t := time.NewTimer(r.o.Duration)
			defer t.Stop()
			timeout = t.C
		}
		// Stopped here as well as by the caller, which may be waiting on
		// the plugin (a sink's WRITE) and read out only afterwards.
		end := func(why string) {
			r.stop(why)
			close(r.cut)
			out <- why
		}
		select {
		case sig := <-r.o.Interrupt:
			end(sig.String())
		case <-timeout:
			end("--duration " + r.o.Duration.String())
			return
		case <-r.p.Done():
			return
		}
		select {
		case <-r.o.Interrupt:
			r.killed.Store(true)
			r.p.Kill()
		case <-r.p.Done():
		}
	}()
	return out
}
