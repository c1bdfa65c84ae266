package sdk

import "github.com/plugctl/plugctl/wire"

// ringBatchBytes is the EVENTS body budget on r: a sixteenth of the ring, so
// that the default window of eight batches fills half of it. Batches on a
// ring are larger than on a pipe: each costs the host a wake-up and an
// ACK, and a ring takes a large batch as cheaply as a small one.
func ringBatchBytes(r *wire.Ring) int { return r.Size()/16 - wire.HeaderSize }
