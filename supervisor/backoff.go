package supervisor

import (
	"math/rand/v2"
	"time"
)

// Policy says how a supervised plugin that exits or dies is restarted.
type Policy struct {
	// Min is the delay before the first restart after a failure, Max the
	// cap of the delay; each failure in a row doubles it. The delay
	// actually waited is drawn uniformly from [d/2, d], so plugins that
	// failed together do not restart together.
	Min, Max time.Duration

	// Stable is how long a run must last for its end to count as a first
	// failure again: the delay starts over at Min.
	Stable time.Duration

	// CrashLoop failures within CrashWindow park the plugin: it is not
	// restarted until its registry entry changes.
	CrashLoop   int
	CrashWindow time.Duration
}

// DefaultPolicy is the policy of plugctl host without flags; docs/HOST.md
// states these numbers.
func DefaultPolicy() Policy {
	return Policy{Min: 250 * time.Millisecond, Max: 30 * time.Second, Stable: 10 * time.Second,
		CrashLoop: 5, CrashWindow: time.Minute}
}

// backoff is one plugin's restart state.
type backoff struct {
	p        Policy
	rand     func() float64 // in [0, 1)
	inARow   int            // failures since the last stable run or reset
	failures []time.Time    // within the crash window
}

func newBackoff(p Policy) *backoff { return &backoff{p: p, rand: rand.Float64} }

// fail records a failure at now of a run that lasted ran. It returns the
// delay before the next start, or parked when the plugin is in a crash
// loop.
func (b *backoff) fail(now time.Time, ran time.Duration) (delay time.Duration, parked bool) {
	if ran >= b.p.Stable {
		b.inARow = 0
	}
	kept := b.failures[:0]
	for _, t := range b.failures {
		if now.Sub(t) < b.p.CrashWindow {
			kept = append(kept, t)
		}
	}
	b.failures = append(kept, now)
	if len(b.failures) >= b.p.CrashLoop {
		return 0, true
	}
	d := b.p.Min
	for i := 0; i < b.inARow && d < b.p.Max; i++ {
		d *= 2
	}
	d = min(d, b.p.Max)
	b.inARow++
	return d/2 + time.Duration(b.rand()*float64(d/2)), false
}

// reset forgets every failure: the plugin's entry changed, so it is
// another plugin now.
func (b *backoff) reset() {
	b.inARow = 0
	b.failures = b.failures[:0]
}
