package acceptance

import (
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/plugctl/plugctl/wire"
)

// Bounds of the lifecycle checks.
const (
	hbInterval = 100 * time.Millisecond // offered by lifecycle/heartbeat
	hbWindow   = time.Second            // how long heartbeats are watched
	// hbMaxGap is the longest gap between frames PROTOCOL.md §6.8 allows.
	hbMaxGap    = 2 * hbInterval
	hbRounds    = 3                      // most windows watched while load keeps the verdict open
	childGrace  = 200 * time.Millisecond // for children to go after the plugin exits
	drainStdout = time.Second            // for standard output to end after exit
)

// checkHeartbeat: an idle plugin sends HEARTBEAT at the interval the host
// chose, so the host can tell a quiet plugin from a hung one. Any frame
// counts, as the protocol lets a side skip a heartbeat after another frame.
//
// A loaded machine is not the plugin's fault, so each gap allowed grows by
// what load delayed, measured during the watch: how late a ticker of the
// check's own, at the same interval, ran (this process's scheduling), and
// how long the plugin's threads together waited for a CPU around that gap
// (/proc schedstat, sampled at every tick; unknown elsewhere). The beats
// required are 70% of the check's own ticks, less the intervals the
// plugin spent waiting. The more load delayed, the longer the watch, so
// that a plugin sending nothing still shows a gap well beyond the one
// allowed.
func checkHeartbeat(t *checkRun) error {
	p, err := t.start(hbInterval)
	if err != nil {
		return err
	}
	// The watch starts at the first frame after HELLO: what comes before
	// is the end of the plugin's start-up, which load slows however it
	// is written.
	if err := t.promptly(p, "a HEARTBEAT after the handshake", func() error {
		return p.waitFor(t.ctx, "waiting for the first HEARTBEAT", func() bool { return len(p.log) > 1 })
	}); err != nil {
		return err
	}
	w := &waitLog{pid: p.pid}
	from := p.frames()[1].at
	if err := w.sample(from); err != nil {
		t.logf("no CPU waits of the plugin to allow for: %v", err)
	}
	// An idle plugin that exits has failed, unless the check's own
	// heartbeats came so late under load that it rightly gave up on it.
	exited := func() error {
		if gap := p.hostSilence(); gap >= 2*hbInterval {
			return skipf("the machine was too loaded to judge heartbeats: the check's own heartbeats came %s apart, and the plugin gave up on it", gap.Round(time.Millisecond))
		}
		return failf("HEARTBEAT every interval the host chose", "the plugin exited while idle: %s", p.cmd.ProcessState)
	}
	tk := time.NewTicker(hbInterval)
	defer tk.Stop()
	var ticks []time.Time
	for round := 1; ; round++ {
		end := time.After(hbWindow)
	watch:
		for {
			select {
			case <-tk.C:
				at := time.Now()
				ticks = append(ticks, at)
				w.sample(at)
			case <-end:
				break watch
			case <-p.exited:
				return exited()
			case <-t.ctx.Done():
				return t.ctx.Err()
			}
		}
		select {
		case <-p.exited: // during the window, though the window's end came first
			return exited()
		default:
		}
		to := time.Now()
		w.sample(to)
		var beats []time.Time // any frame counts, but an idle plugin sends only heartbeats
		for _, f := range p.frames() {
			if f.at.After(from) && f.at.Before(to) {
				beats = append(beats, f.at)
			}
		}
		watched, starved := to.Sub(from), w.between(from, to)
		late := max(0, longestGap(from, ticks, to)-hbInterval)
		minBeats := max(0, len(ticks)-int(starved/hbInterval)) * 7 / 10
		// The gap furthest over its allowance decides.
		var worst, worstAllowed time.Duration
		prev := from
		for _, at := range append(beats, to) {
			gap, allowed := at.Sub(prev), hbMaxGap+late+w.between(prev.Add(-hbInterval), at)
			if worst == 0 || gap-allowed > worst-worstAllowed {
				worst, worstAllowed = gap, allowed
			}
			prev = at
		}
		t.logf("%d heartbeats in %s; the gap furthest over its allowance %s (allowed %s); own ticks late by up to %s; the plugin's threads waited %s for a CPU",
			len(beats), watched.Round(time.Millisecond), worst.Round(time.Millisecond), worstAllowed.Round(time.Millisecond), late.Round(time.Millisecond), starved.Round(time.Millisecond))
		if worst > worstAllowed || len(beats) < minBeats {
			return failf(fmt.Sprintf("with an interval of %s, at least %d heartbeats in %s, none more than %s apart (%s, and what load delayed)", hbInterval, minBeats, watched.Round(time.Millisecond), worstAllowed.Round(time.Millisecond), hbMaxGap),
				"%d heartbeats, a gap of %s", len(beats), worst.Round(time.Millisecond))
		}
		// A pass means something only if silence would have failed.
		if silence := hbMaxGap + late + starved; 2*silence > watched {
			if dl, ok := t.ctx.Deadline(); round < hbRounds && (!ok || time.Until(dl) > 2*hbWindow) {
				continue
			}
			return skipf("the machine was too loaded to judge heartbeats: silence for all of the %s watched would be allowed %s", watched.Round(time.Millisecond), silence.Round(time.Millisecond))
		}
		return nil
	}
}

