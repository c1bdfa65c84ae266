package supervisor

import (
	"fmt"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/plugctl/plugctl/enroll"
)

// slot is one stream's position in memory, the truth while the host runs:
// it advances only once a batch is durable, and a restarted session
// resumes after it.
type slot struct {
	key    Slot
	m      slotMetrics
	saveMu sync.Mutex // one save at a time, so an older mark never replaces a newer one

	mu      sync.Mutex
	mark    Mark
	dirty   bool // mark changed since it was last saved
	owner   any  // the runner or session streaming it; nil when free
	writing bool // a batch is between its write and advance

	buf []byte // the handler's lines, reused: one session's read loop at a time owns the slot
}

func (sl *slot) resume() *uint64 {
	sl.mu.Lock()
	defer sl.mu.Unlock()
	if !sl.mark.Has {
		return nil
	}
	p := sl.mark.Position
	return &p
}

// writes marks a batch of the slot as being written, until advance.
func (sl *slot) writes() {
	sl.mu.Lock()
	sl.writing = true
	sl.mu.Unlock()
}

func (sl *slot) advance(position uint64, offset int64) {
	sl.mu.Lock()
	sl.mark.Position, sl.mark.Has, sl.mark.Offset, sl.dirty = position, true, offset, true
	sl.writing = false
	sl.mu.Unlock()
}

// idleSlack is how far an idle slot's offset may lag the output's end
// before a checkpoint moves it up: the scan at start begins at the
// smallest offset, and a plugin that stopped sending, or was removed,
// would otherwise pin it where it stopped.
const idleSlack = 1 << 20

// followEnd moves the offset of a slot with no batch being written up to
// the output's end, when it lags by more than idleSlack. Every later line
// of the slot is written after that end, so a scan from it misses none:
// the size is read while the slot's lock keeps its next batch waiting.
func (sl *slot) followEnd(out *Output) {
	sl.mu.Lock()
	defer sl.mu.Unlock()
	if sl.writing {
		return
	}
	if end := out.Size(); end-sl.mark.Offset > idleSlack {
		sl.mark.Offset, sl.dirty = end, true
	}
}

// recover opens the state and the output, cuts a partial last line off
// the output and takes, for each slot, the greater of its recorded
// position and the newest one in the output's lines after the recorded
// offsets: a line that was written and synced but not yet recorded in the
// state is not written again. Every slot is then saved, so each slot with
// lines in the output has a state file from here on.
func (s *supervisor) recover() error {
	marks := map[Slot]Mark{}
	if s.o.State != "" {
		store, err := OpenStore(s.o.State)
		if err != nil {
			return err
		}
		if marks, err = store.Load(); err != nil {
			store.Close()
			return err
		}
		s.store = store
	}
	fail := func(err error) error {
		if s.store != nil {
			s.store.Close()
		}
		return err
	}
	if s.o.Out == "-" {
		s.out = StreamOutput("standard output", s.o.Stdout)
		for k, m := range marks {
			s.slots[k] = s.newSlot(k, m, false)
		}
		return nil
	}
	var from int64
	for i, m := range slices.Collect(maps.Values(marks)) {
		if i == 0 || m.Offset < from {
			from = m.Offset
		}
	}
	out, rec, err := OpenOutput(s.o.Out, from, func(d time.Duration) { s.m.fsync.Observe(d.Seconds()) })
	if err != nil {
		return fail(err)
	}
	s.out = out
	if rec.Truncated > 0 {
		s.log.Warn("output: cut off a partial last line, left by a crash", "out", s.o.Out, "bytes", rec.Truncated)
	}
	if rec.Skipped > 0 {
		s.log.Warn("output: lines that are not this host's events were skipped", "out", s.o.Out, "lines", rec.Skipped)
	}
	size := out.Size()
	for k, m := range marks {
		found, ok := rec.Marks[k]
		changed := m.Offset > size // the file was replaced: no line of the slot lies beyond its end
		m.Offset = min(m.Offset, size)
		if ok && (!m.Has || found.Position > m.Position) {
			m, changed = found, true
		}
		s.slots[k] = s.newSlot(k, m, changed)
	}
	for k, m := range rec.Marks {
		if _, ok := s.slots[k]; !ok {
			s.slots[k] = s.newSlot(k, m, true)
		}
	}
	s.log.Info("output recovered", "out", s.o.Out, "scanned_from", from, "lines", rec.Lines, "slots", len(s.slots))
	if s.store != nil {
		for _, sl := range s.slots {
			if err := s.save(sl); err != nil {
				out.Close()
				return fail(err)
			}
		}
	}
	return nil
}

func (s *supervisor) newSlot(k Slot, m Mark, dirty bool) *slot {
	sl := &slot{key: k, m: s.m.slot(m.Plugin, k), mark: m, dirty: dirty}
	if m.Has {
		sl.m.position.Set(float64(m.Position))
	}
	return sl
}

// acquire gives owner slots 1..n of the plugin enrolled as e, creating
// those it never had, or fails if another session streams one of them.
// A new slot's state file is written before it can receive a line, with
// the output's size then, so a scan from the recorded offsets finds all
// its lines.
func (s *supervisor) acquire(e *enroll.Entry, n int, owner any) ([]*slot, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	got := make([]*slot, 0, n)
	undo := func() {
		for _, sl := range got {
			sl.mu.Lock()
			sl.owner = nil
			sl.mu.Unlock()
		}
	}
	for i := 1; i <= n; i++ {
		k := Slot{PluginID: e.ID, Slot: i}
		sl := s.slots[k]
		if sl == nil {
			sl = s.newSlot(k, Mark{Plugin: e.Name, Offset: s.out.Size()}, true)
			if s.store != nil {
				if err := s.save(sl); err != nil {
					undo()
					return nil, err
				}
			}
			s.slots[k] = sl
		}
		sl.mu.Lock()
		busy := sl.owner != nil
		if !busy {
			sl.owner = owner
		}
		sl.mu.Unlock()
		if busy {
			undo()
			return nil, fmt.Errorf("slot %d of %s is streamed by another session of the plugin", i, e.Ref())
		}
		got = append(got, sl)
	}
	return got, nil
}

// release frees slots and saves their positions.
func (s *supervisor) release(slots []*slot) {
	for _, sl := range slots {
		sl.mu.Lock()
		sl.owner = nil
		sl.mu.Unlock()
		if s.store != nil {
			if err := s.save(sl); err != nil {
				s.log.Error("state not saved", "slot", sl.key.String(), "err", err)
			}
		}
	}
}

// save writes the slot's mark to the state directory if it changed.
func (s *supervisor) save(sl *slot) error {
	sl.saveMu.Lock()
	defer sl.saveMu.Unlock()
	sl.mu.Lock()
	m, dirty := sl.mark, sl.dirty
	sl.dirty = false
	sl.mu.Unlock()
	if !dirty {
		return nil
	}
	if err := s.store.Save(sl.key, m); err != nil {
		sl.mu.Lock()
		sl.dirty = true
		sl.mu.Unlock()
		return err
	}
	return nil
}

// checkpoint saves every changed slot. A failure is logged, not fatal,
// when the output is a file: its lines still hold every position, and the
// next start scans from the older offsets.
func (s *supervisor) checkpoint() {
	if s.store == nil {
		return
	}
	s.mu.Lock()
	slots := slices.Collect(maps.Values(s.slots))
	s.mu.Unlock()
	for _, sl := range slots {
		if s.out.Durable() {
			sl.followEnd(s.out)
		}
		if err := s.save(sl); err != nil {
			s.log.Error("state not saved", "slot", sl.key.String(), "err", err)
		}
	}
}
