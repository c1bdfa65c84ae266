package sdk

import (
	"fmt"
	"sync"
	"time"

	"github.com/plugctl/plugctl/wire"
)

// drain lets every instance send what it has, stop and close, within the
// shutdown timeout. It reports whether a second signal cut it short.
func (s *server) drain() bool {
	var wg sync.WaitGroup
	for _, in := range s.snapshot() {
		wg.Add(1)
		go func() {
			defer wg.Done()
			in.teardown()
		}()
	}
	done := make(chan struct{})
	go func() {
		wg.Wait()
		close(done)
	}()
	t := time.NewTimer(s.opts.ShutdownTimeout)
	defer t.Stop()
	select {
	case <-done:
	case <-s.abort:
	case <-t.C:
		s.logf("plugctl runtime: instances did not finish within %v; leaving without them", s.opts.ShutdownTimeout)
	case <-s.opts.Signals:
		return true
	}
	return false
}

// sendBounded sends a last frame, giving up if the host does not take it
// within the shutdown timeout. Nothing is written after it, and it waits
// until the frame is written, not only queued behind a batch in the ring.
func (s *server) sendBounded(t wire.MsgType, m message) {
	done := make(chan struct{})
	go func() {
		s.c.sendLast(t, m)
		s.c.sync()
		close(done)
	}()
	timer := time.NewTimer(s.opts.ShutdownTimeout)
	defer timer.Stop()
	select {
	case <-done:
	case <-timer.C:
	}
}

// end decides how the session ends, if nothing has yet. A fatal outcome
// also cuts short a graceful shutdown already under way.
func (s *server) end(o outcome) {
	s.endOnce.Do(func() {
		s.result = o
		close(s.ended)
	})
	if o.goodbye == nil {
		s.abortNow()
	}
}

// fatal ends the session for a reason that allows no goodbye, reporting
// only the first such reason.
func (s *server) fatal(o outcome) {
	s.fatalOnce.Do(func() {
		select {
		case <-s.finished:
		default:
			s.logf("plugctl runtime: %v", o.err)
		}
	})
	s.end(o)
}

func (s *server) abortNow() { s.abortOnce.Do(func() { close(s.abort) }) }

// connLost is called once, by the first write that fails.
func (s *server) connLost(err error) {
	if s.hostGoodbye.Load() {
		s.abortNow()
		return
	}
	s.fatal(outcome{code: ExitConnectionLost, err: fmt.Errorf("host connection lost: %w", err)})
}

// instanceFailed reports the failure of one source instance, once its
// last events are sent. From wire.EndStatusVersion on, END says so and the
// other instances go on. Before it the protocol cannot fail one instance
// alone: the plugin shuts down, the host sees GOODBYE with the reason, and
// the exit code says the plugin failed.
func (s *server) instanceFailed(in *instance, err error) {
	s.logf("plugctl runtime: instance %d failed: %v", in.id, err)
	if s.ack.Version >= wire.EndStatusVersion {
		in.endFailed = true
		in.out.end(wire.EndFailed, clip(err.Error()))
		return
	}
	err = fmt.Errorf("instance %d failed: %w", in.id, err)
	s.end(outcome{code: ExitPluginError, err: err, goodbye: &wire.Goodbye{Reason: wire.GoodbyeError, Message: clip(err.Error())}})
}
