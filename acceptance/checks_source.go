package acceptance

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/plugctl/plugctl/wire"
)

// Sizes and bounds of the source checks.
const (
	// Sources may tick slowly (a generated one, once a second), so the
	// checks wait for few events: three to see order across batches, two
	// to have one acknowledged and one not.
	readCount = 3
	// A check judging every event (positions, times, kinds) goes on
	// watching for observeWindow after readCount events, or until
	// observeMax came, so that a fault after the first few is seen too.
	observeWindow = 500 * time.Millisecond
	observeMax    = 20000
	fewEvents     = 2
	idleSlice     = 100 * time.Millisecond  // how long a source must be quiet before it is measured
	idleWindow    = 500 * time.Millisecond  // CPU a spinning thread gets while the source is measured
	idleWallMax   = 2 * time.Second         // the longest one measure takes on a loaded machine
	idleMaxCPU    = 0.20                    // of one core
	busyEvents    = 50                      // more than this per idleWindow of wall time: the source is busy
	endWindow     = 2 * time.Second         // how long source/end waits for END
	progWindow    = 1500 * time.Millisecond // for the first PROGRESS
	progWatch     = 2500 * time.Millisecond // from it, for the end of the stream
	longCount     = 1000                    // events that make a long stream
	longWindow    = time.Second
	dayDuration   = 24 * time.Hour
)

// readSource opens a source, acknowledging every batch, and waits for n
// events on instance 1.
func (t *checkRun) readSource(n int) (*proc, []wire.Event, error) {
	p, err := t.startOpen()
	if err != nil {
		return nil, nil, err
	}
	p.setAutoAck(1, true)
	evs, err := p.waitEvents(t.ctx, 1, n)
	if err != nil {
		return nil, nil, err
	}
	t.logf("read %d events, positions %d to %d", len(evs), evs[0].Position, evs[len(evs)-1].Position)
	if p.eventsBeforeReply(1) {
		return nil, nil, failf("OPEN's REPLY before the instance's first EVENTS (PROTOCOL.md §4.5.4)", "EVENTS of instance 1 before it")
	}
	return p, evs, nil
}

// eventsBeforeReply reports whether EVENTS of inst came before the first
// REPLY on inst, which in a new session is OPEN's: a host must know the
// instance is open before its events come.
func (p *proc) eventsBeforeReply(inst uint16) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, f := range p.log {
		if f.inst != inst {
			continue
		}
		switch f.typ {
		case wire.MsgReply:
			return false
		case wire.MsgEvents:
			return true
		}
	}
	return false
}

// checkSourceRead: under the reference host, an opened source delivers
// events, and STOP then drains it.
func checkSourceRead(t *checkRun) error {
	_, in, err := t.hostStart()
	if err != nil {
		return err
	}
	if _, err := in.wait(t, readCount); err != nil {
		return err
	}
	last, ok, err := in.source.Stop(t.ctx)
	if err != nil {
		return failf("STOP answered", "%v", err)
	}
	t.logf("read %d events or more; STOP at %d (%v)", readCount, last, ok)
	return nil
}

// observeSource reads a source as readSource does, then goes on for
// observeWindow or observeMax events, and returns every event it got.
func (t *checkRun) observeSource() ([]wire.Event, error) {
	p, evs, err := t.readSource(readCount)
	if err != nil {
		return nil, err
	}
	// The events got so far are judged whatever the watch ends with: an
	// exit meanwhile is source/read's to report.
	p.wait(t.ctx, observeWindow, "watching the stream", func() bool { return len(p.events[1]) >= observeMax })
	if more := p.eventsOn(1); len(more) > len(evs) {
		evs = more
	}
	t.logf("judged %d events", len(evs))
	return evs, nil
}

// checkSourcePositions: positions only grow, across batches too, so that
// a cumulative ack means what it says.
func checkSourcePositions(t *checkRun) error {
	evs, err := t.observeSource()
	if err != nil {
		return err
	}
	return increasing(evs)
}