// waitLog samples how long a process's threads together have waited for
// a CPU.
type waitLog struct {
	pid    int
	err    error // the first failed sample: from then on, nothing is known
	before map[int]sched
	seen   map[int]time.Duration // each thread's waits since the first sample, kept after it exits
	at     []time.Time
	waited []time.Duration // since the first sample; never falls
}

// sample records the waits up to at. After a failed sample nothing more
// is known: the plugin exited, or this system has no schedstat.
func (w *waitLog) sample(at time.Time) error {
	if w.err != nil {
		return w.err
	}
	var waited time.Duration
	if w.before == nil {
		w.before, w.err = threadScheds(w.pid)
	} else {
		var threads map[int]sched
		threads, w.err = schedSince(w.pid, w.before)
		if w.seen == nil {
			w.seen = map[int]time.Duration{}
		}
		for tid, s := range threads {
			w.seen[tid] = s.wait
		}
		for _, d := range w.seen {
			waited += d
		}
	}
	if w.err == nil {
		w.at, w.waited = append(w.at, at), append(w.waited, waited)
	}
	return w.err
}

// between is how long the threads waited from the last sample at or
// before a to the first at or after b: at least the waits from a to b.
func (w *waitLog) between(a, b time.Time) time.Duration {
	if len(w.at) < 2 {
		return 0
	}
	i := max(0, sort.Search(len(w.at), func(i int) bool { return w.at[i].After(a) })-1)
	j := min(len(w.at)-1, sort.Search(len(w.at), func(j int) bool { return !w.at[j].Before(b) }))
	return w.waited[j] - w.waited[i]
}

// longestGap is the longest time between from, each of ats and to.
func longestGap(from time.Time, ats []time.Time, to time.Time) time.Duration {
	longest, prev := time.Duration(0), from
	for _, at := range append(ats, to) {
		longest = max(longest, at.Sub(prev))
		prev = at
	}
	return longest
}

// startBusy starts a plugin with instance 1 open and working: a source has
// sent its first event; a sink is simply open.
func (t *checkRun) startBusy() (*proc, error) {
	p, err := t.startOpen()
	if err != nil {
		return nil, err
	}
	if t.env.spec.Role == wire.RoleSource {
		p.setAutoAck(1, true)
		if _, err := p.waitEvents(t.ctx, 1, 1); err != nil {
			return nil, err
		}
	}
	return p, nil
}

// checkSigterm: SIGTERM is a graceful shutdown: GOODBYE, then exit 0.
func checkSigterm(t *checkRun) error {
	p, err := t.startBusy()
	if err != nil {
		return err
	}
	if err := terminate(p); err != nil {
		return err
	}
	t.logf("sent SIGTERM")
	st, err := p.mustExit("SIGTERM")
	if err != nil {
		return err
	}
	gotBye := p.wait(t.ctx, drainStdout, "waiting for GOODBYE", func() bool {
		return p.find(0, func(f frame) bool { return f.typ == wire.MsgGoodbye }) >= 0
	})
	if gotBye != nil {
		return failf("GOODBYE after SIGTERM", "%v", gotBye)
	}
	if st.ExitCode() != 0 {
		return failf("exit status 0 after SIGTERM", "%s", st)
	}
	return nil
}

