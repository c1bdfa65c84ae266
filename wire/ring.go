package wire

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"runtime"
	"slices"
	"sync/atomic"
	"time"
	"unsafe"
)

// The ring transport of protocol version 2 and later (docs/PROTOCOL.md,
// "Ring transport"): a launched plugin's frames travel to the host through
// memory both processes map, instead of through the output pipe, which
// then only carries doorbell bytes. A pipe copies every byte twice, through
// the kernel, with a system call per batch; the ring copies once, in user
// space. From version 4 a second ring, the input ring, carries the host's
// frames the other way, with the roles swapped: the host produces, the
// plugin consumes and sleeps on its input pipe.
//
// The shared memory is a header page, then the data area:
//
//	offset   size  field
//	0        8     magic "PLUGRING"
//	8        4     layout version, 1
//	12       4     zero
//	16       8     data size: a power of two, RingMinSize to RingMaxSize
//	64       8     head: bytes ever written, stored by the producer only
//	128      8     tail: bytes ever read, stored by the consumer only
//	192      4     waiting: 1 while the consumer sleeps on the doorbell
//	4096     size  data: byte i of the stream is at data[i mod size]
//
// The fields sit on separate cache lines so that the two sides, each
// storing its own, do not slow each other down.
const (
	ringMagic         = "PLUGRING"
	ringLayout        = 1
	ringSizeOffset    = 16
	ringHeadOffset    = 64
	ringTailOffset    = 128
	ringWaitingOffset = 192

	// RingHeaderSize is the size of the header page in front of the data.
	RingHeaderSize = 4096

	// RingMinSize and RingMaxSize bound a ring's data area.
	RingMinSize = 64 << 10
	RingMaxSize = 1 << 30

	// DefaultRingSize is the data area a host offers unless configured
	// otherwise: sixteen of the SDK's batches on it, small enough to stay
	// in a processor's last-level cache.
	DefaultRingSize = 8 << 20

	// DefaultInputRingSize bounds the input ring a host offers with a
	// ring of DefaultRingSize or more. A sink has one WRITE in flight,
	// which the host publishes in pieces as it copies it in, so a larger
	// ring gains nothing but resident memory: the plugin touches all of
	// it as the stream goes round.
	DefaultInputRingSize = 1 << 20
)

// EnvRingFD names the environment variable through which a host offers a
// ring to a launched plugin: the number of the inherited descriptor of the
// shared memory.
const EnvRingFD = "PLUGCTL_RING_FD"

// EnvInputRingFD names the environment variable through which a host
// offers an input ring (version 4 on), for its own frames, as EnvRingFD
// offers the ring for the plugin's.
const EnvInputRingFD = "PLUGCTL_INPUT_RING_FD"

// Transports a HELLO_ACK may choose: Transport (version 2 on) for the
// plugin's frames, InputTransport (version 4 on) for the host's.
const (
	TransportStream uint8 = 0 // every frame on the byte stream, as in version 1
	TransportRing   uint8 = 1 // frames through a ring; the sender's stream carries doorbells
)

// ErrRingCorrupt is wrapped when a ring's header holds values the other
// side could not have stored honestly.
var ErrRingCorrupt = fmt.Errorf("%w: shared ring corrupt", ErrMalformed)

// Ring is a single-producer, single-consumer byte ring in memory shared by
// a plugin and its host: the plugin produces into the ring and the host
// consumes, or, in an input ring, the other way round.
type Ring struct {
	data    []byte
	mask    uint64
	head    *atomic.Uint64
	tail    *atomic.Uint64
	waiting *atomic.Uint32
}

// RingMemSize is the size of the shared memory holding a ring of size
// bytes of data.
func RingMemSize(size int) int { return RingHeaderSize + size }

// InitRing lays out a new, empty ring in mem, which must be zeroed and
// RingMemSize(size) bytes long, and page-aligned as mapped memory is. The
// host calls it before offering the ring.
func InitRing(mem []byte, size int) (*Ring, error) {
	if size < RingMinSize || size > RingMaxSize || size&(size-1) != 0 {
		return nil, fmt.Errorf("ring size %d: want a power of two from %d to %d", size, RingMinSize, RingMaxSize)
	}
	if len(mem) != RingMemSize(size) {
		return nil, fmt.Errorf("ring memory is %d bytes, want %d", len(mem), RingMemSize(size))
	}
	copy(mem, ringMagic)
	binary.LittleEndian.PutUint32(mem[8:], ringLayout)
	binary.LittleEndian.PutUint64(mem[ringSizeOffset:], uint64(size))
	return OpenRing(mem)
}

