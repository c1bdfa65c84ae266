package acceptance

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/plugctl/plugctl/wire"
)

// Bounds of the flow-control checks.
const (
	flowWindow = 2                       // the window they offer: small, so that it fills
	fillWait   = 2500 * time.Millisecond // for the window to fill without acknowledgements
	holdMin    = 200 * time.Millisecond  // the shortest time acknowledgements are held back
	holdMax    = 1500 * time.Millisecond // the longest
	ackPause   = 20 * time.Millisecond   // source/slow-acks: between two acknowledgements
	slowWatch  = time.Second             // source/slow-acks: how long the stream is watched
)

// emitterParams name an int parameter that sets how many goroutines or
// threads emit at once; source/slow-acks raises the first it finds.
var emitterParams = []string{"emitters", "workers", "goroutines", "threads", "concurrency", "parallelism"}

// maxEmitters is the most emitters source/slow-acks asks for.
const maxEmitters = 16

// startFlow starts a source whose HELLO_ACK offers window, configures it
// (with c) and opens instance 1, acknowledging nothing.
func (t *checkRun) startFlow(c config, window uint32) (*proc, error) {
	p, _, err := t.launch()
	if err != nil {
		return nil, err
	}
	if _, err := p.handshakeLimits(t.ctx, defaultHeartbeat, window, checkMaxFrame); err != nil {
		return nil, err
	}
	t.logf("handshake done, window %d", window)
	if err := t.setup(p, c); err != nil {
		return nil, err
	}
	return p, t.open(p, 1, c, nil)
}

// fill waits, acknowledging nothing, until the window of instance 1 is
// full, and returns how long to hold acknowledgements back from then on:
// twice the time the source took per batch, so that a source that would
// send one batch more has had the time to. A source that does not fill
// it skips.
func (t *checkRun) fill(p *proc) (time.Duration, error) {
	w := int(p.window.Load())
	start := time.Now()
	err := p.wait(t.ctx, fillWait, "waiting for the window to fill", func() bool {
		return len(p.batches[1]) >= w || p.find(0, isEnd(1)) >= 0
	})
	if p.broken() {
		return 0, err
	}
	p.mu.Lock()
	n := len(p.batches[1])
	var arrived []time.Time
	for _, f := range p.log {
		if f.typ == wire.MsgEvents && f.inst == 1 {
			arrived = append(arrived, f.at)
		}
	}
	ended := p.find(0, isEnd(1)) >= 0
	p.mu.Unlock()
	switch {
	case n < w && ended:
		return 0, skipf("the source ended after %d batches, before its window of %d was full", n, w)
	case n < w:
		return 0, skipf("the source sent %d batches in %s; a window of %d must fill to be observed", n, fillWait, w)
	}
	per := arrived[0].Sub(start)
	if n > 1 {
		per = arrived[n-1].Sub(arrived[0]) / time.Duration(n-1)
	}
	hold := min(max(2*per, holdMin), holdMax)
	t.logf("window of %d full (%d batches, %s apart on average); holding acknowledgements back for %s", w, n, per.Round(time.Millisecond), hold.Round(time.Millisecond))
	return hold, nil
}

func isEnd(inst uint16) func(frame) bool {
	return func(f frame) bool { return f.typ == wire.MsgEnd && f.inst == inst }
}

// overWindowErr fails when a batch of instance 1 came beyond the window.
func (p *proc) overWindowErr(when string) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if over := p.overWindow[1]; over != "" {
		return failf(fmt.Sprintf("at most %d unacknowledged batches %s (the source waits for an ACK at the window)", p.window.Load(), when), "%s", over)
	}
	return nil
}

// stopDrained sends STOP for instance 1, acknowledging every batch, and
// requires its REPLY within the allowance, ok, naming the last event
// received before it, with none after it, and positions that lost nothing:
// increasing, and, if they were consecutive up to from, consecutive on.
func (t *checkRun) stopDrained(p *proc, what string, from int) error {
	return t.drained(p, what, from, p.nextID.Add(1), true)
}

