package host

import (
	"io"
	"math/bits"
	"os"
	"time"

	"github.com/plugctl/plugctl/enroll"
	"github.com/plugctl/plugctl/wire"
)

// Options configures how a host launches or accepts plugins. The zero
// value is usable: every field has a default.
type Options struct {
	// Check decides whether a plugin may run, from its HELLO, its
	// executable and that executable's digest (see Candidate). Nil accepts
	// any plugin: use it only in development.
	Check Enrollment

	// Role is the role the host expects; a plugin of the other role is
	// rejected with wire.RejectWrongRole. Zero accepts either.
	Role wire.Role

	// MaxFrame is the largest frame body either side may send after the
	// handshake. Default wire.DefaultMaxFrame; at most
	// wire.MaxFrameLimit.
	MaxFrame uint32

	// Heartbeat is the interval at which both sides send heartbeats. A
	// plugin silent for three intervals is declared dead. Default 1s.
	Heartbeat time.Duration

	// Window is how many batches may be in flight per instance: EVENTS the
	// host has not acknowledged, or WRITEs the plugin has not answered.
	// Default 8, and 1024 for a source whose frames come through the shared
	// ring: there the ring bounds the bytes in flight, and a window that a
	// busy stream fills within milliseconds would have the host wake the
	// plugin with an ACK every few batches, which halves its throughput.
	Window int

	// Timeout bounds the handshake and the wait for the answer to each
	// request or WRITE. A plugin that does not answer in time is
	// considered hung and its session is ended. Default 10s.
	Timeout time.Duration

	// Grace is how long a plugin has to exit after its session ends
	// (GOODBYE, end of stream) before it is killed. Default 5s.
	Grace time.Duration

	// Stderr receives the plugin's standard error, line by line, each line
	// prefixed with "[name] ". Default os.Stderr.
	Stderr io.Writer

	// Env is added to the environment of launched plugins, for example
	// wire.EnvPluginID + "=" + id.
	Env []string

	// Dir is the working directory of launched plugins; empty: the host's.
	Dir string

	// RingSize is the data size of the shared-memory ring offered to
	// launched plugins (protocol version 2 on, on Linux). A plugin that
	// lists version 2 takes it and sends its frames through memory
	// instead of its output pipe, several times faster. Rounded up to a
	// power of two from wire.RingMinSize to wire.RingMaxSize; default
	// wire.DefaultRingSize. A sink's input ring, for the host's WRITEs
	// (version 4 on), has the same size up to wire.DefaultInputRingSize.
	// Negative offers no ring: every frame stays on the pipe.
	RingSize int

	// Poll trades a host core for latency on the ring transport. The read
	// loop polls an empty ring for 20 µs, then for up to twice the ring's
	// last empty spell, at most Poll, before it sleeps until the plugin's
	// doorbell wakes it; that wake-up costs tens of microseconds on most
	// machines. So a plugin whose frames follow each other within Poll/2
	// finds the host awake, at the price of a core kept busy while that
	// lasts, and one that goes quiet costs one spell of Poll before the
	// read loop sleeps after 20 µs again. Default wire.DefaultRingPoll
	// (200 µs), which polls through the round trips of a sink; a few
	// milliseconds bring a source's lone events to the handler in a few
	// microseconds. Negative: no polling beyond the 20 µs. Longer than
	// 100 ms counts as 100 ms: the read loop notices that the session was
	// closed only between polls.
	Poll time.Duration

	// beforeExec, set by Registry.Launch, refuses the executable from
	// its digest before it starts, so that a binary changed since it was
	// enrolled never runs: on Linux the digest is of the sealed copy the
	// kernel runs; for scripts and elsewhere, of the file then run by path.
	// digestErr says why there is no digest.
	beforeExec func(binary string, d enroll.Digest, digestErr error) error
}

// Defaults applied by withDefaults.
const (
	defaultHeartbeat = time.Second
	defaultWindow    = 8
	ringSourceWindow = 1024
	defaultTimeout   = 10 * time.Second
	defaultGrace     = 5 * time.Second
	maxPoll          = 100 * time.Millisecond
)

func (o Options) withDefaults() Options {
	if o.MaxFrame == 0 {
		o.MaxFrame = wire.DefaultMaxFrame
	}
	// The codec refuses a HELLO_ACK outside these bounds, so never offer one.
	o.MaxFrame = min(max(o.MaxFrame, wire.HelloMaxFrame), wire.MaxFrameLimit)
	if o.Heartbeat <= 0 {
		o.Heartbeat = defaultHeartbeat
	}
	o.Heartbeat = max(o.Heartbeat, time.Millisecond)
	if o.Poll == 0 {
		o.Poll = wire.DefaultRingPoll
	}
	o.Poll = min(o.Poll, maxPoll)
	if o.Timeout <= 0 {
		o.Timeout = defaultTimeout
	}
	if o.Grace <= 0 {
		o.Grace = defaultGrace
	}
	if o.Stderr == nil {
		o.Stderr = os.Stderr
	}
	switch {
	case o.RingSize == 0:
		o.RingSize = wire.DefaultRingSize
	case o.RingSize > 0:
		o.RingSize = 1 << bits.Len(uint(min(max(o.RingSize, wire.RingMinSize), wire.RingMaxSize)-1))
	}
	return o
}

// Enrollment decides which plugins a host accepts, and may follow and end
// the sessions it accepted. Registry is the one backed by a registry
// directory; EnrollmentFunc adapts a plain check.
//
// Admit is called once per handshake, once the protocol version and role
// are agreed. Return a *RejectError to reject with its reason, any other
// error to reject with wire.RejectPolicy, or nil to accept, with a release
// function (or nil) that the host calls once when the session has ended,
// also when it fails before Launch or Accept returns. Admit runs during the
// handshake, so it should be quick.
type Enrollment interface {
	Admit(c *Candidate) (release func(), err error)
}

// EnrollmentFunc adapts a function to the Enrollment interface.
type EnrollmentFunc func(c *Candidate) error

// Admit calls f.
func (f EnrollmentFunc) Admit(c *Candidate) (func(), error) { return nil, f(c) }
