package sdk

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"github.com/plugctl/plugctl/wire"
)

// runReadyGrace bounds how long the OPEN of a Run instance waits for Run to
// use its EventSink or Session, or to return. Until then an error Run
// returns (such as a *ConfigError from parsing its settings) is the OPEN's
// answer; after it, the OPEN succeeds and a later error is a failure.
const runReadyGrace = time.Second

// instance is one opened instance. Its requests run in order on jobs;
// what it produces or consumes runs on goroutines of its own.
type instance struct {
	s    *server
	id   uint16
	o    Open
	jobs serial

	opened   bool // set by the OPEN job when it succeeded; read by later jobs
	stopOnce sync.Once
	stopCh   chan struct{} // closed when the instance begins to stop
	started  chan struct{} // closed when OPEN is answered: frames may flow
	drained  chan struct{} // closed when its last frame (EVENTS, END or RESULT) is written

	// Sources.
	out          *outlet
	src          Source   // polled
	ackDelivered uint64   // the last position passed to Acker.Ack
	em           *emitter // Run
	endFailed    bool     // END said the instance failed; set before drained closes
	readyFlag    atomic.Bool
	readyOnce    sync.Once
	ready        chan struct{} // closed when Run first uses its sink or session
	runDone      chan struct{}
	runErr       error

	// Sinks.
	snk          Sink
	wq           writeQueue
	writesClosed bool   // read loop only: STOP or CLOSE arrived, no WRITE may follow
	lastWritten  uint64 // the highest position of the batches written ok
	anyWritten   bool

	hookMu     sync.Mutex
	stopHooked bool
	stopErr    error
	closed     bool
}

func newInstance(s *server, id uint16, req wire.Request) *instance {
	in := &instance{
		s:       s,
		id:      id,
		o:       Open{Instance: id, Settings: req.Settings, Resuming: req.HasResume, ResumeFrom: req.Resume},
		stopCh:  make(chan struct{}),
		started: make(chan struct{}),
		drained: make(chan struct{}),
	}
	if !req.HasResume {
		in.o.ResumeFrom = 0
	}
	switch {
	case s.p.Sink != nil:
		in.wq.wake = make(chan struct{}, 1)
	default:
		in.out = newOutlet(&s.c, s.ack.Version, id, int(s.ack.Window), in.o.ResumeFrom)
		in.ackDelivered = in.o.ResumeFrom
		if s.p.Run != nil {
			in.em = newEmitter(in, s.kinds, s.limits, in.o.ResumeFrom)
			in.ready = make(chan struct{})
			in.runDone = make(chan struct{})
		}
	}
	return in
}

// markReady records that Run has begun to use its sink or session. The
// flag keeps the common case, already ready, to one atomic load.
func (in *instance) markReady() {
	if !in.readyFlag.Load() {
		in.setReady()
	}
}

func (in *instance) setReady() {
	in.readyOnce.Do(func() { close(in.ready) })
	in.readyFlag.Store(true)
}

// beginStop starts stopping the instance: its session ends, its EventSink
// refuses events, its producer sends what it has and finishes.
func (in *instance) beginStop() {
	in.stopOnce.Do(func() {
		close(in.stopCh)
		if in.em != nil {
			in.em.stop()
		}
	})
}

// waitDrained waits for the instance's last frame; false if the session
// was aborted first.
func (in *instance) waitDrained() bool {
	select {
	case <-in.drained:
		return true
	case <-in.s.abort:
		return false
	}
}

func (in *instance) openJob(req wire.Request, setup <-chan struct{}) {
	s := in.s
	select {
	case <-setup:
	case <-s.abort:
		return
	}
	var err error
	select {
	case <-s.quit:
		err = errors.New("the plugin is shutting down")
	default:
		err = s.setupErr
		if err == nil {
			err = in.openPlugin()
		}
	}
	if err != nil {
		s.remove(in)
		close(in.drained)
		s.reply(in.id, replyFor(req.ID, err))
		return
	}
	in.opened = true
	s.reply(in.id, replyFor(req.ID, nil))
	close(in.started)
	switch {
	case in.src != nil:
		go in.poll()
	case in.em != nil:
		go in.monitorRun()
	default:
		go in.consume()
	}
}

