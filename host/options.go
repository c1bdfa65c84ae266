package host

import (
	"io"
	"math/bits"
	"os"
	"time"

	"github.com/plugctl/plugctl/wire"
)

// Options configures how a host launches or accepts plugins. The zero
// value is usable: every field has a default.
type Options struct {
	// Check decides whether a plugin may run, from its HELLO and the path
	// of its executable. Nil accepts any plugin: use it only in development.
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
	// Default 8.
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
	// launched plugins (protocol version 2, on Linux). A plugin that
	// takes it sends its frames through memory instead of its output
	// pipe, several times faster. Rounded up to a power of two from
	// wire.RingMinSize to wire.RingMaxSize; default
	// wire.DefaultRingSize. Negative offers no ring: every frame stays
	// on the pipe.
	RingSize int
}

// Defaults applied by withDefaults.
const (
	defaultHeartbeat = time.Second
	defaultWindow    = 8
	defaultTimeout   = 10 * time.Second
	defaultGrace     = 5 * time.Second
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
	if o.Window <= 0 {
		o.Window = defaultWindow
	}
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

// Enrollment decides which plugins a host accepts.
//
// Check is called once per handshake with the plugin's HELLO and the
// absolute path of its executable: the one launched or, for a plugin
// accepted on a socket, the one that connected, as far as the socket's
// peer credentials tell on Linux ("" where they cannot; see
// Listener.Accept for why that path is only advice). Return nil to accept, a *RejectError to reject
// with its reason, or any other error to reject with wire.RejectPolicy.
// Check runs during the handshake, so it should be quick.
type Enrollment interface {
	Check(h wire.Hello, binary string) error
}

// EnrollmentFunc adapts a function to the Enrollment interface.
type EnrollmentFunc func(h wire.Hello, binary string) error

// Check calls f.
func (f EnrollmentFunc) Check(h wire.Hello, binary string) error { return f(h, binary) }