func increasing(evs []wire.Event) error {
	for i := 1; i < len(evs); i++ {
		if evs[i].Position <= evs[i-1].Position {
			return failf("positions unique and increasing", "position %d after %d (event %d)", evs[i].Position, evs[i-1].Position, i+1)
		}
	}
	return nil
}

// checkSourceTimestamps: event times are set and plausible: nanoseconds
// since the Unix epoch, within a day of now.
func checkSourceTimestamps(t *checkRun) error {
	evs, err := t.observeSource()
	if err != nil {
		return err
	}
	now := time.Now()
	for _, e := range evs {
		at := time.Unix(0, e.Time)
		if e.Time == 0 || at.Sub(now).Abs() > dayDuration {
			return failf("event times within a day of now, in Unix nanoseconds", "event at position %d has time %d (%s)", e.Position, e.Time, at.UTC().Format(time.RFC3339))
		}
	}
	return nil
}

// checkSourceKinds: every event is of a declared kind.
func checkSourceKinds(t *checkRun) error {
	evs, err := t.observeSource()
	if err != nil {
		return err
	}
	for _, e := range evs {
		if !slices.ContainsFunc(t.env.spec.Events, func(k wire.EventKind) bool { return k.Name == e.Kind }) {
			return failf("event kinds declared in the spec", "event at position %d has kind %q", e.Position, e.Kind)
		}
	}
	return nil
}

// checkSourceResume: after a restart that resumes from the last ack,
// every event the host received but did not acknowledge comes again
// (at-least-once), and nothing acknowledged does.
func checkSourceResume(t *checkRun) error {
	c, err := t.config()
	if err != nil {
		return err
	}
	// Run 1: read, acknowledge the first event, then crash the session
	// (PROTOCOL.md §6.4). Not STOP: a host must keep acknowledging while a
	// STOP drains, and here events must stay unacknowledged.
	p, err := t.startOpen()
	if err != nil {
		return err
	}
	evs, err := p.waitEvents(t.ctx, 1, fewEvents)
	if err != nil {
		return err
	}
	acked := evs[0].Position
	if err := p.ack(1, acked); err != nil {
		return err
	}
	p.kill()
	var unacked []uint64
	for _, e := range p.eventsOn(1) {
		if e.Position > acked {
			unacked = append(unacked, e.Position)
		}
	}
	t.logf("run 1: acked %d, %d events unacknowledged", acked, len(unacked))

	// Run 2: resume from the ack.
	p, err = t.start(defaultHeartbeat)
	if err != nil {
		return err
	}
	if err := t.setup(p, c); err != nil {
		return err
	}
	if err := t.open(p, 1, c, &acked); err != nil {
		return err
	}
	p.setAutoAck(1, true)
	err = p.waitFor(t.ctx, "waiting for the unacknowledged events again", func() bool {
		evs := p.events[1]
		return len(evs) > 0 && (len(unacked) == 0 || evs[len(evs)-1].Position >= unacked[len(unacked)-1])
	})
	if err != nil {
		return err
	}
	evs2 := p.eventsOn(1)
	got := map[uint64]bool{}
	for _, e := range evs2 {
		got[e.Position] = true
	}
	if evs2[0].Position <= acked {
		return failf(fmt.Sprintf("first event after resuming from %d beyond it", acked), "position %d", evs2[0].Position)
	}
	var lost []uint64
	for _, pos := range unacked {
		if !got[pos] {
			lost = append(lost, pos)
		}
	}
	if len(lost) > 0 {
		return failf(fmt.Sprintf("every event sent but not acknowledged before the restart (%v) delivered again", unacked), "positions %v lost (run 2 began at %d)", lost, evs2[0].Position)
	}
	return nil
}

