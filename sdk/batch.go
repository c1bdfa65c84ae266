package sdk

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"

	"github.com/plugctl/plugctl/wire"
)

// Kind is an event kind as its index in the plugin's kind table, that is
// its place in Spec.Events. Generated code declares one constant per kind.
type Kind uint16

// Batch limits.
const (
	// DefaultBatchBytes is the body budget of one EVENTS frame. With its
	// header a frame stays under 60 KiB and so fits a pipe's default 64 KiB
	// buffer in one write: larger writes halve pipe throughput.
	DefaultBatchBytes = 60<<10 - wire.HeaderSize

	// MaxBatchEvents bounds the events of one batch, so that a batch of
	// tiny events still acknowledges, and on failure redelivers, a
	// bounded amount of work.
	MaxBatchEvents = 8192
)

// batchPrefix is where events start in a batch buffer: the frame header,
// then the event count, both filled in when the batch is sent.
const batchPrefix = wire.HeaderSize + 4

// ErrEventTooLarge is returned for an event that does not fit in a frame
// of the negotiated maximum size even alone.
var ErrEventTooLarge = errors.New("event too large for one frame")

// kindTable maps event kind names to kinds, built once from Spec.Events.
type kindTable struct {
	names []string
	index map[string]Kind
}

func newKindTable(kinds []wire.EventKind) (*kindTable, error) {
	if len(kinds) > 1<<16 {
		return nil, fmt.Errorf("Spec.Events has %d kinds; at most %d fit the wire format", len(kinds), 1<<16)
	}
	t := &kindTable{names: make([]string, len(kinds)), index: make(map[string]Kind, len(kinds))}
	for i, k := range kinds {
		if k.Name == "" {
			return nil, fmt.Errorf("Spec.Events[%d] has no name", i)
		}
		if _, dup := t.index[k.Name]; dup {
			return nil, fmt.Errorf("Spec.Events declares kind %q twice", k.Name)
		}
		t.names[i] = k.Name
		t.index[k.Name] = Kind(i)
	}
	return t, nil
}

func (t *kindTable) lookup(name string) (Kind, error) {
	if k, ok := t.index[name]; ok {
		return k, nil
	}
	return 0, fmt.Errorf("unknown event kind %q: Spec.Events declares %s", name, t.describe())
}

func (t *kindTable) check(k Kind) error {
	if int(k) < len(t.names) {
		return nil
	}
	return fmt.Errorf("unknown event kind %d: Spec.Events declares %s", k, t.describe())
}

func (t *kindTable) describe() string {
	if len(t.names) == 0 {
		return "no kinds"
	}
	return strings.Join(t.names, ", ")
}

// batchLimits bounds the batches of one instance.
type batchLimits struct {
	soft  int // a batch stops growing at this many bytes of frame
	hard  int // no frame may be longer: wire.HeaderSize + the negotiated MaxFrame
	count int // at most this many events
}

// fits reports whether an event of size encoded bytes may join a batch of n
// events whose frame is used bytes long. An event too big for the soft
// budget travels alone in its own frame, up to the hard limit.
func (l *batchLimits) fits(used, n, size int) error {
	if n == 0 {
		if batchPrefix+size > l.hard {
			return fmt.Errorf("%w: %d bytes encoded, the frame limit allows %d", ErrEventTooLarge, size, l.hard-batchPrefix)
		}
		return nil
	}
	if n >= l.count || used+size > l.soft {
		return ErrBatchFull
	}
	return nil
}

// eventSize is the encoded size of an event, as wire.AppendEvent writes it.
func eventSize(payload []byte, meta map[string]string) int {
	n := wire.EventHeaderSize + len(payload)
	if len(meta) > 0 {
		n += 8 // metadata length and pair count
		for k, v := range meta {
			n += 8 + len(k) + len(v)
		}
	}
	return n
}

// sealBatch fills in the frame header and event count of a batch buffer.
func sealBatch(buf []byte, instance uint16, n int) {
	wire.PutHeader(buf, wire.MsgEvents, instance, len(buf)-wire.HeaderSize)
	binary.LittleEndian.PutUint32(buf[wire.HeaderSize:], uint32(n))
}

