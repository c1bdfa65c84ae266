package supervisor

import (
	"bytes"
	"path/filepath"
	"testing"
)

// TestIdleSlotFollowsEnd: a slot with nothing being written has its
// offset moved up to the output's end once it lags by more than
// idleSlack, so a removed or quiet plugin does not pin the scan at start;
// a slot with a batch between write and advance keeps its offset.
func TestIdleSlotFollowsEnd(t *testing.T) {
	o, _, err := OpenOutput(filepath.Join(t.TempDir(), "out.jsonl"), 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer o.Close()
	other := []byte(line(2, 1))
	write := func(n int) {
		if _, err := o.Write(bytes.Repeat(other, n/len(other)+1)); err != nil {
			t.Fatal(err)
		}
	}
	idle := &slot{mark: Mark{Position: 5, Has: true, Offset: 0}}
	busy := &slot{mark: Mark{Position: 5, Has: true, Offset: 0}}
	busy.writes()
	write(idleSlack / 2)
	idle.followEnd(o)
	if idle.mark.Offset != 0 || idle.dirty {
		t.Errorf("a slot lagging by less than idleSlack moved to %d", idle.mark.Offset)
	}
	write(idleSlack)
	idle.followEnd(o)
	busy.followEnd(o)
	if idle.mark.Offset != o.Size() || !idle.dirty || idle.mark.Position != 5 {
		t.Errorf("idle slot: %+v dirty %v, want offset %d, position kept", idle.mark, idle.dirty, o.Size())
	}
	if busy.mark.Offset != 0 {
		t.Errorf("a slot with a batch being written moved to %d", busy.mark.Offset)
	}
}