// OpenRing checks the header of a ring laid out by InitRing, as a plugin
// does with the memory its host offers.
func OpenRing(mem []byte) (*Ring, error) {
	if len(mem) < RingHeaderSize {
		return nil, fmt.Errorf("ring memory is %d bytes, less than its %d-byte header", len(mem), RingHeaderSize)
	}
	if string(mem[:8]) != ringMagic {
		return nil, fmt.Errorf("ring memory does not start with %q", ringMagic)
	}
	if v := binary.LittleEndian.Uint32(mem[8:]); v != ringLayout {
		return nil, fmt.Errorf("ring layout version %d, want %d", v, ringLayout)
	}
	size := binary.LittleEndian.Uint64(mem[ringSizeOffset:])
	if size < RingMinSize || size > RingMaxSize || size&(size-1) != 0 || uint64(len(mem)) != RingHeaderSize+size {
		return nil, fmt.Errorf("ring data size %d does not fit %d bytes of memory", size, len(mem))
	}
	if uintptr(unsafe.Pointer(&mem[0]))%8 != 0 {
		return nil, errors.New("ring memory is not 8-byte aligned")
	}
	return &Ring{
		data:    mem[RingHeaderSize:],
		mask:    size - 1,
		head:    (*atomic.Uint64)(unsafe.Pointer(&mem[ringHeadOffset])),
		tail:    (*atomic.Uint64)(unsafe.Pointer(&mem[ringTailOffset])),
		waiting: (*atomic.Uint32)(unsafe.Pointer(&mem[ringWaitingOffset])),
	}, nil
}

// Size is the ring's data size in bytes.
func (r *Ring) Size() int { return len(r.data) }

// Bounds of the producer's sleep while the ring is full. A busy source
// fills the ring whenever the host is the slower side; the consumer then
// reads at memory speed, so polling is cheap and spares the consumer a
// second doorbell.
const (
	minRingPause = 20 * time.Microsecond
	maxRingPause = time.Millisecond
)

// NextRingPause is how long a producer that found the ring full sleeps
// before it looks again, after a sleep of last (0 after any progress):
// 20 µs, doubling up to 1 ms.
func NextRingPause(last time.Duration) time.Duration {
	return min(max(2*last, minRingPause), maxRingPause)
}

// RingWriter is the producer's end of a ring (the plugin's, or the host's
// of an input ring): an io.Writer that copies into the ring and rings the
// doorbell when the consumer sleeps. It loads only tail and waiting, which
// the consumer stores, and checks tail. One goroutine at a time may call
// Write.
type RingWriter struct {
	// Chunk, if positive, makes Write publish at least every Chunk
	// bytes of a large p rather than once when it is all copied, so that
	// the consumer copies the first part out while the rest goes in.
	Chunk int

	r     *Ring
	bell  io.Writer
	abort <-chan struct{}
	head  uint64 // the producer's own copy of r.head
	ding  [1]byte
}

// NewRingWriter returns the producer end of a new ring r: it writes from
// byte 0, whatever the shared head says. bell is the doorbell stream; a
// wait for room ends with an error once abort is closed.
func NewRingWriter(r *Ring, bell io.Writer, abort <-chan struct{}) *RingWriter {
	return &RingWriter{r: r, bell: bell, abort: abort}
}

// errRingAborted ends a wait for room in a ring of a session that is over.
var errRingAborted = errors.New("session over while waiting for room in the shared ring")

// Write copies p into the ring, waiting for room as the consumer reads.
// The bytes of one Write become visible to the consumer together when p
// fits.
func (w *RingWriter) Write(p []byte) (int, error) {
	size := uint64(len(w.r.data))
	done := 0
	var pause time.Duration
	for done < len(p) {
		used, err := w.used()
		if err != nil {
			return done, err
		}
		if used == size {
			pause = NextRingPause(pause)
			t := time.NewTimer(pause)
			select {
			case <-t.C:
			case <-w.abort:
				t.Stop()
				return done, errRingAborted
			}
			continue
		}
		pause = 0
		n := min(uint64(len(p)-done), size-used)
		if w.Chunk > 0 {
			n = min(n, uint64(w.Chunk))
		}
		at := w.head & w.r.mask
		c := copy(w.r.data[at:], p[done:done+int(n)])
		copy(w.r.data, p[done+c:done+int(n)])
		done += int(n)
		if err := w.publish(n); err != nil {
			return done, err
		}
	}
	return done, nil
}

