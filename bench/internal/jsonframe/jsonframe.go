// Package jsonframe is the JSON baseline's wire format: each event is one
// JSON object in its own frame, a little-endian u32 body length followed by
// the body. The baseline plugin (plugins/jsonframe) writes frames to its
// standard output and the benchmark host reads them.
package jsonframe

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
)

// MaxFrame bounds the body a Reader accepts.
const MaxFrame = 1 << 20

// Event is one event as a JSON object; Payload travels as base64.
type Event struct {
	Position uint64 `json:"position"`
	Time     int64  `json:"time"` // Unix time in nanoseconds
	Kind     string `json:"kind"`
	Payload  []byte `json:"payload"`
}

// Append appends e's frame to dst.
func Append(dst []byte, e *Event) ([]byte, error) {
	body, err := json.Marshal(e)
	if err != nil {
		return dst, err
	}
	dst = binary.LittleEndian.AppendUint32(dst, uint32(len(body)))
	return append(dst, body...), nil
}

// Reader decodes frames from a stream, reusing one buffer for the bodies.
type Reader struct {
	r   io.Reader
	hdr [4]byte
	buf []byte
}

// NewReader returns a Reader of r; wrap r in a bufio.Reader.
func NewReader(r io.Reader) *Reader { return &Reader{r: r} }

// Next reads and unmarshals the next frame into e.
func (fr *Reader) Next(e *Event) error {
	if _, err := io.ReadFull(fr.r, fr.hdr[:]); err != nil {
		return err
	}
	n := binary.LittleEndian.Uint32(fr.hdr[:])
	if n > MaxFrame {
		return fmt.Errorf("jsonframe: frame of %d bytes exceeds the %d-byte limit", n, MaxFrame)
	}
	if cap(fr.buf) < int(n) {
		fr.buf = make([]byte, n)
	}
	body := fr.buf[:n]
	if _, err := io.ReadFull(fr.r, body); err != nil {
		return fmt.Errorf("jsonframe: stream ended inside a %d-byte frame: %w", n, err)
	}
	return json.Unmarshal(body, e)
}