func (in *instance) openPlugin() error {
	p := in.s.p
	switch {
	case p.Source != nil:
		src, err := p.Source(in.o)
		if err == nil && src == nil {
			err = errors.New("Plugin.Source returned a nil Source")
		}
		in.src = src
		return err
	case p.Sink != nil:
		snk, err := p.Sink(in.o)
		if err == nil && snk == nil {
			err = errors.New("Plugin.Sink returned a nil Sink")
		}
		in.snk = snk
		return err
	}
	go func() {
		in.runErr = p.Run(in.o, EventSink{in.em}, &Session{in})
		close(in.runDone)
	}()
	grace := time.NewTimer(runReadyGrace)
	defer grace.Stop()
	select {
	case <-in.runDone:
		if !cleanRunEnd(in.runErr) {
			in.em.stop()
			return in.runErr
		}
	case <-in.ready:
	case <-grace.C:
	case <-in.stopCh:
	case <-in.s.abort:
	}
	return nil
}

// drainFor begins the stop that req (STOP or CLOSE) implies and waits for
// the drain. It reports false when there is nothing more to do: the
// instance never opened (req is answered so) or the session is aborting.
func (in *instance) drainFor(req wire.Request) bool {
	if !in.opened {
		in.s.reply(in.id, notOpen(req.ID, in.id))
		return false
	}
	in.beginStop()
	return in.waitDrained()
}

func (in *instance) stopJob(req wire.Request) {
	if !in.drainFor(req) {
		return
	}
	r := replyFor(req.ID, in.stopHook())
	r.Position, r.HasPosition = in.position()
	in.s.reply(in.id, r)
}

func (in *instance) closeJob(req wire.Request) {
	if !in.drainFor(req) {
		return
	}
	err := errors.Join(in.stopHook(), in.closeHook())
	// Forgotten before the answer, so the host may reuse the number at once.
	in.s.remove(in)
	in.s.reply(in.id, replyFor(req.ID, err))
}

// teardown stops and closes the instance as the plugin shuts down.
func (in *instance) teardown() {
	in.beginStop()
	if !in.waitDrained() || !in.opened {
		return
	}
	if err := errors.Join(in.stopHook(), in.closeHook()); err != nil {
		in.s.logf("plugctl runtime: instance %d: %v", in.id, err)
	}
}

// position is what the reply to STOP reports: the last position sent by a
// source, or written by a sink. Read only once the instance has drained.
func (in *instance) position() (uint64, bool) {
	if in.out != nil {
		return in.out.position()
	}
	return in.lastWritten, in.anyWritten
}

// plugin is the Source or Sink value, for its optional interfaces.
func (in *instance) plugin() any {
	if in.src != nil {
		return in.src
	}
	return in.snk
}

// stopHook calls Stopper.Stop once, after the instance has drained, having
// passed the last acknowledgement to an Acker.
func (in *instance) stopHook() error {
	in.hookMu.Lock()
	defer in.hookMu.Unlock()
	if !in.stopHooked {
		in.stopHooked = true
		in.stopErr = in.deliverAck()
		if st, ok := in.plugin().(Stopper); ok {
			in.stopErr = errors.Join(in.stopErr, st.Stop())
		}
	}
	return in.stopErr
}

// closeHook releases the instance once: acknowledgements that came after
// the stop, then io.Closer; for Run, waits (bounded) for Run to return.
func (in *instance) closeHook() error {
	in.hookMu.Lock()
	defer in.hookMu.Unlock()
	if in.closed {
		return nil
	}
	in.closed = true
	if in.em != nil {
		t := time.NewTimer(in.s.opts.ShutdownTimeout)
		defer t.Stop()
		select {
		case <-in.runDone:
			if cleanRunEnd(in.runErr) || in.endFailed {
				// A failure END already reported is not the release's.
				return nil
			}
			return fmt.Errorf("Run: %w", in.runErr)
		case <-t.C:
			return fmt.Errorf("Run did not return within %v of the stop", in.s.opts.ShutdownTimeout)
		}
	}
	err := in.deliverAck()
	if c, ok := in.plugin().(io.Closer); ok {
		err = errors.Join(err, c.Close())
	}
	return err
}

