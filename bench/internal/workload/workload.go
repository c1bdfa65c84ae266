// Package workload defines the events every benchmark plugin emits, so the
// plugctl plugin and the two baselines do the same work per event: the same
// kind, the same payload bytes, positions counting up from 1 and a clock
// read once per StampEvery events.
package workload

// Kind is the kind of every benchmark event.
const Kind = "bench"

// StampEvery is how many consecutive events share one reading of the
// clock, so that time.Now does not dominate the cost of a 64-byte event.
// The plugctl source reads the clock once per batch instead.
const StampEvery = 128

// Payload returns size bytes of printable filler.
func Payload(size int) []byte {
	p := make([]byte, size)
	for i := range p {
		p[i] = 'a' + byte(i%26)
	}
	return p
}
