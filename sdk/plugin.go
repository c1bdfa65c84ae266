package sdk

import (
	"errors"
	"sync/atomic"
	"time"

	"github.com/plugctl/plugctl/wire"
)

// Sentinel errors of the source API.
var (
	// ErrTimeout is returned by Source.NextBatch when no event is ready now
	// but more may come: the SDK calls again after a short pause.
	ErrTimeout = errors.New("no events right now")

	// ErrEndOfStream is returned by Source.NextBatch, or by a RunFunc, when
	// the source has finished for good: the host is told with END.
	ErrEndOfStream = errors.New("end of stream")

	// ErrShutdown is returned by EventSink methods once shutdown has begun.
	// A RunFunc that returns it is treated as a clean exit.
	ErrShutdown = errors.New("plugin is shutting down")

	// ErrBatchFull is returned by Batch.Add when the batch has no room left.
	ErrBatchFull = errors.New("batch is full")
)

// Plugin is everything the SDK needs to serve a plugin. Set Spec, and
// exactly one of Source, Run and Sink.
type Plugin struct {
	// Spec names the plugin and describes its parameters and event kinds.
	// Spec.Name and Spec.Version are sent in HELLO; Spec.Events is the kind
	// table.
	Spec wire.Spec

	// Setup receives the process-wide configuration before any instance
	// is opened: the host's SETUP, or no settings at all (so the defaults
	// apply) when the host sends none. Optional. Return a *ConfigError to
	// name the parameters that are wrong; the host may then send a
	// corrected SETUP, and no instance opens until one succeeds.
	Setup func(global map[string]string) error

	// Source opens one instance of a polled source (the SDK calls its
	// NextBatch in a loop).
	Source func(o Open) (Source, error)

	// Run runs one instance of a callback-driven source: it emits through
	// sink, from any number of goroutines, until it returns or the session
	// shuts down. Returning nil, ErrEndOfStream or ErrShutdown before the
	// stop ends the stream (END); any other error fails the instance
	// (see Source).
	//
	// The OPEN is answered once Run first uses sink or s, or returns, or
	// after a second: check the configuration before anything else, so a
	// *ConfigError Run returns still becomes the OPEN's answer.
	Run func(o Open, sink EventSink, s *Session) error

	// Sink opens one instance of a sink.
	Sink func(o Open) (Sink, error)
}

// Open is the host's request to open one instance.
type Open struct {
	Instance uint16
	Settings map[string]string // the instance's configuration

	// Resuming is set when the host already acknowledged events of this
	// instance's stream; a source continues after ResumeFrom.
	Resuming   bool
	ResumeFrom uint64
}

// Source is a polled source, as Falco's next_batch.
//
// NextBatch adds the events that are ready to b and returns nil, returns
// ErrTimeout when none is ready yet, or ErrEndOfStream once the source is
// finished. NextBatch need not wait for events: after a call that added
// none the SDK pauses before the next, from 1 ms up to 50 ms while nothing
// comes, so the loop does not spin.
// Any other error fails the instance. With a host that speaks protocol
// version 3 or later, END tells the host why and the other instances go
// on; with an older host, the protocol cannot fail one instance alone, so
// the plugin shuts down, tells the host why with GOODBYE and exits 1.
//
// A Source may also implement Acker, Progresser, Stopper and io.Closer.
// The SDK calls all of its methods from one goroutine at a time, so a
// Source needs no locking of its own.
type Source interface {
	NextBatch(b *Batch) error
}

// Acker is implemented by sources that want to know what the host has
// processed, as Conduit's Ack: every event up to position is safe. Acks
// are cumulative, so the SDK may pass only the latest of several.
type Acker interface {
	Ack(position uint64) error
}

// Progresser is implemented by sources with a known end, as Falco's
// get_progress. The SDK polls it about once a second.
type Progresser interface {
	Progress() (percent float64, text string)
}

// Stopper is implemented by sources and sinks that need to act when the
// host stops the instance; for a sink, Stop is where buffered writes are
// flushed.
type Stopper interface {
	Stop() error
}

// Sink consumes batches. Write returns nil when the batch is written, an
// error made with Retry when the host should send the same batch again
// later, and any other error to drop it (Fluent Bit's FLB_OK, FLB_RETRY
// and FLB_ERROR). The batch and its events are valid only during the call.
//
// A Sink may also implement Stopper (flush) and io.Closer.
type Sink interface {
	Write(b *wire.Events) error
}

// Retry wraps err so that a Sink's Write asks the host to retry the batch.
func Retry(err error) error { return &retryError{err} }

type retryError struct{ err error }

func (e *retryError) Error() string { return "retry: " + e.err.Error() }
func (e *retryError) Unwrap() error { return e.err }

// IsRetry reports whether err was made by Retry.
func IsRetry(err error) bool {
	var r *retryError
	return errors.As(err, &r)
}

// ConfigError lists every invalid parameter of a configuration. Setup,
// Source, Run and Sink return it so the host learns each parameter by name.
type ConfigError struct {
	Problems []wire.Problem
}

// Error lists every problem, parameter by parameter.
func (e *ConfigError) Error() string {
	msg := "invalid configuration"
	for i, p := range e.Problems {
		if i == 0 {
			msg += ": "
		} else {
			msg += "; "
		}
		msg += p.Param + ": " + p.Message
	}
	return msg
}

// Add records a problem with param.
func (e *ConfigError) Add(param, message string) {
	e.Problems = append(e.Problems, wire.Problem{Param: param, Message: message})
}

// Err returns e when it holds a problem and nil otherwise.
func (e *ConfigError) Err() error {
	if len(e.Problems) == 0 {
		return nil
	}
	return e
}

// nowNano is the clock events are stamped with: the wall clock, read as
// the wall time of a recent base plus the monotonic time since, which
// costs one clock read instead of time.Now's two. The base is renewed
// every second, so a step of the wall clock shows within a second.
func nowNano() int64 {
	if b := clockBase.Load(); b != nil {
		if d := time.Since(b.t); d < time.Second {
			return b.wall + int64(d)
		}
	}
	t := time.Now()
	clockBase.Store(&wallBase{t: t, wall: t.UnixNano()})
	return t.UnixNano()
}

// wallBase is a reading of both clocks at one instant.
type wallBase struct {
	t    time.Time // carries the monotonic reading
	wall int64
}

var clockBase atomic.Pointer[wallBase]
