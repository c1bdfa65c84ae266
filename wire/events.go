package wire

import (
	"encoding/binary"
	"fmt"
	"slices"
)

// Event is one record travelling between a plugin and its host.
type Event struct {
	Position uint64            // strictly increasing within an instance
	Time     int64             // Unix time in nanoseconds
	Kind     string            // a name from the plugin's event kind table
	Payload  []byte            // opaque bytes; generated event types use JSON
	Metadata map[string]string // optional; nil travels as no metadata
}

// EventHeaderSize is the fixed part of every encoded event: position u64,
// time i64, kind u16, flags u16, payload length u32.
const EventHeaderSize = 24

// eventHasMetadata is the flag bit telling a metadata block follows the header.
const eventHasMetadata = 1

// AppendEvent appends one encoded event to a batch body. kind is the
// index of the event's kind in the plugin's kind table.
func AppendEvent(dst []byte, position uint64, unixNano int64, kind uint16, payload []byte, meta map[string]string) []byte {
	if len(meta) > 0 {
		return appendEventMeta(dst, position, unixNano, kind, payload, meta)
	}
	return PutEvent(slices.Grow(dst, EventHeaderSize+len(payload)), position, unixNano, kind, payload)
}

// PutEvent encodes an event without metadata in place: dst must have room
// for it. It is small enough to be inlined, for the per-event hot paths.
func PutEvent(dst []byte, position uint64, unixNano int64, kind uint16, payload []byte) []byte {
	n := len(dst)
	dst = dst[:n+EventHeaderSize+len(payload)]
	EncodeEvent(dst[n:], position, unixNano, kind, payload)
	return dst
}

// EncodeEvent writes an event without metadata into h, which is exactly
// its size.
func EncodeEvent(h []byte, position uint64, unixNano int64, kind uint16, payload []byte) {
	binary.LittleEndian.PutUint64(h, position)
	binary.LittleEndian.PutUint64(h[8:], uint64(unixNano))
	binary.LittleEndian.PutUint32(h[16:], uint32(kind)) // kind u16, then flags u16 0
	binary.LittleEndian.PutUint32(h[20:], uint32(len(payload)))
	copy(h[EventHeaderSize:], payload)
}

func appendEventMeta(dst []byte, position uint64, unixNano int64, kind uint16, payload []byte, meta map[string]string) []byte {
	dst = binary.LittleEndian.AppendUint64(dst, position)
	dst = binary.LittleEndian.AppendUint64(dst, uint64(unixNano))
	dst = binary.LittleEndian.AppendUint16(dst, kind)
	dst = binary.LittleEndian.AppendUint16(dst, eventHasMetadata)
	dst = binary.LittleEndian.AppendUint32(dst, uint32(len(payload)))
	at := len(dst)
	e := encoder(append(dst, 0, 0, 0, 0))
	e.settings(meta)
	dst = e
	binary.LittleEndian.PutUint32(dst[at:], uint32(len(dst)-at-4))
	return append(dst, payload...)
}

// Events is a validated batch of events: the body of an EVENTS frame, or of
// a WRITE frame after its batch id. It refers to the frame's bytes and is
// valid only as long as they are.
type Events struct {
	body  []byte // count u32, then the events
	count int
	first uint64
	last  uint64
	kinds []string
}

