package wire

import (
	"encoding/binary"
	"fmt"
	"math"
	"sort"
)

// The primitives every message body is built from, all little-endian:
// u8, u16, u32, u64, i64, f64 (IEEE 754 bits as u64), bool (u8 0 or 1),
// str and bytes (u32 length, then the bytes), list (u32 count, then items).

type encoder []byte

func (e *encoder) u8(v uint8)   { *e = append(*e, v) }
func (e *encoder) u16(v uint16) { *e = binary.LittleEndian.AppendUint16(*e, v) }
func (e *encoder) u32(v uint32) { *e = binary.LittleEndian.AppendUint32(*e, v) }
func (e *encoder) u64(v uint64) { *e = binary.LittleEndian.AppendUint64(*e, v) }
func (e *encoder) i64(v int64)  { e.u64(uint64(v)) }
func (e *encoder) f64(v float64) {
	e.u64(math.Float64bits(v))
}
func (e *encoder) bool(v bool) {
	if v {
		e.u8(1)
	} else {
		e.u8(0)
	}
}
func (e *encoder) str(s string) { e.u32(uint32(len(s))); *e = append(*e, s...) }
func (e *encoder) strs(l []string) {
	e.u32(uint32(len(l)))
	for _, s := range l {
		e.str(s)
	}
}

// settings encodes a map as a list of key/value pairs sorted by key, so the
// same settings always give the same bytes.
func (e *encoder) settings(m map[string]string) {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	e.u32(uint32(len(keys)))
	for _, k := range keys {
		e.str(k)
		e.str(m[k])
	}
}

// decoder reads primitives from a body. The first failure sticks: later
// reads return zero values, and err says what was missing and where.
type decoder struct {
	b   []byte
	off int
	msg MsgType
	err error
}

func (d *decoder) fail(what string, need int) {
	if d.err == nil {
		d.err = fmt.Errorf("%w: %s body truncated at byte %d reading %s (need %d bytes, %d left)",
			ErrMalformed, d.msg, d.off, what, need, len(d.b)-d.off)
	}
}

func (d *decoder) take(n int, what string) []byte {
	if d.err != nil {
		return nil
	}
	if n < 0 || len(d.b)-d.off < n {
		d.fail(what, n)
		return nil
	}
	v := d.b[d.off : d.off+n : d.off+n]
	d.off += n
	return v
}

func (d *decoder) u8(what string) uint8 {
	if b := d.take(1, what); b != nil {
		return b[0]
	}
	return 0
}

func (d *decoder) u16(what string) uint16 {
	if b := d.take(2, what); b != nil {
		return binary.LittleEndian.Uint16(b)
	}
	return 0
}

func (d *decoder) u32(what string) uint32 {
	if b := d.take(4, what); b != nil {
		return binary.LittleEndian.Uint32(b)
	}
	return 0
}

func (d *decoder) u64(what string) uint64 {
	if b := d.take(8, what); b != nil {
		return binary.LittleEndian.Uint64(b)
	}
	return 0
}

func (d *decoder) i64(what string) int64   { return int64(d.u64(what)) }
func (d *decoder) f64(what string) float64 { return math.Float64frombits(d.u64(what)) }

func (d *decoder) bool(what string) bool {
	switch v := d.u8(what); v {
	case 0:
		return false
	case 1:
		return true
	default:
		if d.err == nil {
			d.err = fmt.Errorf("%w: %s field %s is %d, want 0 or 1", ErrMalformed, d.msg, what, v)
		}
		return false
	}
}

func (d *decoder) bytes(what string) []byte {
	n := d.u32(what + " length")
	return d.take(int(n), what)
}

func (d *decoder) str(what string) string { return string(d.bytes(what)) }

// count reads a list length and checks that at least min bytes per item
// remain, so a forged count cannot make us allocate a huge slice.
func (d *decoder) count(what string, min int) int {
	n := d.u32(what + " count")
	// Compared as uint64: on 32-bit systems int(n) may be negative.
	if d.err == nil && uint64(n) > uint64((len(d.b)-d.off)/min) {
		d.err = fmt.Errorf("%w: %s says %d %s but only %d bytes remain", ErrMalformed, d.msg, n, what, len(d.b)-d.off)
		return 0
	}
	return int(n)
}

func (d *decoder) strs(what string) []string {
	n := d.count(what, 4)
	if n == 0 {
		return nil
	}
	l := make([]string, n)
	for i := range l {
		l[i] = d.str(what)
	}
	return l
}

func (d *decoder) settings(what string) map[string]string {
	n := d.count(what, 8)
	m := make(map[string]string, n)
	for range n {
		k := d.str(what + " key")
		m[k] = d.str(what + " value")
	}
	return m
}

// end reports trailing bytes as an error: a body must be consumed exactly.
func (d *decoder) end() error {
	if d.err == nil && d.off != len(d.b) {
		d.err = fmt.Errorf("%w: %s body has %d unexpected trailing bytes", ErrMalformed, d.msg, len(d.b)-d.off)
	}
	return d.err
}
