package supervisor

import (
	"testing"
	"time"
)

func testPolicy() Policy {
	return Policy{Min: 100 * time.Millisecond, Max: time.Second, Stable: 10 * time.Second, CrashLoop: 100, CrashWindow: time.Minute}
}

// TestBackoffDoublesToCapWithJitter: each failure in a row doubles the
// delay up to Max, and the delay drawn lies in [d/2, d].
func TestBackoffDoublesToCapWithJitter(t *testing.T) {
	for _, r := range []float64{0, 0.5, 0.999999} {
		b := newBackoff(testPolicy())
		b.rand = func() float64 { return r }
		now := time.Unix(1000, 0)
		for i, want := range []time.Duration{100, 200, 400, 800, 1000, 1000, 1000} {
			want *= time.Millisecond
			if want > time.Second {
				want = time.Second
			}
			got, parked := b.fail(now, time.Second)
			if parked {
				t.Fatalf("failure %d parked the plugin", i+1)
			}
			lo, hi := want/2, want
			if got < lo || got > hi {
				t.Errorf("rand %v, failure %d: delay %v, want within [%v, %v]", r, i+1, got, lo, hi)
			}
			if r == 0 && got != lo || r > 0.99 && hi-got > time.Millisecond {
				t.Errorf("rand %v, failure %d: delay %v does not follow the draw", r, i+1, got)
			}
			now = now.Add(5 * time.Second)
		}
	}
}

// TestBackoffResetsAfterStableRun: a run that lasted Stable starts the
// delays over, and so does reset (the entry changed).
func TestBackoffResetsAfterStableRun(t *testing.T) {
	b := newBackoff(testPolicy())
	b.rand = func() float64 { return 0.999999 }
	now := time.Unix(1000, 0)
	for range 4 {
		b.fail(now, time.Second)
	}
	if d, _ := b.fail(now, time.Second); d < 700*time.Millisecond {
		t.Fatalf("fifth quick failure: delay %v, want near the 1s cap", d)
	}
	if d, _ := b.fail(now, 10*time.Second); d > 100*time.Millisecond {
		t.Errorf("failure after a 10s run: delay %v, want at most Min", d)
	}
	if d, _ := b.fail(now, time.Second); d < 150*time.Millisecond || d > 200*time.Millisecond {
		t.Errorf("quick failure after it: delay %v, want the second step", d)
	}
	b.reset()
	if d, _ := b.fail(now, time.Second); d > 100*time.Millisecond {
		t.Errorf("failure after reset: delay %v, want at most Min", d)
	}
}

// TestBackoffParksCrashLoop: CrashLoop failures within CrashWindow park
// the plugin; failures spread wider than the window do not.
func TestBackoffParksCrashLoop(t *testing.T) {
	p := testPolicy()
	p.CrashLoop, p.CrashWindow = 3, 10*time.Second
	b := newBackoff(p)
	now := time.Unix(1000, 0)
	for i := range 10 {
		if _, parked := b.fail(now, 0); parked {
			t.Fatalf("failure %d, 6s after the one before, parked the plugin", i+1)
		}
		now = now.Add(6 * time.Second)
	}
	b.reset()
	for i := range 3 {
		_, parked := b.fail(now, 0)
		if want := i == 2; parked != want {
			t.Fatalf("failure %d of 3 within 2s: parked %v, want %v", i+1, parked, want)
		}
		now = now.Add(time.Second)
	}
}
