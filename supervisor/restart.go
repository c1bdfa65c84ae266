package supervisor

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/plugctl/plugctl/enroll"
	"github.com/plugctl/plugctl/host"
)

// runner keeps one auto-launch entry's plugin running: it launches it,
// restarts it with backoff when it exits or dies, parks it in a crash
// loop, and starts it afresh when its entry changes.
type runner struct {
	s    *supervisor
	mu   sync.Mutex
	next *enroll.Entry // a changed entry not yet taken
	wake chan struct{} // signalled when next is set
	quit chan struct{} // closed when the plugin must stop for good
}

// update hands the runner its entry as changed.
func (r *runner) update(e *enroll.Entry) {
	r.mu.Lock()
	r.next = e
	r.mu.Unlock()
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

func (r *runner) take() *enroll.Entry {
	r.mu.Lock()
	defer r.mu.Unlock()
	e := r.next
	r.next = nil
	return e
}

// stop ends the runner; called once, by the reconcile loop.
func (r *runner) stop() { close(r.quit) }

func (r *runner) quitting() bool {
	select {
	case <-r.quit:
		return true
	default:
		return false
	}
}

// await waits for a changed entry, for timeout (then it returns cur) or
// for the end of the runner (then nil).
func (r *runner) await(cur *enroll.Entry, timeout <-chan time.Time) (e *enroll.Entry, changed bool) {
	for {
		select {
		case <-r.quit:
			return nil, false
		case <-timeout:
			return cur, false
		case <-r.wake:
			if e := r.take(); e != nil {
				return e, true
			}
		}
	}
}

func (r *runner) run(e *enroll.Entry) {
	b := newBackoff(r.s.o.Policy)
	for {
		log := r.s.pluginLog(e)
		start := time.Now()
		out, err := r.session(e, log)
		if r.quitting() {
			return
		}
		if next := r.take(); next != nil {
			e = next
			b.reset()
			continue
		}
		if out == interrupted {
			continue // woken for a change that an earlier wake already took: start again as it is
		}
		wait := "its registry entry changes"
		switch {
		case out == finished:
			log.Info("every instance ended its stream; not restarted until " + wait)
		case errors.Is(err, host.ErrRevoked):
			log.Warn("session ended by the registry", "err", err)
		default:
			delay, parked := b.fail(time.Now(), time.Since(start))
			if !parked {
				log.Warn("plugin stopped; restarting", "in", delay.Round(time.Millisecond), "err", err)
				next, changed := r.await(e, time.After(delay))
				if next == nil {
					return
				}
				if changed {
					b.reset()
				} else {
					r.s.m.restarts.WithLabelValues(e.Name, e.ID).Inc()
				}
				e = next
				continue
			}
			r.s.m.parked.WithLabelValues(e.Name, e.ID).Set(1)
			p := r.s.o.Policy
			log.Error(fmt.Sprintf("crash loop: %d failures within %v; plugin parked, not restarted until %s", p.CrashLoop, p.CrashWindow, wait), "err", err)
		}
		next, _ := r.await(e, nil)
		if next == nil {
			return
		}
		r.s.m.parked.WithLabelValues(e.Name, e.ID).Set(0)
		e = next
		b.reset()
	}
}

// session launches the entry's plugin and serves it until it ends, the
// runner stops or the entry changes.
func (r *runner) session(e *enroll.Entry, log *slog.Logger) (outcome, error) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		select {
		case <-r.quit:
			cancel()
		case <-ctx.Done():
		}
	}()
	p, err := r.s.reg.Launch(ctx, e.ID, r.s.hostOptions(log))
	if err != nil {
		r.s.noteReject(err, log)
		return ended, fmt.Errorf("launch: %w", err)
	}
	pc := r.s.o.Config.For(e)
	slots, err := r.s.acquire(e, pc.Instances, r)
	if err != nil {
		p.Kill()
		return ended, err
	}
	defer r.s.release(slots)
	return r.s.serve(p, e, pc, slots, log.With("pid", p.Pid()), r.quit, r.wake)
}
