package acceptance

import (
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/plugctl/plugctl/wire"
)

// Bounds of the lifecycle checks.
const (
	hbInterval = 100 * time.Millisecond // offered by lifecycle/heartbeat
	hbWindow   = time.Second            // how long heartbeats are watched
	// hbMaxGap is the longest gap between frames PROTOCOL.md §6.8 allows.
	hbMaxGap    = 2 * hbInterval
	childGrace  = 200 * time.Millisecond // for children to go after the plugin exits
	drainStdout = time.Second            // for standard output to end after exit
)

// checkHeartbeat: an idle plugin sends HEARTBEAT at the interval the host
// chose, so the host can tell a quiet plugin from a hung one. Any frame
// counts, as the protocol lets a side skip a heartbeat after another frame.
//
// A loaded machine is not the plugin's fault, so two delays are added to
// the gap allowed: how late a ticker of the check's own, at the same
// interval, ran (this process's scheduling), and the longest time one of
// the plugin's threads waited for a CPU (from /proc schedstat). The plugin
// must also send at least 70% as many beats as the check's ticker ticked.
func checkHeartbeat(t *checkRun) error {
	p, err := t.start(hbInterval)
	if err != nil {
		return err
	}
	from, waits := time.Now(), runQueueWaits(p.pid)
	tk := time.NewTicker(hbInterval)
	defer tk.Stop()
	end := time.After(hbWindow)
	var ticks []time.Time
watch:
	for {
		select {
		case <-tk.C:
			ticks = append(ticks, time.Now())
		case <-end:
			break watch
		case <-t.ctx.Done():
			return t.ctx.Err()
		}
	}
	to, starved := time.Now(), longestWait(p.pid, waits)
	var beats []time.Time // any frame counts, but an idle plugin sends only heartbeats
	for _, f := range p.frames() {
		if f.at.After(from) && f.at.Before(to) {
			beats = append(beats, f.at)
		}
	}
	longest, late := longestGap(from, beats, to), max(0, longestGap(from, ticks, to)-hbInterval)
	allowed, minBeats := hbMaxGap+late+starved, len(ticks)*7/10
	t.logf("%d heartbeats in %s, longest gap %s; own ticks late by up to %s; a plugin thread waited up to %s for a CPU",
		len(beats), hbWindow, longest.Round(time.Millisecond), late.Round(time.Millisecond), starved.Round(time.Millisecond))
	if longest > allowed || len(beats) < minBeats {
		return failf(fmt.Sprintf("with an interval of %s, at least %d heartbeats in %s, none more than %s apart", hbInterval, minBeats, hbWindow, allowed.Round(time.Millisecond)),
			"%d heartbeats, longest gap %s", len(beats), longest.Round(time.Millisecond))
	}
	return nil
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
	st, err := p.exit(exitBound)
	if err != nil {
		return failf("exit within 2s of SIGTERM", "%v", err)
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
	st, err := p.exit(exitBound)
	if err != nil {
		return failf("exit within 2s of losing the host", "%v", err)
	}
	if st.ExitCode() == 0 {
		return failf("a non-zero exit after losing the host", "%s", st)
	}
	return nil
}

// malformedFrames are broken frames a host might send, each mid-session:
// after a SPEC round trip and the plugin's first HEARTBEAT.
var malformedFrames = []struct {
	what  string
	frame []byte
	code  wire.ErrorCode // the ERROR the plugin must send
}{
	{"a frame of unknown type 0x7f", []byte{0, 0, 0, 0, 0x7f, 0, 0, 0}, wire.ErrCodeMalformed},
	{"a HEARTBEAT with flags set", append([]byte{8, 0, 0, 0, byte(wire.MsgHeartbeat), 1, 0, 0}, make([]byte, 8)...), wire.ErrCodeMalformed},
	{"a SETUP body cut short", []byte{9, 0, 0, 0, byte(wire.MsgSetup), 0, 0, 0, 1, 0, 0, 0, 3, 0, 0, 0, 'k'}, wire.ErrCodeMalformed},
	{"a frame over the limit", wire.AppendHeader(nil, wire.MsgWrite, 1, checkMaxFrame+1), wire.ErrCodeTooLarge},
}

// checkMalformed: a plugin given bytes that break the protocol says so,
// in an ERROR naming the violation and on stderr, and exits non-zero
// instead of guessing or hanging.
func checkMalformed(t *checkRun) error {
	for _, m := range malformedFrames {
		p, err := t.start(hbInterval)
		if err != nil {
			return err
		}
		if _, err := p.spec(t.ctx); err != nil {
			return err
		}
		if err := p.wait(t.ctx, exitBound, "waiting for HEARTBEAT", func() bool {
			return p.find(0, func(f frame) bool { return f.typ == wire.MsgHeartbeat }) >= 0
		}); err != nil {
			return err
		}
		if err := p.sendRaw(m.frame); err != nil {
			return err
		}
		st, err := p.exit(exitBound)
		if err != nil {
			return failf("exit within 2s of "+m.what, "%v", err)
		}
		p.stderr.Settle(exitBound)
		p.wait(t.ctx, drainStdout, "waiting for the end of standard output", func() bool { return p.readErr != nil })
		var got *wire.ErrorMsg
		for _, f := range p.frames() {
			if e, ok := f.msg.(*wire.ErrorMsg); ok {
				got = e
			}
		}
		t.logf("after %s: ERROR %v, %s; stderr %q", m.what, got, st, lastLine(p.stderr.String()))
		switch {
		case got == nil || got.Code != m.code:
			p.mu.Lock()
			stream := p.streamError()
			p.mu.Unlock()
			return failf(fmt.Sprintf("ERROR %s after %s", m.code, m.what), "%v (%v)", describeError(got), stream)
		case st.ExitCode() == 0:
			return failf("a non-zero exit after "+m.what, "%s", st)
		case len(p.stderr.Lines()) == 0:
			return failf("an error on stderr after "+m.what, "nothing on stderr")
		}
	}
	return nil
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
	if _, err := p.goodbye(t.ctx, exitBound); err != nil {
		return err
	}
	p.wait(t.ctx, drainStdout, "waiting for the end of standard output", func() bool { return p.readErr != nil })
	p.mu.Lock()
	defer p.mu.Unlock()
	if !errors.Is(p.readErr, io.EOF) {
		return failf("nothing but frames on standard output", "%v", p.streamError())
	}
	if last := p.log[len(p.log)-1]; last.typ != wire.MsgGoodbye {
		return failf("nothing after GOODBYE on standard output", "%s after GOODBYE", last.typ)
	}
	return nil
}

// checkChildren: a plugin that exits takes its children with it, so that
// no process outlives a plugin its host has stopped.
func checkChildren(t *checkRun) error {
	if err := needProcfs(); err != nil {
		return err
	}
	p, err := t.startBusy()
	if err != nil {
		return err
	}
	if err := t.sleep(childGrace); err != nil {
		return err
	}
	kids := descendants(p.pid)
	t.logf("%d descendant processes before GOODBYE", len(kids))
	if _, err := p.goodbye(t.ctx, exitBound); err != nil {
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