// ParseEvents checks a batch body completely (lengths, kinds, positions
// strictly increasing) so that no reader ever sees half of a bad batch.
func ParseEvents(body []byte, kinds []string, msg MsgType) (Events, error) {
	if len(body) < 4 {
		return Events{}, fmt.Errorf("%w: %s body is %d bytes, too short for an event count", ErrMalformed, msg, len(body))
	}
	// Lengths are checked as uint64 before they become ints: on 32-bit
	// systems a large u32 would turn negative.
	count := binary.LittleEndian.Uint32(body)
	if count == 0 {
		return Events{}, fmt.Errorf("%w: %s batch holds no events", ErrMalformed, msg)
	}
	if uint64(count) > uint64((len(body)-4)/EventHeaderSize) {
		return Events{}, fmt.Errorf("%w: %s says %d events but has room for at most %d", ErrMalformed, msg, count, (len(body)-4)/EventHeaderSize)
	}
	b := Events{body: body, count: int(count), kinds: kinds}
	off := 4
	for i := range b.count {
		if len(body)-off < EventHeaderSize {
			return Events{}, fmt.Errorf("%w: %s event %d of %d is cut off at byte %d", ErrMalformed, msg, i+1, b.count, off)
		}
		h := body[off : off+EventHeaderSize]
		pos := binary.LittleEndian.Uint64(h)
		kind := binary.LittleEndian.Uint16(h[16:])
		flags := binary.LittleEndian.Uint16(h[18:])
		size := uint64(binary.LittleEndian.Uint32(h[20:]))
		off += EventHeaderSize
		if int(kind) >= len(kinds) {
			return Events{}, fmt.Errorf("%w: %s event at position %d has kind %d but the kind table has %d entries", ErrMalformed, msg, pos, kind, len(kinds))
		}
		if flags&^eventHasMetadata != 0 {
			return Events{}, fmt.Errorf("%w: %s event at position %d has unknown flags 0x%04x", ErrMalformed, msg, pos, flags)
		}
		if i == 0 {
			b.first = pos
		} else if pos <= b.last {
			return Events{}, fmt.Errorf("%w: %s event position %d follows %d; positions must increase", ErrMalformed, msg, pos, b.last)
		}
		b.last = pos
		if flags&eventHasMetadata != 0 {
			if len(body)-off < 4 {
				return Events{}, fmt.Errorf("%w: %s event at position %d: metadata length cut off", ErrMalformed, msg, pos)
			}
			n := uint64(binary.LittleEndian.Uint32(body[off:]))
			off += 4
			if n > uint64(len(body)-off) {
				return Events{}, fmt.Errorf("%w: %s event at position %d: metadata of %d bytes overruns the frame", ErrMalformed, msg, pos, n)
			}
			d := decoder{b: body[off : off+int(n)], msg: msg}
			d.settings("metadata")
			if err := d.end(); err != nil {
				return Events{}, err
			}
			off += int(n)
		}
		if size > uint64(len(body)-off) {
			return Events{}, fmt.Errorf("%w: %s event at position %d: payload of %d bytes overruns the frame (%d left)", ErrMalformed, msg, pos, size, len(body)-off)
		}
		off += int(size)
	}
	if off != len(body) {
		return Events{}, fmt.Errorf("%w: %s batch has %d trailing bytes after %d events", ErrMalformed, msg, len(body)-off, b.count)
	}
	return b, nil
}

// Len is the number of events in the batch.
func (b *Events) Len() int { return b.count }

// First is the position of the batch's first event.
func (b *Events) First() uint64 { return b.first }

// Last is the position of the batch's last event.
func (b *Events) Last() uint64 { return b.last }

// Reader returns a cursor over the batch's events:
//
//	r := b.Reader()
//	for r.Next(&e) {
//		...
//	}
//
// Declared in the for statement instead (for r := b.Reader(); r.Next(&e);),
// the cursor is a per-iteration loop variable, copied on every event.
func (b *Events) Reader() EventReader {
	return EventReader{b: b.body, off: 4, left: b.count, kinds: b.kinds}
}

// EventReader walks a validated batch without allocating, except for the
// metadata map of an event that carries metadata.
type EventReader struct {
	b     []byte
	off   int
	left  int
	kinds []string
}

// Next fills e with the next event and reports whether there was one.
// e.Payload refers to the frame's bytes.
func (r *EventReader) Next(e *Event) bool {
	if r.left == 0 {
		return false
	}
	r.left--
	h := r.b[r.off:]
	h = h[:EventHeaderSize:len(h)]
	e.Position = binary.LittleEndian.Uint64(h)
	e.Time = int64(binary.LittleEndian.Uint64(h[8:]))
	e.Kind = r.kinds[binary.LittleEndian.Uint16(h[16:])]
	size := int(binary.LittleEndian.Uint32(h[20:]))
	r.off += EventHeaderSize
	if binary.LittleEndian.Uint16(h[18:])&eventHasMetadata != 0 {
		r.metadata(e)
	} else {
		e.Metadata = nil
	}
	e.Payload = r.b[r.off : r.off+size : r.off+size]
	r.off += size
	return true
}

// metadata decodes the metadata block that follows an event's header:
// the rare case, kept out of Next.
func (r *EventReader) metadata(e *Event) {
	n := int(binary.LittleEndian.Uint32(r.b[r.off:]))
	d := decoder{b: r.b[r.off+4 : r.off+4+n]}
	e.Metadata = d.settings("metadata")
	r.off += 4 + n
}