// drained acknowledges every batch and judges the drain of STOP request
// id as stopDrained says; send says whether to send it first.
func (t *checkRun) drained(p *proc, what string, from int, id uint32, send bool) error {
	p.setAutoAck(1, true)
	if send {
		if err := p.send(wire.MsgStop, 1, (&wire.Request{ID: id}).AppendTo(nil, wire.MsgStop)); err != nil {
			return err
		}
	}
	ctx, cancel := context.WithTimeout(t.ctx, p.allowance())
	defer cancel()
	r, err := p.awaitReply(ctx, wire.MsgStop, id)
	if err != nil {
		return failf("STOP answered "+what, "%v", describeFailure(p, err))
	}
	before, after := p.split(1, r)
	t.logf("STOP %s: %s; %d events before it, %d after", what, describeReply(r), len(before), len(after))
	var last uint64
	if len(before) > 0 {
		last = before[len(before)-1].Position
	}
	switch {
	case r.Status != wire.StatusOK:
		return failf("STOP answered ok "+what, "REPLY %s", describeReply(r))
	case len(after) > 0:
		return failf(fmt.Sprintf("no events after STOP's REPLY %s", what), "%d after it, from position %d", len(after), after[0].Position)
	case r.HasPosition != (len(before) > 0) || r.Position != last:
		return failf(fmt.Sprintf("STOP's REPLY %s naming the last event received, %d", what, last), "REPLY %s", describeReply(r))
	}
	if err := increasing(before); err != nil {
		return err
	}
	return lostNothing(before, from, what)
}

// lostNothing: when the positions of evs[:from] are consecutive, so are
// the rest. (A source may leave gaps of its own; then a lost event
// cannot be told from one.)
func lostNothing(evs []wire.Event, from int, what string) error {
	from = min(from, len(evs))
	for i := 1; i < from; i++ {
		if evs[i].Position != evs[i-1].Position+1 {
			return nil
		}
	}
	for i := max(from, 1); i < len(evs); i++ {
		if evs[i].Position != evs[i-1].Position+1 {
			return failf(fmt.Sprintf("no event lost %s: positions consecutive, as they were before", what), "position %d follows %d", evs[i].Position, evs[i-1].Position)
		}
	}
	return nil
}

// fullWindow opens a source with the valid configuration, acknowledges
// nothing until its window is full, and then for hold more, the time it
// had to make its next batch.
func (t *checkRun) fullWindow() (p *proc, hold time.Duration, err error) {
	c, err := t.config()
	if err != nil {
		return nil, 0, err
	}
	if p, err = t.startFlow(c, flowWindow); err != nil {
		return nil, 0, err
	}
	if hold, err = t.fill(p); err != nil {
		return nil, 0, err
	}
	return p, hold, t.sleep(hold)
}

// checkSourceWindow: held back from acknowledgements, a source stops
// sending once its window is full; once they resume, it goes on from
// where it stopped, losing nothing, and drains on STOP.
func checkSourceWindow(t *checkRun) error {
	p, hold, err := t.fullWindow()
	if err != nil {
		return err
	}
	if err := p.overWindowErr("while no ACK came"); err != nil {
		return err
	}
	held, n := len(p.eventsOn(1)), p.batchCount()
	p.setAutoAck(1, true)
	// A steady source has had its next batch ready for a while, waiting
	// for room: it comes soon after the acknowledgements, or END.
	quiet := max(2*hold, time.Second)
	err = p.wait(t.ctx, quiet, "waiting for the next batch", func() bool {
		return len(p.batches[1]) > n || p.find(0, isEnd(1)) >= 0
	})
	switch {
	case err == nil:
	case p.broken() || t.ctx.Err() != nil:
		return err
	default:
		return t.stalledAtWindow(quiet)
	}
	t.logf("acknowledgements resumed: %d events then, %d now", held, len(p.eventsOn(1)))
	if err := p.overWindowErr("after acknowledgements resumed"); err != nil {
		return err
	}
	return t.stopDrained(p, "after acknowledgements were held back", held)
}

// stalledAtWindow tells a source that stops at its window however ACKs
// come from one that paused once its window was full (it may have had no
// more to send): it runs the source again with a window one larger and
// every batch acknowledged at once. A source stalled by its window sends
// exactly that window again and nothing more; one that paused sends what
// it has, as many batches as before, or goes on.
func (t *checkRun) stalledAtWindow(quiet time.Duration) error {
	c, err := t.config()
	if err != nil {
		return err
	}
	const w = flowWindow + 1
	p, err := t.startFlow(c, w)
	if err != nil {
		return err
	}
	p.setAutoAck(1, true)
	err = p.wait(t.ctx, fillWait+quiet, "watching the stream with every batch acknowledged", func() bool {
		return len(p.batches[1]) > w || p.find(0, isEnd(1)) >= 0
	})
	switch n := p.batchCount(); {
	case p.broken() || t.ctx.Err() != nil:
		return err
	case err == nil:
		return skipf("nothing came for %s once the held acknowledgements came, though in a second session, every batch acknowledged, the source went past its window: it paused, as a source may", quiet.Round(time.Millisecond))
	case n == w:
		return failf("a source goes on once ACKs free room in its window (PROTOCOL.md §6.3)",
			"it stopped at its window twice, acknowledged: after %d batches with a window of %d (nothing for %s after the ACKs), and after %d with a window of %d (every batch acknowledged)",
			flowWindow, flowWindow, quiet.Round(time.Millisecond), w, w)
	default:
		return skipf("nothing came for %s once the held acknowledgements came, and in a second session, every batch acknowledged, the source sent %d batches and paused: it has little to send here", quiet.Round(time.Millisecond), n)
	}
}

