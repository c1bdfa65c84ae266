package sdk

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/plugctl/plugctl/wire"
)

// Exit codes of a plugin process. Main exits with them; ExitCode derives
// them from the error Serve returns.
const (
	ExitOK                = 0 // the session ended cleanly: GOODBYE, a signal, or the host's request
	ExitPluginError       = 1 // the plugin failed or is invalid, or a second signal cut the shutdown short
	ExitRejected          = 2 // the host answered HELLO with REJECT
	ExitConnectionLost    = 3 // the host went away, fell silent, or ended the session with ERROR
	ExitProtocolViolation = 4 // the host sent bytes that break the protocol
)

// ExitError is the error Serve returns when the session did not end
// cleanly. Serve has already written a diagnostic to its Stderr.
type ExitError struct {
	Code int // one of the Exit constants
	Err  error
}

// Error returns the underlying error's message.
func (e *ExitError) Error() string { return e.Err.Error() }

// Unwrap returns the underlying error.
func (e *ExitError) Unwrap() error { return e.Err }

// ExitCode is the process exit code for an error returned by Serve: 0 for
// nil, the code of an *ExitError, ExitPluginError otherwise.
func ExitCode(err error) int {
	var ee *ExitError
	switch {
	case err == nil:
		return ExitOK
	case errors.As(err, &ee):
		return ee.Code
	}
	return ExitPluginError
}

// ServeOptions adjusts Serve. Main sets Signals, BatchBytes and, when the
// host offers one, Ring; the zero value suits any other stream.
type ServeOptions struct {
	// ID is the plugin id sent in HELLO; empty: the wire.EnvPluginID variable.
	ID string

	// Stderr receives the SDK's diagnostics; nil: os.Stderr.
	Stderr io.Writer

	// Signals, when set, asks for a graceful shutdown on its first value
	// and for an immediate return on its second.
	Signals <-chan os.Signal

	// ShutdownTimeout bounds a graceful shutdown: how long instances may
	// take to flush, stop and close. 0: 2 seconds.
	ShutdownTimeout time.Duration

	// HandshakeTimeout bounds the wait for the host's answer to HELLO.
	// 0: 10 seconds.
	HandshakeTimeout time.Duration

	// BatchBytes is the body budget of an EVENTS frame; the negotiated
	// maximum frame size caps it, and on the ring transport it is raised
	// to a sixteenth of the ring. 0: DefaultBatchBytes.
	BatchBytes int

	// Versions are the protocol versions offered in HELLO; nil: all from
	// 1 to wire.ProtocolVersion, but without wire.RingVersion when the
	// host offered a ring (wire.EnvRingFD is set) and Ring is nil, since a
	// plugin that lists that version must take the ring it was offered;
	// likewise without wire.InputRingVersion when wire.EnvInputRingFD is
	// set and InputRing is nil.
	Versions []uint16

	// Ring is the shared ring the host offered, if any. When the host
	// chooses the ring transport, every frame after HELLO goes into it
	// and w carries only doorbell bytes.
	Ring *wire.Ring

	// InputRing is the input ring the host offered, if any. When the
	// host chooses it, every frame after HELLO_ACK comes through it and r
	// carries only doorbell bytes.
	InputRing *wire.Ring
}

// Serve speaks the protocol on r and w for p until the session ends, and
// returns nil when it ended cleanly, or an *ExitError. It never calls
// os.Exit and handles signals only through opts.Signals. It may return
// while goroutines of its own are still blocked reading r or writing w:
// closing them releases those.
func Serve(r io.Reader, w io.Writer, p Plugin, opts ServeOptions) error {
	if opts.Stderr == nil {
		opts.Stderr = os.Stderr
	}
	s, err := newServer(p, opts, w)
	if err != nil {
		fmt.Fprintf(opts.Stderr, "plugctl runtime: %v\n", err)
		return &ExitError{Code: ExitPluginError, Err: err}
	}
	return s.serve(r)
}

// outcome is how a session ends. The first one decided wins.
type outcome struct {
	code    int
	err     error         // nil for a clean end
	goodbye *wire.Goodbye // set: shut down gracefully, then say goodbye
	notice  *wire.ErrorMsg
}

func (o *outcome) error() error {
	if o.code == ExitOK {
		return nil
	}
	return &ExitError{Code: o.code, Err: o.err}
}

type server struct {
	p      Plugin
	spec   wire.Spec
	kinds  *kindTable
	opts   ServeOptions
	c      conn
	in     *bufio.Reader     // the input stream: frames, or the input ring's doorbells
	fr     *wire.FrameReader // the read loop's
	ack    wire.HelloAck     // set by the handshake
	limits batchLimits       // set by the handshake

	logMu sync.Mutex

	recv        atomic.Uint64 // frames received, for the heartbeat watch
	hostGoodbye atomic.Bool

	// Owned by the read loop.
	setupGate  chan struct{} // closed when the latest SETUP is done
	anyOpen    bool
	setupAsked bool // the host sent SETUP

	proc      serial // process-wide requests: SPEC_REQUEST, SETUP
	setupDone bool   // proc only
	setupErr  error  // proc only, read after setupGate closes: why OPEN must be refused

	mu    sync.Mutex
	insts map[uint16]*instance

	welcomed  chan struct{} // closed by a valid HELLO_ACK
	quit      chan struct{} // closed when the plugin begins to shut down
	abort     chan struct{} // closed when nothing more may be waited for
	abortOnce sync.Once
	ended     chan struct{}
	endOnce   sync.Once
	result    outcome
	fatalOnce sync.Once
	finished  chan struct{} // closed when Serve returns
}

