package sdk

import "github.com/plugctl/plugctl/wire"

// ringBatchBytes is the EVENTS body budget on r: a sixteenth of the ring,
// so that several batches are in the ring at once while the host reads
// one. Batches on a ring are larger than on a pipe: each may cost the host
// a wake-up, and a ring takes a large batch as cheaply as a small one.
func ringBatchBytes(r *wire.Ring) int { return r.Size()/16 - wire.HeaderSize }