// checkSourceIdleCPU: a source with nothing to send waits instead of
// spinning. Its threads' CPU time (/proc schedstat) is compared with that
// of a thread of the check's own that spins meanwhile, until it has run
// idleWindow: both compete for the same cores, so other work on the
// machine, the other checks included, changes the ratio little; a loaded
// machine makes the measure take longer (up to idleWallMax), and one so
// loaded that the spinning thread gets too little to measure against
// skips the check. The measure starts once the source has gone quiet, and is
// taken again if it sent much meanwhile: that is work, not idling.
func checkSourceIdleCPU(t *checkRun) error {
	if err := needProcfs(); err != nil {
		return err
	}
	p, err := t.startOpen()
	if err != nil {
		return err
	}
	p.setAutoAck(1, true)
	for {
		if err := t.quiet(p); err != nil {
			return err
		}
		before, err := threadScheds(p.pid)
		if err != nil {
			return skipf("cannot read the plugin's scheduler statistics: %v", err)
		}
		n0, start := len(p.eventsOn(1)), time.Now()
		ref, err := spinFor(idleWindow, idleWallMax)
		if err != nil {
			return skipf("cannot read this process's scheduler statistics: %v", err)
		}
		threads, err := schedSince(p.pid, before)
		if err != nil {
			return fmt.Errorf("plugin exited while idle: %w", err)
		}
		if err := t.ctx.Err(); err != nil {
			return err
		}
		elapsed, n, used := time.Since(start), len(p.eventsOn(1))-n0, total(threads)
		t.logf("%d events in %s; the plugin's threads ran %s (and waited %s for a CPU) while a spinning thread ran %s",
			n, elapsed.Round(time.Millisecond), used.run.Round(time.Millisecond), used.wait.Round(time.Millisecond), ref.Round(time.Millisecond))
		if busy(n, elapsed) {
			continue
		}
		share := float64(used.run) / float64(ref)
		if share > idleMaxCPU && ref < idleWindow/2 && used.run < time.Duration(idleMaxCPU*float64(idleWindow)) {
			// The spinning thread got so little that an idle plugin's own
			// upkeep (heartbeats, the runtime's timers) weighs as much,
			// and the plugin used less than a full measure would allow.
			return skipf("the machine was too loaded to judge: a spinning thread ran only %s in %s, and the plugin's threads %s", ref.Round(time.Millisecond), elapsed.Round(time.Millisecond), used.run.Round(time.Millisecond))
		}
		if share > idleMaxCPU {
			return failf(fmt.Sprintf("under %.0f%% of a core while waiting for events", idleMaxCPU*100),
				"%.0f%% (its threads ran %s while a spinning thread ran %s, in %s; %d events)", share*100, used.run.Round(time.Millisecond), ref.Round(time.Millisecond), elapsed.Round(time.Millisecond), n)
		}
		return nil
	}
}

// busy reports whether n events in d show a source at work.
func busy(n int, d time.Duration) bool { return time.Duration(n)*idleWindow > busyEvents*d }

// quiet waits for a slice of time in which p's instance 1 sent few events:
// OPEN's own work and a first burst are not idling. A source still busy
// when too little of the check's time is left for a measure is never idle.
func (t *checkRun) quiet(p *proc) error {
	for {
		n0, start := len(p.eventsOn(1)), time.Now()
		if err := t.sleep(idleSlice); err != nil {
			return err
		}
		n, d := len(p.eventsOn(1))-n0, time.Since(start)
		if !busy(n, d) {
			return nil
		}
		if dl, ok := t.ctx.Deadline(); ok && time.Until(dl) < idleWallMax+idleSlice {
			return skipf("the source still sent %d events in %s with too little of the check's time left to measure it idle, so it is never idle here", n, d.Round(time.Millisecond))
		}
	}
}

// awaitEnd acknowledges instance 1's events as they come and waits for
// its END; a source that does not end within endWindow skips the check.
func (t *checkRun) awaitEnd(p *proc) error {
	p.setAutoAck(1, true)
	if err := p.wait(t.ctx, endWindow, "waiting for END", func() bool { return p.find(0, isEnd(1)) >= 0 }); err != nil {
		if p.broken() {
			return err
		}
		return skipf("no END within %s: the source did not finish", endWindow)
	}
	return nil
}

