package acceptance

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/plugctl/plugctl/wire"
)

// Sizes and bounds of the sink checks.
const (
	writeBatches  = 5   // batches sink/write and sink/stop-flush send
	batchEvents   = 2   // events per batch
	retryAttempts = 5   // a host's bound on resending a batch answered retry
	retryBatches  = 128 // sink/retry's bound on batches sent waiting for a retry
	retryBackoff  = 10 * time.Millisecond
)

// batch is one WRITE: its id and encoded body.
type batch struct {
	id    uint64
	first uint64 // position of its first event
	body  []byte
}

// sampleEvents returns batchEvents events from position first, cycling
// through the plugin's event kinds, with payloads that fill every declared
// field as PROTOCOL.md §4.7 encodes them.
func (t *checkRun) sampleEvents(h *wire.Hello, first uint64) ([]wire.Event, error) {
	if len(h.EventKinds) == 0 {
		return nil, skipf("the plugin declares no event kind, so no event can be written to it")
	}
	evs := make([]wire.Event, batchEvents)
	for i := range evs {
		pos := first + uint64(i)
		kind := h.EventKinds[int(pos)%len(h.EventKinds)]
		evs[i] = wire.Event{Position: pos, Time: time.Now().UnixNano(), Kind: kind, Payload: t.samplePayload(kind, pos)}
	}
	return evs, nil
}

// makeBatch builds the WRITE for batch id with the sample events from
// position first.
func (t *checkRun) makeBatch(h *wire.Hello, id, first uint64) (batch, error) {
	evs, err := t.sampleEvents(h, first)
	if err != nil {
		return batch{}, err
	}
	body := binary.LittleEndian.AppendUint64(nil, id)
	body = binary.LittleEndian.AppendUint32(body, uint32(len(evs)))
	for _, e := range evs {
		body = wire.AppendEvent(body, e.Position, e.Time, uint16(slices.Index(h.EventKinds, e.Kind)), e.Payload, nil)
	}
	return batch{id: id, first: first, body: body}, nil
}

// samplePayload is a JSON object with a value for each field of kind.
func (t *checkRun) samplePayload(kind string, n uint64) []byte {
	m := map[string]any{}
	for _, k := range t.env.spec.Events {
		if k.Name != kind {
			continue
		}
		for _, f := range k.Fields {
			switch f.Type {
			case "int":
				m[f.Name] = n
			case "float":
				m[f.Name] = float64(n) + 0.5
			case "bool":
				m[f.Name] = n%2 == 0
			case "time":
				m[f.Name] = time.Now().UTC()
			case "duration":
				m[f.Name] = (time.Duration(n) * time.Second).String()
			case "bytes":
				m[f.Name] = []byte("plugctl")
			case "strings":
				m[f.Name] = []string{"plugctl", "acceptance"}
			default:
				m[f.Name] = fmt.Sprintf("plugctl acceptance %d", n)
			}
		}
	}
	b, _ := json.Marshal(m)
	return b
}

// writeOnce sends b and waits for the RESULT with its batch id.
func (p *proc) writeOnce(t *checkRun, inst uint16, b batch) (*wire.Result, frame, error) {
	p.mu.Lock()
	mark := len(p.log)
	p.mu.Unlock()
	if err := p.send(wire.MsgWrite, inst, b.body); err != nil {
		return nil, frame{}, err
	}
	var f frame
	err := p.waitFor(t.ctx, fmt.Sprintf("waiting for the RESULT of WRITE batch %d", b.id), func() bool {
		i := p.find(mark, func(f frame) bool {
			r, ok := f.msg.(*wire.Result)
			return ok && r.Batch == b.id
		})
		if i >= 0 {
			f = p.log[i]
		}
		return i >= 0
	})
	if err != nil {
		return nil, f, err
	}
	return f.msg.(*wire.Result), f, nil
}

// write sends b until the sink answers other than retry, as a host does,
// at most retryAttempts times, and expects ok. It reports whether the sink
// asked for a retry.
func (p *proc) write(t *checkRun, inst uint16, b batch) (retried bool, err error) {
	for attempt := 1; ; attempt++ {
		r, _, err := p.writeOnce(t, inst, b)
		if err != nil {
			return retried, err
		}
		t.logf("WRITE batch %d attempt %d: RESULT %s %s", b.id, attempt, r.Status, r.Message)
		switch {
		case r.Status == wire.WriteOK:
			return retried, nil
		case r.Status != wire.WriteRetry:
			return retried, failf(fmt.Sprintf("RESULT ok for WRITE batch %d", b.id), "RESULT %s %q", r.Status, r.Message)
		case attempt == retryAttempts:
			return retried, failf(fmt.Sprintf("RESULT ok for WRITE batch %d within %d attempts", b.id, retryAttempts), "still retry after %d attempts: %q", attempt, r.Message)
		}
		retried = true
		if err := t.sleep(retryBackoff << attempt); err != nil {
			return retried, err
		}
	}
}