// checkStdinClose: a plugin whose host went away exits (single-shot, no
// reconnection), and non-zero: its work did not end normally, and a
// supervisor restarting on failure must see that.
func checkStdinClose(t *checkRun) error {
	p, err := t.startBusy()
	if err != nil {
		return err
	}
	p.stopHeartbeat()
	p.wmu.Lock()
	p.stdin.Close()
	p.wmu.Unlock()
	t.logf("closed the plugin's standard input")
	st, err := p.mustExit("losing the host")
	if err != nil {
		return err
	}
	if st.ExitCode() == 0 {
		return failf("a non-zero exit after losing the host", "%s", st)
	}
	return nil
}

// malformedFrames are broken frames a host might send, each mid-session,
// after a SPEC round trip, and the words of which the plugin's error line
// must hold one to say what was wrong.
var malformedFrames = []struct {
	what  string
	frame []byte
	code  wire.ErrorCode // the ERROR the plugin must send
	names []string
}{
	{"a frame of unknown type 0x7f", []byte{0, 0, 0, 0, 0x7f, 0, 0, 0}, wire.ErrCodeMalformed, []string{"0x7f", "0x7F", "127"}},
	{"a HEARTBEAT with flags set", append([]byte{8, 0, 0, 0, byte(wire.MsgHeartbeat), 1, 0, 0}, make([]byte, 8)...), wire.ErrCodeMalformed, []string{"flag"}},
	{"a SETUP body cut short", []byte{9, 0, 0, 0, byte(wire.MsgSetup), 0, 0, 0, 1, 0, 0, 0, 3, 0, 0, 0, 'k'}, wire.ErrCodeMalformed, typeNames(wire.MsgSetup)},
	{"a frame over the limit", wire.AppendHeader(nil, wire.MsgWrite, 1, checkMaxFrame+1), wire.ErrCodeTooLarge, tooLargeNames(checkMaxFrame + 1)},
}

// checkMalformed: a plugin given bytes that break the protocol says so,
// in an ERROR with the violation's code and in a line on stderr that
// says what was wrong, and exits 4 instead of guessing or hanging. Each
// frame goes to a plugin of its own, all at once.
func checkMalformed(t *checkRun) error {
	var faults []fault
	for _, m := range malformedFrames {
		faults = append(faults, fault{what: m.what, stage: stageReady, run: func(t *checkRun, p *proc) error {
			return t.fatal(p, m.what, m.frame, m.code, m.names...)
		}})
	}
	return t.runFaults(faults)
}

func describeError(e *wire.ErrorMsg) string {
	if e == nil {
		return "no ERROR frame"
	}
	return "ERROR " + e.Error()
}

// checkStdoutClean: over a whole session, from HELLO through GOODBYE and
// exit, every byte on standard output is part of a frame: nothing the
// plugin prints by accident reaches the protocol stream.
func checkStdoutClean(t *checkRun) error {
	p, err := t.startBusy()
	if err != nil {
		return err
	}
	if t.env.spec.Role == wire.RoleSink {
		h, _ := p.hello(t.ctx)
		b, err := t.makeBatch(h, 1, 1)
		if err != nil {
			return err
		}
		if _, _, err := p.writeOnce(t, 1, b); err != nil {
			return err
		}
	}
	for _, req := range []wire.MsgType{wire.MsgStop, wire.MsgClose} {
		if _, err := p.request(t.ctx, req, 1, wire.Request{}); err != nil {
			return err
		}
	}
	if _, err := p.goodbye(t.ctx); err != nil {
		return err
	}
	p.wait(t.ctx, drainStdout, "waiting for the end of standard output", func() bool { return p.readErr != nil })
	p.mu.Lock()
	defer p.mu.Unlock()
	switch {
	case p.readErr != nil:
	case t.ctx.Err() != nil:
		return t.ctx.Err()
	case p.state == nil:
		return failf("standard output closed after GOODBYE", "still open %s after it, the plugin still running", drainStdout)
	default:
		return failf("standard output closed after GOODBYE", "still open %s after it, though the plugin exited (%s): a process it started holds it?", drainStdout, p.state)
	}
	if !errors.Is(p.readErr, io.EOF) {
		return failf("nothing but frames on standard output", "%v", p.streamError())
	}
	if last := p.log[len(p.log)-1]; last.typ != wire.MsgGoodbye {
		return failf("nothing after GOODBYE on standard output", "%s after GOODBYE", last.typ)
	}
	return nil
}

