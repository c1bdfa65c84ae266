package wire

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// ProtocolVersion is the newest wire protocol version this package speaks;
// it speaks every version from 1 up. docs/PROTOCOL.md in the plugctl
// repository is their specification. Version 2 adds the ring transport;
// version 3 adds a status to END, so that one instance can fail alone;
// version 4 adds the input ring, which carries the host's frames.
const ProtocolVersion = 4

// Versions that changed a message's layout: a body's layout follows from
// the session's version, never from its length.
const (
	// RingVersion is the first version whose HELLO_ACK carries a
	// transport. A plugin lists exactly this version to say it can take
	// a ring the host offers; later versions say nothing about the ring.
	RingVersion = 2

	// EndStatusVersion is the first version whose END carries a status
	// and a message.
	EndStatusVersion = 3

	// InputRingVersion is the first version whose HELLO_ACK carries an
	// input transport. A plugin lists exactly this version to say it can
	// take an input ring the host offers, as RingVersion says of the ring.
	InputRingVersion = 4
)

// Frame size limits, in bytes of body (the 8-byte header is not counted).
const (
	HeaderSize = 8

	// HelloMaxFrame bounds every frame read before the handshake completes,
	// so a peer that is not a plugctl plugin cannot make us allocate much.
	HelloMaxFrame = 64 << 10

	// DefaultMaxFrame is the limit a host offers unless configured otherwise.
	DefaultMaxFrame = 1 << 20

	// MaxFrameLimit is the largest limit a host may offer.
	MaxFrameLimit = 64 << 20
)

// MsgType identifies the message a frame carries.
type MsgType uint8

// Message types. P→H: plugin to host; H→P: host to plugin.
const (
	MsgHello       MsgType = 0x01 // P→H: identity and protocol versions
	MsgHelloAck    MsgType = 0x02 // H→P: chosen version and limits
	MsgReject      MsgType = 0x03 // H→P: handshake refused, with a reason
	MsgGoodbye     MsgType = 0x04 // both: the sender is ending the session
	MsgError       MsgType = 0x05 // both: fatal error; the sender closes next
	MsgHeartbeat   MsgType = 0x06 // both: liveness
	MsgSpecRequest MsgType = 0x10 // H→P: ask for the specification
	MsgSpec        MsgType = 0x11 // P→H: the specification
	MsgSetup       MsgType = 0x12 // H→P: process-wide configuration
	MsgOpen        MsgType = 0x13 // H→P: open an instance with its configuration
	MsgStop        MsgType = 0x14 // H→P: stop an instance, draining it
	MsgClose       MsgType = 0x15 // H→P: release a stopped instance
	MsgReply       MsgType = 0x16 // P→H: the answer to a request
	MsgEvents      MsgType = 0x20 // P→H: a batch of events from a source
	MsgAck         MsgType = 0x21 // H→P: cumulative acknowledgement
	MsgProgress    MsgType = 0x22 // P→H: progress of a source
	MsgWrite       MsgType = 0x23 // H→P: a batch of events for a sink
	MsgResult      MsgType = 0x24 // P→H: the outcome of one write
	MsgEnd         MsgType = 0x25 // P→H: the source has finished for good
)

var msgNames = map[MsgType]string{
	MsgHello: "HELLO", MsgHelloAck: "HELLO_ACK", MsgReject: "REJECT",
	MsgGoodbye: "GOODBYE", MsgError: "ERROR", MsgHeartbeat: "HEARTBEAT",
	MsgSpecRequest: "SPEC_REQUEST", MsgSpec: "SPEC", MsgSetup: "SETUP",
	MsgOpen: "OPEN", MsgStop: "STOP", MsgClose: "CLOSE", MsgReply: "REPLY",
	MsgEvents: "EVENTS", MsgAck: "ACK", MsgProgress: "PROGRESS",
	MsgWrite: "WRITE", MsgResult: "RESULT", MsgEnd: "END",
}

// String returns the message type's name as the protocol documents it.
func (t MsgType) String() string {
	if s, ok := msgNames[t]; ok {
		return s
	}
	return fmt.Sprintf("MsgType(0x%02x)", uint8(t))
}

// Known reports whether t is a message type of this protocol version.
func (t MsgType) Known() bool {
	_, ok := msgNames[t]
	return ok
}