// batchCount is how many batches instance 1 sent so far.
func (p *proc) batchCount() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.batches[1])
}

// checkSourceStopFullWindow: STOP while the window is full (the source
// has had the time to make its next batch, and waits for room for it)
// drains: the source sends no more than the window allows until the
// acknowledgements come, then sends what it had made, and STOP's REPLY
// names the last event sent.
func checkSourceStopFullWindow(t *checkRun) error {
	p, _, err := t.fullWindow()
	if err != nil {
		return err
	}
	held := len(p.eventsOn(1))
	id := p.nextID.Add(1)
	if err := p.send(wire.MsgStop, 1, (&wire.Request{ID: id}).AppendTo(nil, wire.MsgStop)); err != nil {
		return err
	}
	// The host must go on acknowledging during a drain (PROTOCOL.md §6.5),
	// but not at once: a source must not send past its window meanwhile.
	if err := t.sleep(holdMin); err != nil {
		return err
	}
	if err := p.overWindowErr("after STOP, before any ACK"); err != nil {
		return err
	}
	t.logf("STOP sent with the window full (%d events), then %s without acknowledgements", held, holdMin)
	return t.drained(p, "sent while the window was full", held, id, false)
}

// checkSourceSlowAcks: a host that acknowledges slowly, one batch at a
// time after a pause and sometimes at a position inside a batch (which
// leaves that batch unacknowledged), gets every event in order, never
// more batches in flight than the window, from a plugin emitting with as
// many goroutines as its parameters let it have; and STOP drains it.
func checkSourceSlowAcks(t *checkRun) error {
	c, err := t.config()
	if err != nil {
		return err
	}
	if name, v, ok := t.raiseEmitters(c); ok {
		t.logf("%s set to %s, for many emitters at once", name, v)
	}
	p, err := t.startFlow(c, flowWindow)
	if err != nil {
		return err
	}
	done := make(chan struct{})
	acker := make(chan struct{})
	go func() {
		defer close(acker)
		p.slowAcks(done)
	}()
	watch := t.sleep(slowWatch)
	close(done)
	<-acker
	if watch != nil {
		return watch
	}
	n := p.batchCount()
	t.logf("%d batches in %s, acknowledged one at a time every %s", n, slowWatch, ackPause)
	if err := p.overWindowErr("under slow acknowledgements"); err != nil {
		return err
	}
	if n <= flowWindow {
		return skipf("the source sent %d batches in %s; with a window of %d, too few to see it wait for acknowledgements", n, slowWatch, flowWindow)
	}
	return t.stopDrained(p, "under slow acknowledgements", len(p.eventsOn(1)))
}

// slowAcks acknowledges instance 1 one step at a time, every ackPause,
// until done: the first position of the oldest unacknowledged batch when
// it holds several events (the batch stays unacknowledged), else its last.
func (p *proc) slowAcks(done <-chan struct{}) {
	tk := time.NewTicker(ackPause)
	defer tk.Stop()
	inside := false
	for {
		select {
		case <-done:
			return
		case <-tk.C:
		}
		p.mu.Lock()
		i, b := p.oldestUnacked(1), p.batches[1]
		var pos uint64
		if i < len(b) {
			s := b[i]
			inside = !inside && s.first < s.last
			pos = s.last
			if inside {
				pos = s.first
			}
		}
		p.mu.Unlock()
		if pos > 0 {
			p.ack(1, pos)
		}
	}
}

// raiseEmitters sets the first int parameter named as one of
// emitterParams to the most emitters its rules allow, up to maxEmitters.
func (t *checkRun) raiseEmitters(c config) (name, value string, ok bool) {
	for _, sc := range []struct {
		params []wire.Param
		into   map[string]string
	}{{t.env.spec.Global, c.global}, {t.env.spec.Params, c.instance}} {
		for _, p := range sc.params {
			base := p.Name[strings.LastIndexByte(p.Name, '.')+1:]
			if p.Type != "int" || !slices.Contains(emitterParams, base) || t.env.opts.Settings[p.Name] != "" {
				continue
			}
			rules, err := wire.ParseRules(p)
			if err != nil {
				continue
			}
			for n := maxEmitters; n > 1; n-- {
				if broken, ok := rules.Check(strconv.Itoa(n)); ok && len(broken) == 0 {
					sc.into[p.Name] = strconv.Itoa(n)
					return p.Name, sc.into[p.Name], true
				}
			}
		}
	}
	return "", "", false
}