func notOpen(id uint32, instance uint16) wire.Reply {
	return wire.Reply{ID: id, Status: wire.StatusUnsupported, Message: fmt.Sprintf("instance %d is not open", instance)}
}

// writeJob is one WRITE, its body in a buffer of its own.
type writeJob struct {
	batch uint64
	ev    wire.Events
	buf   []byte
}

// writeQueue holds a sink instance's unanswered WRITEs, oldest first; the
// worker keeps a job queued until its RESULT is due, so the queue's length
// is what the host's window counts.
type writeQueue struct {
	mu   sync.Mutex
	jobs []writeJob
	free [][]byte // buffers of answered WRITEs, for reuse
	wake chan struct{}
}

// acceptWrite checks a WRITE body and queues it, taking the read loop's
// buffer that holds it: the next frame goes into a spare one. Read loop
// only.
func (in *instance) acceptWrite(body []byte) error {
	if len(body) < 8 {
		return fmt.Errorf("%w: WRITE body is %d bytes, too short for a batch id", wire.ErrMalformed, len(body))
	}
	q := &in.wq
	window := int(in.s.ack.Window)
	q.mu.Lock()
	if len(q.jobs) >= window {
		q.mu.Unlock()
		return protoError{wire.ErrCodeWindowExceeded, fmt.Errorf("WRITE for instance %d while %d WRITEs are unanswered; the window is %d", in.id, window, window)}
	}
	var spare []byte
	if n := len(q.free); n > 0 {
		spare = q.free[n-1]
		q.free = q.free[:n-1]
	}
	q.mu.Unlock()
	buf := in.s.fr.Swap(spare)
	ev, err := wire.ParseEvents(body[8:], in.s.kinds.names, wire.MsgWrite)
	if err != nil {
		return err
	}
	q.mu.Lock()
	q.jobs = append(q.jobs, writeJob{batch: binary.LittleEndian.Uint64(body), ev: ev, buf: buf})
	q.mu.Unlock()
	notify(q.wake)
	return nil
}

// consume runs a sink instance: its WRITEs, one at a time, in order. Once
// stopping it answers what was already received, then finishes.
func (in *instance) consume() {
	defer close(in.drained)
	q := &in.wq
	stopping := false
	for {
		q.mu.Lock()
		var j writeJob
		have := len(q.jobs) > 0
		if have {
			j = q.jobs[0]
		}
		q.mu.Unlock()
		if !have {
			if stopping {
				return
			}
			select {
			case <-q.wake:
			case <-in.stopCh:
				stopping = true
			case <-in.s.abort:
				return
			}
			continue
		}
		res := in.write(&j)
		q.mu.Lock()
		q.jobs = q.jobs[:copy(q.jobs, q.jobs[1:])]
		q.free = append(q.free, j.buf)
		q.mu.Unlock()
		if in.s.c.send(wire.MsgResult, in.id, &res) != nil {
			return
		}
	}
}

// write hands one batch to the Sink and maps its verdict to a RESULT, as
// Fluent Bit's FLB_OK, FLB_RETRY and FLB_ERROR.
func (in *instance) write(j *writeJob) wire.Result {
	r := wire.Result{Batch: j.batch}
	switch err := in.snk.Write(&j.ev); {
	case err == nil:
		// The highest position written, not the last batch's: a retried
		// batch written after later ones must not move it back (§6.6).
		if last := j.ev.Last(); !in.anyWritten || last > in.lastWritten {
			in.lastWritten = last
		}
		in.anyWritten = true
	case IsRetry(err):
		r.Status, r.Message = wire.WriteRetry, clip(err.Error())
	default:
		r.Status, r.Message = wire.WriteError, clip(err.Error())
	}
	return r
}