// startSink starts a sink with instance 1 open, and its HELLO.
func (t *checkRun) startSink() (*proc, *wire.Hello, error) {
	p, err := t.startOpen()
	if err != nil {
		return nil, nil, err
	}
	h, err := p.hello(t.ctx)
	return p, h, err
}

// checkSinkWrite: under the reference host, which retries what the sink
// asks it to, every batch is written (RESULT ok), and STOP then reports
// the last position.
func checkSinkWrite(t *checkRun) error {
	p, in, err := t.hostStart()
	if err != nil {
		return err
	}
	h := p.Hello()
	var last uint64
	for i := range uint64(writeBatches) {
		evs, err := t.sampleEvents(&h, 1+i*batchEvents)
		if err != nil {
			return err
		}
		if err := in.sink.Write(t.ctx, evs); err != nil {
			return failf(fmt.Sprintf("RESULT ok for the batch of positions %d to %d", evs[0].Position, evs[len(evs)-1].Position), "%v", err)
		}
		last = evs[len(evs)-1].Position
	}
	got, ok, err := in.sink.Stop(t.ctx)
	if err != nil || !ok || got != last {
		return failf(fmt.Sprintf("STOP answered ok with the last position %d", last), "position %d (has position %v), %v", got, ok, err)
	}
	t.logf("wrote %d batches; STOP reports position %d", writeBatches, got)
	return nil
}

// checkSinkRetry: a batch answered retry is written when sent again; and
// because a host resends a batch whose RESULT it never saw, a batch sent
// twice is answered twice. Batches go one after another, each resent
// while the sink asks, until the sink has asked for a retry once or
// retryBatches were written; a sink that never asks in that many is
// skipped, since only the second half can be observed.
func checkSinkRetry(t *checkRun) error {
	p, h, err := t.startSink()
	if err != nil {
		return err
	}
	var b batch
	retried := false
	n := uint64(0)
	for ; n < retryBatches && !retried; n++ {
		if b, err = t.makeBatch(h, n+1, 1+n*batchEvents); err != nil {
			return err
		}
		if retried, err = p.write(t, 1, b); err != nil {
			return err
		}
	}
	t.logf("%d batches written; the sink asked for a retry: %v", n, retried)
	var r *wire.Result
	if err := t.promptly(p, "a RESULT for a WRITE batch sent again", func() (err error) {
		r, _, err = p.writeOnce(t, 1, b)
		return err
	}); err != nil {
		return err
	}
	t.logf("WRITE batch %d again: RESULT %s", b.id, r.Status)
	if r.Status == wire.WriteError {
		return failf("RESULT ok or retry for a WRITE batch sent again", "RESULT %s %q", r.Status, r.Message)
	}
	if !retried {
		return skipf("the sink answered none of %d batches (%d events) with retry, so retrying could not be observed; a batch sent twice was answered twice", n, n*batchEvents)
	}
	return nil
}

// checkSinkStopFlush: STOP flushes: sent right behind a run of WRITEs, all
// reaching the sink together (it is held meanwhile), so that they wait in
// its queue when STOP comes, STOP's REPLY comes after the RESULT of every
// one (an instance's frames are handled in order) and names the last
// position of a batch written ok.
func checkSinkStopFlush(t *checkRun) error {
	p, h, err := t.startSink()
	if err != nil {
		return err
	}
	var batches []batch
	var frames []byte
	for i := range uint64(writeBatches) {
		b, err := t.makeBatch(h, i+1, 1+i*batchEvents)
		if err != nil {
			return err
		}
		frames = append(frames, frameOf(wire.MsgWrite, 1, b.body)...)
		batches = append(batches, b)
	}
	id := p.nextID.Add(1)
	frames = append(frames, frameOf(wire.MsgStop, 1, (&wire.Request{ID: id}).AppendTo(nil, wire.MsgStop))...)
	release := hold(p)
	err = p.sendRaw(frames)
	release()
	if err != nil {
		return err
	}
	r, err := p.awaitReply(t.ctx, wire.MsgStop, id)
	if err != nil {
		return err
	}
	t.logf("sent %d WRITEs then STOP, together: %s", len(batches), describeReply(r))
	p.mu.Lock()
	defer p.mu.Unlock()
	at := p.find(0, func(f frame) bool { return f.msg == any(r) })
	var written uint64
	for _, b := range batches {
		res := result(p.log[:at], b.id)
		if res == nil {
			return failf("the RESULT of every WRITE before STOP's REPLY", "no RESULT for batch %d before the REPLY", b.id)
		}
		if res.Status == wire.WriteOK {
			written = max(written, b.first+batchEvents-1)
		}
	}
	if r.Status != wire.StatusOK || r.HasPosition != (written > 0) || r.Position != written {
		return failf(fmt.Sprintf("STOP answered ok with the last written position %d", written), "REPLY %s", describeReply(r))
	}
	return nil
}

// result finds the RESULT of batch id in log.
func result(log []frame, id uint64) *wire.Result {
	for _, f := range log {
		if m, ok := f.msg.(*wire.Result); ok && m.Batch == id {
			return m
		}
	}
	return nil
}