// busyChildren starts a busy plugin and lists the processes it started
// meanwhile; with none, it skips, saying why that leaves nothing to judge.
func (t *checkRun) busyChildren(soNothing string) (*proc, []procStat, error) {
	if err := needProcfs(); err != nil {
		return nil, nil, err
	}
	p, err := t.startBusy()
	if err != nil {
		return nil, nil, err
	}
	if err := t.sleep(childGrace); err != nil {
		return nil, nil, err
	}
	kids, err := descendants(p.pid)
	if err != nil {
		return nil, nil, skipf("cannot list processes in /proc: %v", err)
	}
	t.logf("%d descendant processes", len(kids))
	if len(kids) == 0 {
		return nil, nil, skipf("the plugin started no child process, %s", soNothing)
	}
	return p, kids, nil
}

// checkChildren: a plugin that exits takes its children with it, so that
// no process outlives a plugin its host has stopped.
func checkChildren(t *checkRun) error {
	p, kids, err := t.busyChildren("so none can outlive it")
	if err != nil {
		return err
	}
	if _, err := p.goodbye(t.ctx); err != nil {
		return err
	}
	if err := t.sleep(childGrace); err != nil {
		return err
	}
	var left []string
	for _, k := range kids {
		if alive(k) {
			left = append(left, fmt.Sprintf("%d (%s)", k.pid, k.comm))
			if kid, err := os.FindProcess(k.pid); err == nil {
				kid.Kill()
			}
		}
	}
	if len(left) > 0 {
		return failf("no child process left after the plugin exited", "still running: %v", left)
	}
	return nil
}

// checkChildFDs: the protocol's descriptors are the plugin's alone
// (PROTOCOL.md §1.5): a child process it starts holds neither its input
// pipe nor its output pipe, under any descriptor number, so that the
// child can neither write into the stream nor keep it open after the
// plugin is gone. Read from /proc/PID/fd of each child, on Linux.
func checkChildFDs(t *checkRun) error {
	p, kids, err := t.busyChildren("so none can hold its descriptors")
	if err != nil {
		return err
	}
	pipes := map[string]string{}
	for what, f := range map[string]*os.File{"input": p.stdin, "output": p.stdout} {
		name, err := pipeName(f)
		if err != nil {
			return skipf("cannot tell the protocol's pipes apart: %v", err)
		}
		pipes[name] = what
	}
	var held []string
	seen := 0
	for _, k := range kids {
		fds, err := openFiles(k.pid)
		if err != nil {
			t.logf("child %d (%s): %v", k.pid, k.comm, err) // gone meanwhile, or not ours to read
			continue
		}
		seen++
		for _, fd := range slices.Sorted(maps.Keys(fds)) {
			if what, ok := pipes[fds[fd]]; ok {
				held = append(held, fmt.Sprintf("child %d (%s) holds the protocol's %s pipe as descriptor %d", k.pid, k.comm, what, fd))
			}
		}
	}
	t.logf("read the descriptors of %d of %d child processes", seen, len(kids))
	switch {
	case len(held) > 0:
		return failf("no child process holding the protocol's pipes (they are close-on-exec, PROTOCOL.md §1.5)", "%s", strings.Join(held, "; "))
	case seen == 0:
		return skipf("the descriptors of none of the %d child processes could be read", len(kids))
	}
	return nil
}