// Batch is the batch a polled Source fills in NextBatch: the body of the
// EVENTS frame being built, so adding an event encodes it in place.
//
// Positions must increase across the whole instance, not only within one
// batch; position 0 asks for the next one (the previous position plus 1).
// When the batch has no room, Add and Append return ErrBatchFull and change
// nothing: return from NextBatch and add the event to the next batch.
type Batch struct {
	buf    []byte
	n      int
	last   uint64 // the instance's last position, across batches
	room   int    // len(buf) may grow to this: the soft limit, within cap(buf)
	limits batchLimits
	kinds  *kindTable
	filled bool // an event was refused for want of room

	// In the ring: buf is free room of the shared ring that c holds
	// (conn.reserve), spare the buffer to move the batch to when it must
	// leave (relocate), and moved is c.revoked. Otherwise c and spare are
	// nil and moved is never set.
	c     *conn
	spare []byte
	moved *atomic.Bool
}

// notMoved is the moved flag of a batch outside the ring.
var notMoved atomic.Bool

func (b *Batch) reset(buf []byte) {
	b.buf = buf[:batchPrefix]
	b.n = 0
	b.filled = false
	b.room = min(b.limits.soft, cap(buf))
	b.c, b.spare, b.moved = nil, nil, &notMoved
}

// resetInRing starts a batch in room that c holds in the ring, with spare
// to move to if it must.
func (b *Batch) resetInRing(room []byte, c *conn, spare []byte) {
	b.reset(room)
	b.c, b.spare, b.moved = c, spare, &c.revoked
}

// inRing reports whether the batch is still in the ring's room.
func (b *Batch) inRing() bool { return b.c != nil }

// relocate copies the batch out of the ring into its spare buffer and
// gives the room up, so the frames queued behind it go out at once.
func (b *Batch) relocate() {
	c := b.c
	b.buf = append(b.spare[:0], b.buf...)
	b.room = min(b.limits.soft, cap(b.buf))
	b.c, b.spare, b.moved = nil, nil, &notMoved
	c.release()
}

// Add adds e. e.Kind must name a kind of Spec.Events; e.Time 0 stands for
// now.
func (b *Batch) Add(e wire.Event) error {
	k, err := b.kinds.lookup(e.Kind)
	if err != nil {
		return err
	}
	return b.add(e.Position, e.Time, k, e.Payload, e.Metadata)
}

// Append adds an event without metadata, naming its kind by index: the
// fast path of generated code. unixNano 0 stands for now.
func (b *Batch) Append(position uint64, unixNano int64, kind Kind, payload []byte) error {
	if position == 0 {
		position = b.last + 1
	}
	// The common case, checked inline; add checks it all again and says
	// what is wrong.
	at := len(b.buf)
	end := at + wire.EventHeaderSize + len(payload)
	if position > b.last && int(kind) < len(b.kinds.names) && b.n < b.limits.count && end <= b.room && !b.moved.Load() {
		if unixNano == 0 {
			unixNano = nowNano()
		}
		wire.EncodeEvent(b.buf[at:end], position, unixNano, uint16(kind), payload)
		b.buf = b.buf[:end]
		b.n++
		b.last = position
		return nil
	}
	return b.add(position, unixNano, kind, payload, nil)
}

func (b *Batch) add(pos uint64, unixNano int64, kind Kind, payload []byte, meta map[string]string) error {
	if err := b.kinds.check(kind); err != nil {
		return err
	}
	if pos == 0 {
		pos = b.last + 1
	} else if pos <= b.last {
		return fmt.Errorf("event position %d does not follow %d: positions must increase", pos, b.last)
	}
	size := eventSize(payload, meta)
	if err := b.limits.fits(len(b.buf), b.n, size); err != nil {
		b.filled = err == ErrBatchFull
		return err
	}
	if b.inRing() && (len(b.buf)+size > b.room || b.moved.Load()) {
		// The room held is short, or a frame waits behind the batch.
		b.relocate()
	}
	if unixNano == 0 {
		unixNano = nowNano()
	}
	b.buf = wire.AppendEvent(b.buf, pos, unixNano, uint16(kind), payload, meta)
	b.n++
	b.last = pos
	return nil
}

// Len is the number of events in the batch.
func (b *Batch) Len() int { return b.n }

// Full reports whether the batch has no room for another event, not even
// one without payload.
func (b *Batch) Full() bool {
	limit := b.limits.soft
	if b.inRing() {
		limit = b.room // the room held in the ring may be shorter
	}
	return b.n > 0 && (b.n >= b.limits.count || len(b.buf)+wire.EventHeaderSize > limit)
}

// Kind returns the kind named name, and whether Spec.Events declares it.
func (b *Batch) Kind(name string) (Kind, bool) {
	k, ok := b.kinds.index[name]
	return k, ok
}
