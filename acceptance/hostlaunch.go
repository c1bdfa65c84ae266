package acceptance

import (
	"errors"
	"slices"
	"sync"

	"github.com/plugctl/plugctl/host"
	"github.com/plugctl/plugctl/internal/linelog"
	"github.com/plugctl/plugctl/wire"
)

// launchHost starts the plugin under the reference host library, for the
// checks that play an ordinary, well-behaved host: every plugin must work
// with it, and its errors (*host.RequestError, *host.WriteError) name what
// went wrong. Checks that must misbehave, or see raw frames, use proc.
//
// The plugin's stderr lines arrive in the returned log, complete once the
// plugin has been reaped (Close or Kill).
func (t *checkRun) launchHost() (*host.Plugin, *linelog.Log, error) {
	log := newStderrLog()
	t.logs = append(t.logs, log)
	cmd := t.env.opts.Command
	p, err := host.Launch(t.ctx, cmd[0], cmd[1:], host.Options{
		Timeout: t.env.opts.Timeout,
		Stderr:  log,
		Dir:     t.env.dir,
		Env:     append(slices.Clone(t.env.opts.Env), wire.EnvPluginID+"="+newUUID()),
	})
	if err != nil {
		return nil, nil, err
	}
	t.hosted = append(t.hosted, p)
	t.logf("launched pid %d under the reference host", p.Pid())
	return p, log, nil
}

// hostStart launches the plugin under the reference host, configures it
// with the valid configuration and opens one instance.
func (t *checkRun) hostStart() (*host.Plugin, *hostInstance, error) {
	c, err := t.config()
	if err != nil {
		return nil, nil, err
	}
	p, _, err := t.launchHost()
	if err != nil {
		return nil, nil, err
	}
	if err := p.Setup(t.ctx, c.global); err != nil {
		return nil, nil, failf("SETUP accepted", "%v", err)
	}
	in, err := t.hostOpen(p, c.instance)
	if err != nil {
		return nil, nil, failf("OPEN accepted", "%v", err)
	}
	t.logf("SETUP %v and OPEN %v accepted", redact(t.env, c.global), redact(t.env, c.instance))
	return p, in, nil
}

// hostOpen opens an instance of either role under the reference host. A
// source's events are collected and acknowledged as they come.
func (t *checkRun) hostOpen(p *host.Plugin, settings map[string]string) (*hostInstance, error) {
	in := &hostInstance{plugin: p, more: make(chan struct{}, 1)}
	var err error
	if p.Hello().Role == wire.RoleSink {
		in.sink, err = p.OpenSink(t.ctx, settings)
	} else {
		in.source, err = p.OpenSource(t.ctx, settings, nil, in.collect)
	}
	return in, err
}

// hostInstance is an open instance under the reference host.
type hostInstance struct {
	plugin *host.Plugin
	source *host.Source
	sink   *host.Sink

	mu     sync.Mutex
	events []wire.Event
	more   chan struct{} // signalled when events arrive
}

func (in *hostInstance) collect(b *wire.Events) error {
	in.mu.Lock()
	r := b.Reader()
	var e wire.Event
	for r.Next(&e) {
		e.Payload = slices.Clone(e.Payload)
		in.events = append(in.events, e)
	}
	in.mu.Unlock()
	select {
	case in.more <- struct{}{}:
	default:
	}
	return nil
}

// wait waits for n events. A plugin that exits, or an instance that ends,
// before they came is reported at once, with why.
func (in *hostInstance) wait(t *checkRun, n int) ([]wire.Event, error) {
	const expected = "an opened source delivers events"
	var ended <-chan struct{}
	if in.source != nil {
		ended = in.source.Ended()
	}
	for {
		in.mu.Lock()
		evs := slices.Clone(in.events)
		in.mu.Unlock()
		if len(evs) >= n {
			return evs, nil
		}
		select {
		case <-in.more:
		case <-in.plugin.Done():
			if in.caughtUp(n) {
				continue
			}
			return evs, failf(expected, "%d of %d events, then the session ended: %v", len(evs), n, in.plugin.Err())
		case <-ended:
			if in.caughtUp(n) {
				continue
			}
			why := "END, finished"
			if err := in.source.Err(); err != nil {
				why = err.Error()
			}
			return evs, failf(expected, "%d of %d events, then the instance ended: %s", len(evs), n, why)
		case <-t.ctx.Done():
			return evs, failf(expected, "%d of %d events before the check's time ran out", len(evs), n)
		}
	}
}

// caughtUp reports whether n events have arrived: the events a plugin sent
// just before it ended may be handled after its end is seen.
func (in *hostInstance) caughtUp(n int) bool {
	in.mu.Lock()
	defer in.mu.Unlock()
	return len(in.events) >= n
}

// requestError returns err's *host.RequestError, if it is one.
func requestError(err error) *host.RequestError {
	var re *host.RequestError
	if errors.As(err, &re) {
		return re
	}
	return nil
}