// publish makes the next n bytes at the write position visible to the
// consumer and rings the doorbell if it sleeps.
func (w *RingWriter) publish(n uint64) error {
	w.head += n
	w.r.head.Store(w.head)
	// The store above and the load below are sequentially consistent, as
	// are the consumer's store of waiting and its load of head, so at
	// least one side sees the other's: no wake-up is lost.
	if w.r.waiting.Load() != 0 && w.r.waiting.CompareAndSwap(1, 0) {
		if _, err := w.bell.Write(w.ding[:]); err != nil {
			return err
		}
	}
	return nil
}

// Size is the ring's data size in bytes.
func (w *RingWriter) Size() int { return len(w.r.data) }

// Free is how many bytes the ring has room for now, contiguous or not.
func (w *RingWriter) Free() (int, error) {
	used, err := w.used()
	return len(w.r.data) - int(used), err
}

// used is how many bytes the producer has written that the consumer has
// not read, checked against the ring's size.
func (w *RingWriter) used() (uint64, error) {
	size := uint64(len(w.r.data))
	used := w.head - w.r.tail.Load()
	if used > size {
		return 0, fmt.Errorf("%w: the reader's position %d is not within %d bytes before the write position %d", ErrRingCorrupt, w.head-used, size, w.head)
	}
	return used, nil
}

// Reserve returns the free room at the write position, up to max bytes,
// that is contiguous in the data area, so that a producer can encode
// frames straight into the ring instead of copying them in with Write.
// It does not wait: the slice is empty when the ring is full, and short
// at the end of the data area. The bytes stay invisible to the consumer
// until Commit publishes them; until then the producer must not call
// Write or Reserve again. Room only grows while the consumer reads, so the
// slice stays the producer's until it commits.
func (w *RingWriter) Reserve(max int) ([]byte, error) {
	size := uint64(len(w.r.data))
	used, err := w.used()
	if err != nil {
		return nil, err
	}
	at := w.head & w.r.mask
	n := min(uint64(max), size-used, size-at)
	return w.r.data[at : at+n : at+n], nil
}

// Commit publishes the first n bytes of the last reservation, n at most
// its length, and rings the doorbell if the consumer sleeps.
func (w *RingWriter) Commit(n int) error { return w.publish(uint64(n)) }

// RingReader is the consumer's end of a ring (the host's, or the plugin's
// of an input ring): an io.Reader that copies out of the ring and sleeps on
// the doorbell when it is empty. The bytes it returns are the consumer's
// own: the producer cannot change them afterwards. It loads only head,
// which the producer stores, and checks it. One goroutine at a time may
// call Read.
type RingReader struct {
	// OnIdle, if set, is called each time the ring has stayed empty for
	// spinFor, before the reader goes on polling or sleeps on the doorbell.
	OnIdle func()

	// Poll, if longer than spinFor, lets Read poll an empty ring for up to
	// that long before it sleeps on the doorbell, for as long as the ring
	// stays empty in spells that polling can outlast: twice the last
	// spell, at most Poll. A producer whose frames follow each other
	// within Poll/2 then finds a reader awake, not one that has to be
	// woken, which costs tens of microseconds on most machines, at the
	// price of a core kept busy while that lasts. Once a spell outlasts
	// Poll (a producer gone quiet) the reader sleeps after spinFor again.
	// NewRingReader sets DefaultRingPoll.
	Poll time.Duration

	r        *Ring
	bell     io.Reader
	tail     uint64 // the consumer's own copy of r.tail
	bells    [64]byte
	ended    error         // the doorbell stream's end, once seen
	lastIdle time.Duration // how long the ring stayed empty last time
}

// NewRingReader returns the consumer end of a new ring r: it reads from
// byte 0, whatever the shared tail says. bell is the doorbell
// stream: its end means the producer is gone, and the ring then ends too,
// once drained.
func NewRingReader(r *Ring, bell io.Reader) *RingReader {
	return &RingReader{r: r, bell: bell, Poll: DefaultRingPoll}
}