// checkSourceEnd: a source that finishes says so with END naming its last
// position (and, from protocol version 3 on, the status finished), sends
// nothing more, and still answers STOP and CLOSE. The raw host decodes
// END by the version it chose, so an END of another version's layout
// breaks the stream.
func checkSourceEnd(t *checkRun) error {
	p, err := t.startOpen()
	if err != nil {
		return err
	}
	if err := t.awaitEnd(p); err != nil {
		return err
	}
	evs := p.eventsOn(1)
	var replies []*wire.Reply
	for _, req := range []wire.MsgType{wire.MsgStop, wire.MsgClose} {
		var r *wire.Reply
		err := t.promptly(p, req.String()+" answered after END", func() (err error) {
			r, err = p.request(t.ctx, req, 1, wire.Request{})
			return err
		})
		var f *failure
		if errors.As(err, &f) {
			return err
		}
		if err != nil {
			return failf(req.String()+" answered after END", "%v", err)
		}
		t.logf("%s after END: %s", req, describeReply(r))
		replies = append(replies, r)
	}
	p.mu.Lock()
	at := p.find(0, isEnd(1))
	end := p.log[at].msg.(*wire.End)
	after := p.find(at, func(f frame) bool {
		return (f.typ == wire.MsgEvents || f.typ == wire.MsgProgress) && f.inst == 1
	})
	p.mu.Unlock()
	stop, closed := replies[0], replies[1]
	switch {
	case after >= 0:
		return failf("no EVENTS or PROGRESS after END", "%s on instance 1 after END", p.frames()[after].typ)
	case len(evs) == 0 && end.HasPosition:
		return failf("END without a position (no event was sent)", "END at position %d", end.Position)
	case len(evs) > 0 && (!end.HasPosition || end.Position != evs[len(evs)-1].Position):
		return failf(fmt.Sprintf("END naming the last event's position %d", evs[len(evs)-1].Position), "%s", describeEnd(end))
	case end.Status != wire.EndFinished || end.Message != "":
		return failf("END status finished, with no message, from a source that ran to its end", "END status %s %q", end.Status, end.Message)
	case stop.Status != wire.StatusOK || stop.HasPosition != end.HasPosition || stop.Position != end.Position:
		return failf("STOP after END answered ok with END's position", "REPLY %s", describeReply(stop))
	case closed.Status != wire.StatusOK:
		return failf("CLOSE after END answered ok", "REPLY %s", describeReply(closed))
	}
	return nil
}

// checkSourceEndVersion1: a plugin that offers a version whose END has a
// status still speaks version 1 when a host picks it, as hosts built
// before version 3 do: its END then has version 1's layout, without the
// status, which the raw host decodes by the version it chose.
func checkSourceEndVersion1(t *checkRun) error {
	c, err := t.config()
	if err != nil {
		return err
	}
	p, _, err := t.launch()
	if err != nil {
		return err
	}
	h, err := p.hello(t.ctx)
	if err != nil {
		return err
	}
	if wire.NewestVersion(h.Versions) < wire.EndStatusVersion {
		return skipf("the plugin offers protocol versions %v, none with END's status: source/end covers its END", h.Versions)
	}
	if err := p.accept(defaultHeartbeat, 1); err != nil {
		return err
	}
	t.logf("HELLO offers versions %v; HELLO_ACK chose version 1", h.Versions)
	if err := t.setup(p, c); err != nil {
		return err
	}
	if err := t.open(p, 1, c, nil); err != nil {
		return err
	}
	return t.awaitEnd(p)
}