// Header is the fixed 8-byte prefix of every frame.
type Header struct {
	Size     uint32  // body length in bytes
	Type     MsgType // what the body holds
	Flags    uint8   // must be zero in version 1
	Instance uint16  // instance the frame concerns; 0 is the process
}

// ErrMalformed is wrapped by every error about bytes that break the
// protocol: a bad header, a truncated body, an impossible length.
var ErrMalformed = errors.New("malformed frame")

// ErrFrameTooLarge is wrapped when a header announces a body over the limit.
var ErrFrameTooLarge = errors.New("frame too large")

// AppendHeader appends a frame header for a body of size bytes.
func AppendHeader(dst []byte, t MsgType, instance uint16, size int) []byte {
	dst = binary.LittleEndian.AppendUint32(dst, uint32(size))
	return append(dst, byte(t), 0, byte(instance), byte(instance>>8))
}

// PutHeader writes a frame header into the first HeaderSize bytes of b.
// Writers that build the body first and fill the header last use it.
func PutHeader(b []byte, t MsgType, instance uint16, size int) {
	binary.LittleEndian.PutUint32(b, uint32(size))
	b[4] = byte(t)
	b[5] = 0
	binary.LittleEndian.PutUint16(b[6:], instance)
}

// ParseHeader decodes a frame header and checks it against max.
func ParseHeader(b []byte, max uint32) (Header, error) {
	if len(b) < HeaderSize {
		return Header{}, fmt.Errorf("%w: header is %d bytes, want %d", ErrMalformed, len(b), HeaderSize)
	}
	h := Header{
		Size:     binary.LittleEndian.Uint32(b),
		Type:     MsgType(b[4]),
		Flags:    b[5],
		Instance: binary.LittleEndian.Uint16(b[6:]),
	}
	if h.Size > max {
		return h, fmt.Errorf("%w: %s frame announces %d bytes, limit is %d", ErrFrameTooLarge, h.Type, h.Size, max)
	}
	if h.Flags != 0 {
		return h, fmt.Errorf("%w: %s frame has flags 0x%02x, want 0", ErrMalformed, h.Type, h.Flags)
	}
	if !h.Type.Known() {
		return h, fmt.Errorf("%w: unknown message type 0x%02x", ErrMalformed, uint8(h.Type))
	}
	return h, nil
}

// FrameReader reads frames from a stream into one reused buffer, so reading
// allocates nothing once the buffer has grown to the largest frame seen.
type FrameReader struct {
	r   io.Reader
	max uint32
	hdr [HeaderSize]byte
	buf []byte
}

// NewFrameReader returns a reader that accepts bodies of at most max bytes.
func NewFrameReader(r io.Reader, max uint32) *FrameReader {
	return &FrameReader{r: r, max: max}
}

// SetMax changes the body limit, as after a handshake.
func (fr *FrameReader) SetMax(max uint32) { fr.max = max }

// Swap hands over the buffer holding the body that Next returned last,
// which then stays valid for good, and gives the reader buf to read later
// frames into (a nil or small buf is replaced as frames need). A reader of
// large frames that keeps their bodies spares itself a copy of each.
func (fr *FrameReader) Swap(buf []byte) []byte {
	old := fr.buf
	fr.buf = buf
	return old
}

// Next reads one frame. The body is valid until the next call, or for good
// after Swap.
// A clean end of stream between frames returns io.EOF; a stream that ends
// inside a frame returns an error wrapping io.ErrUnexpectedEOF.
func (fr *FrameReader) Next() (Header, []byte, error) {
	if _, err := io.ReadFull(fr.r, fr.hdr[:]); err != nil {
		if err == io.ErrUnexpectedEOF {
			return Header{}, nil, fmt.Errorf("%w: stream ended inside a frame header: %w", ErrMalformed, err)
		}
		return Header{}, nil, err
	}
	h, err := ParseHeader(fr.hdr[:], fr.max)
	if err != nil {
		return h, nil, err
	}
	if cap(fr.buf) < int(h.Size) {
		fr.buf = make([]byte, h.Size)
	}
	body := fr.buf[:h.Size]
	if _, err := io.ReadFull(fr.r, body); err != nil {
		if errors.Is(err, ErrMalformed) {
			return h, nil, fmt.Errorf("reading a %d-byte %s body: %w", h.Size, h.Type, err)
		}
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return h, nil, fmt.Errorf("%w: stream ended inside a %d-byte %s body: %w", ErrMalformed, h.Size, h.Type, err)
	}
	return h, body, nil
}