// Read copies what the ring holds, up to len(p) bytes, waiting for the
// producer when the ring is empty. After the doorbell stream ends it
// returns what is left, then the doorbell's error (io.EOF when the
// producer closed it).
func (rr *RingReader) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	for {
		avail, err := rr.available()
		if err != nil {
			return 0, err
		}
		if avail > 0 {
			n := min(avail, uint64(len(p)))
			at := rr.tail & rr.r.mask
			c := copy(p[:n], rr.r.data[at:])
			copy(p[c:n], rr.r.data)
			rr.tail += n
			rr.r.tail.Store(rr.tail)
			return int(n), nil
		}
		if rr.ended != nil {
			return 0, rr.ended
		}
		start := time.Now()
		if rr.spin(start, spinFor) {
			continue
		}
		if rr.OnIdle != nil {
			rr.OnIdle()
		}
		if limit := rr.pollFor(); limit > spinFor && rr.spin(start, limit) {
			continue
		}
		rr.r.waiting.Store(1)
		if avail, err = rr.available(); err != nil || avail > 0 {
			rr.r.waiting.Store(0)
			rr.lastIdle = time.Since(start)
			continue
		}
		n, err := rr.bell.Read(rr.bells[:])
		rr.lastIdle = time.Since(start)
		if i := slices.IndexFunc(rr.bells[:n], func(b byte) bool { return b != 0 }); i >= 0 {
			return 0, fmt.Errorf("%w: byte 0x%02x on the sender's stream after it moved to the shared ring, where only 0x00 doorbells may follow (frames written there instead of into the ring?)", ErrMalformed, rr.bells[i])
		}
		if err != nil {
			// Whatever the producer wrote before its doorbell stream
			// closed is in the ring: drain it before reporting the end.
			rr.ended = err
			rr.r.waiting.Store(0)
		}
	}
}

// spinFor is how long a reader polls an empty ring before it sleeps on the
// doorbell, unless RingReader.Poll says longer. A producer in full flow
// writes its next batch within that time, and finding it by polling spares
// both sides a system call and a wake-up per batch; an idle producer costs
// the consumer only this much CPU before it sleeps.
const spinFor = 20 * time.Microsecond

// DefaultRingPoll is a ring reader's Poll unless set otherwise: a producer
// in a round trip with the reader's side (a sink answering WRITEs one at a
// time, a host waiting for RESULTs) writes again within it, and polling
// through those spells instead of sleeping doubles a sink's throughput and
// more. A producer with longer pauses lets the reader sleep, so it costs
// at most one such poll per pause once the pauses grow.
const DefaultRingPoll = 200 * time.Microsecond

// pollFor is how long, from the start of the ring's empty spell, the
// reader polls before it sleeps: twice the last spell, within spinFor and
// Poll, or spinFor alone if the last spell outlasted Poll.
func (rr *RingReader) pollFor() time.Duration {
	if rr.Poll <= spinFor || rr.lastIdle > rr.Poll {
		return spinFor
	}
	return min(max(2*rr.lastIdle, spinFor), rr.Poll)
}

// spin polls the ring until limit has passed since start, and reports
// whether bytes came; if they did, it records how long the ring was empty.
func (rr *RingReader) spin(start time.Time, limit time.Duration) bool {
	for i := 1; ; i++ {
		if rr.r.head.Load() != rr.tail {
			rr.lastIdle = time.Since(start)
			return true
		}
		if i%64 == 0 {
			if time.Since(start) > limit {
				return false
			}
			// A goroutine the reader has just woken (the one waiting
			// for the frame it read) may be queued behind it on this
			// thread: let it run rather than make it wait out the spin.
			runtime.Gosched()
		}
	}
}

// available is how many bytes the producer has written that the consumer
// has not read.
func (rr *RingReader) available() (uint64, error) {
	avail := rr.r.head.Load() - rr.tail
	if avail > uint64(len(rr.r.data)) {
		return 0, fmt.Errorf("%w: the writer's position is %d bytes from the read position, the ring holds %d", ErrRingCorrupt, int64(avail), len(rr.r.data))
	}
	return avail, nil
}