// checkSourceProgress: PROGRESS, when a source reports it, is a
// percentage from 0 to 100 in every report over the whole stream, not
// only the first (the raw host's decoder refuses one outside, which
// breaks the stream); and a report of 100 declares the end of the
// stream: END follows within endWindow.
func checkSourceProgress(t *checkRun) error {
	p, err := t.startOpen()
	if err != nil {
		return err
	}
	p.setAutoAck(1, true)
	isProgress := func(f frame) bool { return f.typ == wire.MsgProgress && f.inst == 1 }
	err = p.wait(t.ctx, progWindow, "waiting for PROGRESS", func() bool { return p.find(0, isProgress) >= 0 })
	if err != nil && !p.broken() {
		return skipf("no PROGRESS within %s: the source does not report progress", progWindow)
	}
	if err == nil {
		p.wait(t.ctx, progWatch, "watching PROGRESS until END", func() bool { return p.find(0, isEnd(1)) >= 0 })
	}
	p.mu.Lock()
	broken := p.readErr != nil
	stream := p.streamError()
	var reports []frame
	for _, f := range p.log {
		if isProgress(f) {
			reports = append(reports, f)
		}
	}
	at100 := slices.IndexFunc(reports, func(f frame) bool { return f.msg.(*wire.Progress).Percent == 100 })
	p.mu.Unlock()
	t.logf("%d PROGRESS reports watched", len(reports))
	if broken {
		return failf("every PROGRESS over the whole stream within 0 to 100", "%v", stream)
	}
	if at100 < 0 {
		return nil
	}
	declared := reports[at100].at
	err = p.wait(t.ctx, time.Until(declared.Add(endWindow)), "waiting for END", func() bool {
		i := p.find(0, isEnd(1))
		return i >= 0 && !p.log[i].at.After(declared.Add(endWindow))
	})
	if expected := fmt.Sprintf("END within %s of PROGRESS at 100%%, which declares the end of the stream", endWindow); err != nil {
		if p.broken() {
			return failf(expected, "%v", err)
		}
		return failf(expected, "no END %s after it", endWindow)
	}
	return nil
}

// checkSourceStopDrain: STOP's REPLY names the last position sent, every
// event up to it arrives before the REPLY, and none after it.
func checkSourceStopDrain(t *checkRun) error {
	p, _, err := t.readSource(fewEvents)
	if err != nil {
		return err
	}
	r, err := p.request(t.ctx, wire.MsgStop, 1, wire.Request{})
	if err != nil {
		return err
	}
	if r.Status != wire.StatusOK || !r.HasPosition {
		return failf("STOP answered ok with the last position", "REPLY %s", describeReply(r))
	}
	if _, err := p.request(t.ctx, wire.MsgClose, 1, wire.Request{}); err != nil {
		return err
	}
	before, after := p.split(1, r)
	lastBefore := before[len(before)-1].Position
	t.logf("STOP: %s; last event before it %d; %d events after", describeReply(r), lastBefore, len(after))
	switch {
	case len(after) > 0:
		return failf(fmt.Sprintf("no events after STOP's REPLY (position %d)", r.Position), "%d events after it, positions %d to %d", len(after), after[0].Position, after[len(after)-1].Position)
	case lastBefore != r.Position:
		return failf(fmt.Sprintf("every event up to STOP's position %d before the REPLY, none beyond", r.Position), "last event before the REPLY at %d", lastBefore)
	}
	return nil
}

// checkSourceLongStream: many events, as a source emitting from many
// goroutines at once produces them, all arrive in whole frames (the reader
// decodes every frame), and their payloads stay whole: if the first is
// JSON, every one is.
func checkSourceLongStream(t *checkRun) error {
	p, err := t.startOpen()
	if err != nil {
		return err
	}
	p.setAutoAck(1, true)
	err = p.wait(t.ctx, longWindow, "waiting for a long stream", func() bool { return len(p.events[1]) >= longCount })
	evs := p.eventsOn(1)
	if err != nil {
		if p.broken() {
			return err
		}
		return skipf("the source sent %d events in %s; a stream of %d is needed", len(evs), longWindow, longCount)
	}
	if json.Valid(evs[0].Payload) {
		for _, e := range evs {
			if !json.Valid(e.Payload) {
				return failf("every payload whole (valid JSON, as the first)", "payload at position %d: %q", e.Position, e.Payload)
			}
		}
	}
	return increasing(evs)
}

// describeEnd renders an END for reports.
func describeEnd(e *wire.End) string {
	s := "END without a position"
	if e.HasPosition {
		s = fmt.Sprintf("END at position %d", e.Position)
	}
	return s + ", status " + e.Status.String()
}