func newServer(p Plugin, opts ServeOptions, w io.Writer) (*server, error) {
	set := 0
	for _, f := range []bool{p.Source != nil, p.Run != nil, p.Sink != nil} {
		if f {
			set++
		}
	}
	if set != 1 {
		return nil, fmt.Errorf("invalid Plugin: set exactly one of Source, Run and Sink (%d are set)", set)
	}
	role := roleOf(p)
	if p.Spec.Name == "" {
		return nil, errors.New("invalid Plugin: Spec.Name is empty")
	}
	if p.Spec.Role != 0 && p.Spec.Role != role {
		return nil, fmt.Errorf("invalid Plugin: Spec.Role is %s, but the function set makes it a %s", p.Spec.Role, role)
	}
	kinds, err := newKindTable(p.Spec.Events)
	if err != nil {
		return nil, fmt.Errorf("invalid Plugin: %w", err)
	}
	if opts.ID == "" {
		opts.ID = os.Getenv(wire.EnvPluginID)
	}
	if opts.ShutdownTimeout <= 0 {
		opts.ShutdownTimeout = 2 * time.Second
	}
	if opts.HandshakeTimeout <= 0 {
		opts.HandshakeTimeout = 10 * time.Second
	}
	if opts.BatchBytes <= 0 {
		opts.BatchBytes = DefaultBatchBytes
	}
	if opts.Versions == nil {
		_, offered := os.LookupEnv(wire.EnvRingFD)
		_, inputOffered := os.LookupEnv(wire.EnvInputRingFD)
		opts.Versions = protocolVersions(!offered || opts.Ring != nil, !inputOffered || opts.InputRing != nil)
	}
	s := &server{
		p:         p,
		spec:      p.Spec,
		kinds:     kinds,
		opts:      opts,
		setupGate: make(chan struct{}),
		insts:     make(map[uint16]*instance),
		welcomed:  make(chan struct{}),
		quit:      make(chan struct{}),
		abort:     make(chan struct{}),
		ended:     make(chan struct{}),
		finished:  make(chan struct{}),
	}
	s.spec.Role = role
	close(s.setupGate)
	s.c = conn{w: w, max: wire.HelloMaxFrame, lost: s.connLost}
	return s, nil
}

// protocolVersions lists the versions this SDK speaks. Listing
// wire.RingVersion tells a host that offered a ring that the plugin takes
// it, and wire.InputRingVersion the same of an input ring, so a plugin
// that cannot leaves that version out; the other versions keep their own
// features either way.
func protocolVersions(takesRing, takesInputRing bool) []uint16 {
	var l []uint16
	for v := uint16(1); v <= wire.ProtocolVersion; v++ {
		if (v != wire.RingVersion || takesRing) && (v != wire.InputRingVersion || takesInputRing) {
			l = append(l, v)
		}
	}
	return l
}

func (s *server) serve(r io.Reader) error {
	defer close(s.finished)
	hello := wire.Hello{
		Versions:   s.opts.Versions,
		ID:         s.opts.ID,
		Name:       s.spec.Name,
		Version:    s.spec.Version,
		Role:       s.spec.Role,
		EventKinds: s.kinds.names,
	}
	if err := s.c.send(wire.MsgHello, 0, &hello); err != nil {
		if errors.Is(err, wire.ErrFrameTooLarge) {
			s.logf("plugctl runtime: %v", err)
			return &ExitError{Code: ExitPluginError, Err: err}
		}
		return s.result.error()
	}
	// A large buffer lets one read syscall bring in many small frames.
	s.in = bufio.NewReaderSize(r, 64<<10)
	s.fr = wire.NewFrameReader(s.in, wire.HelloMaxFrame)
	go s.read()

	t := time.NewTimer(s.opts.HandshakeTimeout)
	select {
	case <-s.welcomed:
		t.Stop()
		go s.heartbeat()
		select {
		case <-s.ended:
		case sig := <-s.opts.Signals:
			s.logf("plugctl runtime: %v received: shutting down", sig)
			s.end(outcome{code: ExitOK, goodbye: &wire.Goodbye{Reason: wire.GoodbyeSignal}})
		}
	case <-s.ended:
	case <-t.C:
		err := fmt.Errorf("host connection lost: no answer to HELLO within %v", s.opts.HandshakeTimeout)
		s.fatal(outcome{code: ExitConnectionLost, err: err})
	case <-s.opts.Signals:
		return nil
	}
	o := s.result
	close(s.quit)
	for _, in := range s.snapshot() {
		in.beginStop()
	}
	if o.goodbye == nil {
		if o.notice != nil {
			s.sendBounded(wire.MsgError, o.notice)
		}
		return o.error()
	}
	if s.drain() {
		err := errors.New("second signal: exiting without finishing the shutdown")
		s.logf("plugctl runtime: %v", err)
		return &ExitError{Code: ExitPluginError, Err: err}
	}
	s.abortNow()
	s.sendBounded(wire.MsgGoodbye, o.goodbye)
	return o.error()
}

func (s *server) logf(format string, args ...any) {
	s.logMu.Lock()
	defer s.logMu.Unlock()
	fmt.Fprintf(s.opts.Stderr, format+"\n", args...)
}

// maxText bounds the free text of a frame (messages, progress detail), so
// that no plugin string can push a frame over the limit.
const maxText = 4 << 10
