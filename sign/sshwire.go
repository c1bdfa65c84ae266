package sign

import (
	"encoding/binary"
	"errors"
)

// The SSH wire encoding (RFC 4251 section 5) as used by both formats this
// package reads: a uint32 is 4 bytes big-endian, a string is a uint32
// length followed by that many bytes.

// errShort reports a field that runs past the end of its buffer.
var errShort = errors.New("truncated data")

// wireWriter appends SSH wire encoded fields to a byte slice.
type wireWriter struct{ b []byte }

func (w *wireWriter) uint32(v uint32) { w.b = binary.BigEndian.AppendUint32(w.b, v) }

func (w *wireWriter) raw(p []byte) { w.b = append(w.b, p...) }

func (w *wireWriter) string(p []byte) {
	w.uint32(uint32(len(p)))
	w.raw(p)
}

// wireReader consumes SSH wire encoded fields. The first failure sticks, so
// a parser can read all its fields and check err once at the end.
type wireReader struct {
	b   []byte
	err error
}

func (r *wireReader) raw(n int) []byte {
	if r.err != nil {
		return nil
	}
	if n < 0 || n > len(r.b) {
		r.err = errShort
		return nil
	}
	p := r.b[:n:n]
	r.b = r.b[n:]
	return p
}

func (r *wireReader) uint32() uint32 {
	p := r.raw(4)
	if p == nil {
		return 0
	}
	return binary.BigEndian.Uint32(p)
}

func (r *wireReader) string() []byte {
	n := r.uint32()
	if r.err != nil {
		return nil
	}
	// Compare as uint64 so a huge length cannot wrap int on 32-bit systems.
	if uint64(n) > uint64(len(r.b)) {
		r.err = errShort
		return nil
	}
	return r.raw(int(n))
}

// done reports the first error, or an error if bytes are left over: every
// structure parsed here has a fixed set of fields, so extra bytes mean the
// input is not what it claims to be.
func (r *wireReader) done() error {
	if r.err == nil && len(r.b) > 0 {
		return errors.New("unexpected trailing data")
	}
	return r.err
}
