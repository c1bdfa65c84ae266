package sdk

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

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
	// plugin that lists that version must take the ring it was offered.
	Versions []uint16

	// Ring is the shared ring the host offered, if any. When the host
	// chooses the ring transport, every frame after HELLO goes into it
	// and w carries only doorbell bytes.
	Ring *wire.Ring
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
	fr     *wire.FrameReader
	ack    wire.HelloAck // set by the handshake
	limits batchLimits   // set by the handshake

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
		opts.Versions = protocolVersions(!offered || opts.Ring != nil)
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
// it, so a plugin that cannot leaves that version out; the later versions
// keep their own features either way.
func protocolVersions(takesRing bool) []uint16 {
	var l []uint16
	for v := uint16(1); v <= wire.ProtocolVersion; v++ {
		if v != wire.RingVersion || takesRing {
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
	s.fr = wire.NewFrameReader(bufio.NewReaderSize(r, 64<<10), wire.HelloMaxFrame)
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
// within the shutdown timeout.
func (s *server) sendBounded(t wire.MsgType, m message) {
	done := make(chan struct{})
	go func() {
		s.c.send(t, 0, m)
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

func (s *server) logf(format string, args ...any) {
	s.logMu.Lock()
	defer s.logMu.Unlock()
	fmt.Fprintf(s.opts.Stderr, format+"\n", args...)
}

// protoError is a protocol violation with the code to report it under.
type protoError struct {
	code wire.ErrorCode
	err  error
}

func (e protoError) Error() string { return e.err.Error() }
func (e protoError) Unwrap() error { return e.err }

// violation ends the session because the host broke the protocol.
func (s *server) violation(err error) {
	code := wire.ErrCodeMalformed
	var pe protoError
	switch {
	case errors.As(err, &pe):
		code = pe.code
	case errors.Is(err, wire.ErrFrameTooLarge):
		code = wire.ErrCodeTooLarge
	}
	s.fatal(outcome{
		code:   ExitProtocolViolation,
		err:    fmt.Errorf("protocol violation by host: %w", err),
		notice: &wire.ErrorMsg{Code: code, Message: clip(err.Error())},
	})
}

// readFailed ends the session after the stream could not be read.
func (s *server) readFailed(err error) {
	switch {
	case errors.Is(err, io.ErrUnexpectedEOF) || !errors.Is(err, wire.ErrMalformed) && !errors.Is(err, wire.ErrFrameTooLarge):
		if s.hostGoodbye.Load() {
			// The host said goodbye and left: no ACK can come any more.
			s.abortNow()
			return
		}
		if err == io.EOF {
			err = errors.New("the host closed the connection (EOF)")
		}
		s.fatal(outcome{code: ExitConnectionLost, err: fmt.Errorf("host connection lost: %w", err)})
	default:
		s.violation(err)
	}
}

// hostError ends the session on the host's ERROR frame.
func (s *server) hostError(body []byte) {
	var m wire.ErrorMsg
	if err := m.Decode(body); err != nil {
		s.violation(err)
		return
	}
	s.fatal(outcome{code: ExitConnectionLost, err: fmt.Errorf("host ended the session with an error: %w", &m)})
}

// read runs the handshake, then reads and dispatches every frame. It never
// writes and never runs plugin code, so the host is always heard.
func (s *server) read() {
	if !s.handshake() {
		return
	}
	for {
		h, body, err := s.fr.Next()
		if err != nil {
			s.readFailed(err)
			return
		}
		select {
		case <-s.abort:
			// The session is over: nothing more may start.
			return
		default:
		}
		s.recv.Add(1)
		if h.Type == wire.MsgError {
			s.hostError(body)
			return
		}
		if err := s.dispatch(h, body); err != nil {
			s.violation(err)
			return
		}
	}
}

func (s *server) handshake() bool {
	h, body, err := s.fr.Next()
	if err != nil {
		s.readFailed(err)
		return false
	}
	switch h.Type {
	case wire.MsgHelloAck:
		var ack wire.HelloAck
		if err := ack.Decode(body); err != nil {
			s.violation(err)
			return false
		}
		if !slices.Contains(s.opts.Versions, ack.Version) {
			s.violation(protoError{wire.ErrCodeUnexpected, fmt.Errorf("HELLO_ACK chose protocol version %d; this plugin offered %v", ack.Version, s.opts.Versions)})
			return false
		}
		if ack.Transport == wire.TransportRing && s.opts.Ring == nil {
			s.violation(protoError{wire.ErrCodeUnexpected, errors.New("HELLO_ACK chose the ring transport, but the host offered no ring")})
			return false
		}
		s.ack = ack
		batch := s.opts.BatchBytes
		if ack.Transport == wire.TransportRing {
			batch = max(batch, ringBatchBytes(s.opts.Ring))
		}
		s.limits = batchLimits{
			soft:  wire.HeaderSize + min(batch, int(ack.MaxFrame)),
			hard:  wire.HeaderSize + int(ack.MaxFrame),
			count: MaxBatchEvents,
		}
		s.fr.SetMax(ack.MaxFrame)
		s.c.mu.Lock()
		s.c.max = int(ack.MaxFrame)
		if ack.Transport == wire.TransportRing {
			// Not s.abort: the last frames (GOODBYE, ERROR) are written
			// after it closes, each bounded by its own timer.
			s.c.w = wire.NewRingWriter(s.opts.Ring, s.c.w, s.finished)
		}
		s.c.mu.Unlock()
		close(s.welcomed)
		return true
	case wire.MsgReject:
		var rj wire.Reject
		if err := rj.Decode(body); err != nil {
			s.violation(err)
			return false
		}
		err := fmt.Errorf("plugin rejected by host: %s: %s", rj.Reason, rj.Message)
		s.logf("%v", err)
		s.end(outcome{code: ExitRejected, err: err})
	case wire.MsgError:
		s.hostError(body)
	default:
		s.violation(protoError{wire.ErrCodeUnexpected, fmt.Errorf("%s frame before the handshake was answered; want HELLO_ACK or REJECT", h.Type)})
	}
	return false
}

// dispatch handles one frame of an established session.
func (s *server) dispatch(h wire.Header, body []byte) error {
	switch h.Type {
	case wire.MsgHeartbeat:
		var m wire.Heartbeat
		return m.Decode(body)
	case wire.MsgAck:
		var m wire.Ack
		if err := m.Decode(body); err != nil {
			return err
		}
		if s.p.Sink != nil {
			return protoError{wire.ErrCodeUnexpected, fmt.Errorf("ACK for instance %d, but this plugin is a sink", h.Instance)}
		}
		in, err := s.target(h)
		if err != nil {
			return err
		}
		if err := in.out.ack(m.Position); err != nil {
			return protoError{wire.ErrCodeUnexpected, err}
		}
		return nil
	case wire.MsgWrite:
		if s.p.Sink == nil {
			return protoError{wire.ErrCodeUnexpected, fmt.Errorf("WRITE for instance %d, but this plugin is a source", h.Instance)}
		}
		in, err := s.target(h)
		if err != nil {
			return err
		}
		if in.writesClosed {
			return protoError{wire.ErrCodeUnexpected, fmt.Errorf("WRITE for instance %d after its STOP or CLOSE", h.Instance)}
		}
		select {
		case <-s.quit:
			// Shutting down: unanswered, the batch stays the host's.
			return nil
		default:
		}
		return in.acceptWrite(body)
	case wire.MsgSpecRequest, wire.MsgSetup, wire.MsgOpen, wire.MsgStop, wire.MsgClose:
		var req wire.Request
		if err := req.Decode(body, h.Type); err != nil {
			return err
		}
		s.request(h, req)
		return nil
	case wire.MsgGoodbye:
		var m wire.Goodbye
		if err := m.Decode(body); err != nil {
			return err
		}
		if m.Reason != wire.GoodbyeNormal {
			s.logf("plugctl runtime: the host is ending the session: %s: %s", m.Reason, m.Message)
		}
		s.hostGoodbye.Store(true)
		s.end(outcome{code: ExitOK, goodbye: &wire.Goodbye{Reason: wire.GoodbyeRequested}})
		return nil
	case wire.MsgHelloAck, wire.MsgReject:
		return protoError{wire.ErrCodeUnexpected, fmt.Errorf("%s frame after the handshake", h.Type)}
	}
	return protoError{wire.ErrCodeUnexpected, fmt.Errorf("%s frame from the host: only a plugin sends it", h.Type)}
}

// target is the open instance a frame names.
func (s *server) target(h wire.Header) (*instance, error) {
	if in := s.lookup(h.Instance); in != nil {
		return in, nil
	}
	return nil, protoError{wire.ErrCodeUnknownInstance, fmt.Errorf("%s for instance %d, which is not open", h.Type, h.Instance)}
}

func (s *server) lookup(id uint16) *instance {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.insts[id]
}

func (s *server) remove(in *instance) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.insts[in.id] == in {
		delete(s.insts, in.id)
	}
}

func (s *server) snapshot() []*instance {
	s.mu.Lock()
	defer s.mu.Unlock()
	l := make([]*instance, 0, len(s.insts))
	for _, in := range s.insts {
		l = append(l, in)
	}
	return l
}

// request routes a request to the queue that answers it: process-wide
// ones in order on proc, an instance's in order on its own queue.
func (s *server) request(h wire.Header, req wire.Request) {
	switch h.Type {
	case wire.MsgSpecRequest:
		s.proc.do(func() { s.sendSpec(h.Instance, req.ID) })
	case wire.MsgSetup:
		s.setupAsked = true
		gate := make(chan struct{})
		s.setupGate = gate
		late := s.anyOpen
		s.proc.do(func() {
			defer close(gate)
			s.setup(h.Instance, req, late)
		})
	case wire.MsgOpen:
		s.open(h.Instance, req)
	case wire.MsgStop, wire.MsgClose:
		in := s.lookup(h.Instance)
		if in == nil {
			s.proc.do(func() { s.reply(h.Instance, notOpen(req.ID, h.Instance)) })
			return
		}
		in.writesClosed = true
		if h.Type == wire.MsgStop {
			in.jobs.do(func() { in.stopJob(req) })
		} else {
			in.jobs.do(func() { in.closeJob(req) })
		}
	}
}

func (s *server) open(id uint16, req wire.Request) {
	refuse := func(msg string) {
		s.proc.do(func() { s.reply(id, wire.Reply{ID: req.ID, Status: wire.StatusUnsupported, Message: msg}) })
	}
	if id == 0 {
		refuse("instance 0 is the process: OPEN takes an instance number from 1")
		return
	}
	s.mu.Lock()
	if _, dup := s.insts[id]; dup {
		s.mu.Unlock()
		refuse(fmt.Sprintf("instance %d is already open", id))
		return
	}
	in := newInstance(s, id, req)
	s.insts[id] = in
	s.mu.Unlock()
	if !s.anyOpen && !s.setupAsked && s.p.Setup != nil {
		s.implicitSetup()
	}
	s.anyOpen = true
	gate := s.setupGate
	in.jobs.do(func() { in.openJob(req, gate) })
}

// implicitSetup runs Setup with no settings before the first OPEN of a host
// that sent no SETUP, so the process-wide parameters take their defaults
// rather than zero values; if the defaults are not enough, every OPEN says
// why.
func (s *server) implicitSetup() {
	gate := make(chan struct{})
	s.setupGate = gate
	s.proc.do(func() {
		defer close(gate)
		if err := s.p.Setup(map[string]string{}); err != nil {
			s.setupErr = fmt.Errorf("no SETUP was sent and the process-wide configuration needs one: %w", err)
			return
		}
		s.setupDone = true
	})
}

func (s *server) sendSpec(instance uint16, id uint32) {
	err := s.c.send(wire.MsgSpec, instance, &wire.SpecReply{ID: id, Spec: s.spec})
	if errors.Is(err, wire.ErrFrameTooLarge) {
		s.reply(instance, wire.Reply{ID: id, Status: wire.StatusFailed, Message: err.Error()})
	}
}

func (s *server) setup(instance uint16, req wire.Request, late bool) {
	var r wire.Reply
	switch {
	case late && s.setupErr == nil:
		// With a refused configuration no instance opened, so a
		// corrected SETUP is still in time.
		r = wire.Reply{ID: req.ID, Status: wire.StatusUnsupported, Message: "SETUP after OPEN: the process-wide configuration comes before any instance"}
	case s.setupDone:
		r = wire.Reply{ID: req.ID, Status: wire.StatusUnsupported, Message: "SETUP was already done"}
	default:
		var err error
		if s.p.Setup != nil {
			err = s.p.Setup(req.Settings)
		}
		s.setupDone = err == nil
		s.setupErr = nil
		if err != nil {
			// No instance may run on a configuration that was refused.
			s.setupErr = fmt.Errorf("the process-wide configuration was refused: %w", err)
		}
		r = replyFor(req.ID, err)
	}
	s.reply(instance, r)
}

// replyFor answers request id with the outcome of plugin code.
func replyFor(id uint32, err error) wire.Reply {
	var ce *ConfigError
	switch {
	case err == nil:
		return wire.Reply{ID: id, Status: wire.StatusOK}
	case errors.As(err, &ce):
		return wire.Reply{ID: id, Status: wire.StatusInvalidConfig, Message: clip(err.Error()), Problems: ce.Problems}
	}
	return wire.Reply{ID: id, Status: wire.StatusFailed, Message: clip(err.Error())}
}

func (s *server) reply(instance uint16, r wire.Reply) {
	if err := s.c.send(wire.MsgReply, instance, &r); errors.Is(err, wire.ErrFrameTooLarge) {
		// Too many problems for one frame: say so in few words.
		s.c.send(wire.MsgReply, instance, &wire.Reply{ID: r.ID, Status: r.Status, Message: clip(err.Error())})
	}
}

// heartbeat sends HEARTBEAT every interval and declares the host dead
// after 3 intervals without a frame from it. Sending runs apart, so that
// a write stuck on a full pipe cannot stop the watch.
func (s *server) heartbeat() {
	interval := time.Duration(s.ack.HeartbeatMS) * time.Millisecond
	beat := make(chan struct{}, 1)
	go func() {
		for {
			select {
			case <-beat:
			case <-s.abort:
				return
			case <-s.finished:
				return
			}
			s.c.send(wire.MsgHeartbeat, 0, &wire.Heartbeat{UnixNano: nowNano()})
		}
	}()
	t := time.NewTicker(interval)
	defer t.Stop()
	var seen uint64
	silent := 0
	for {
		select {
		case <-t.C:
		case <-s.abort:
			return
		case <-s.finished:
			return
		}
		if n := s.recv.Load(); n != seen {
			seen, silent = n, 0
		} else if silent++; silent >= 3 {
			err := fmt.Errorf("no frame from the host for 3 heartbeat intervals (%v)", 3*interval)
			s.fatal(outcome{
				code:   ExitConnectionLost,
				err:    fmt.Errorf("host connection lost: %w", err),
				notice: &wire.ErrorMsg{Code: wire.ErrCodeHeartbeatTimeout, Message: err.Error()},
			})
			return
		}
		notify(beat)
	}
}

// maxText bounds the free text of a frame (messages, progress detail), so
// that no plugin string can push a frame over the limit.
const maxText = 4 << 10

func clip(s string) string {
	if len(s) <= maxText {
		return s
	}
	i := maxText
	for i > 0 && !utf8.RuneStart(s[i]) {
		i--
	}
	return s[:i] + "…"
}
