// Command rawframe measures the ceiling under plugctl's transport: it
// encodes one EVENTS frame in plugctl's wire format once, with a body of
// -batch bytes (default sdk.DefaultBatchBytes), then writes it over
// and over until a write fails: to standard output, to the Unix socket
// named by -socket, or with -ring to the shared ring the host offers
// (wire.EnvRingFD), ringing standard output as its doorbell. No
// handshake, per-event encoding, acks or flow control: only the cost of
// the pipe, socket or ring itself. It exits quietly once the reader has
// gone.
//
// With -every D it is the floor under plugctl's latency instead: one
// event per frame, stamped with the time just before it is written, then
// a pause of D, so that the reader is asleep when each frame comes. With
// -futex (and -ring) the doorbell is a futex on the ring header's waiting
// word instead of a byte on standard output, to compare the two wake-ups.
//
// Usage:
//
//	rawframe [-size bytes] [-batch bytes] [-socket path | -ring [-futex]] [-every D]
package main

import (
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"syscall"
	"time"

	"github.com/plugctl/plugctl/bench/internal/workload"
	"github.com/plugctl/plugctl/sdk"
	"github.com/plugctl/plugctl/wire"
)

func main() {
	size := flag.Int("size", 64, "payload `bytes` per event")
	batch := flag.Int("batch", sdk.DefaultBatchBytes, "frame body `bytes`")
	socket := flag.String("socket", "", "Unix socket `path` to connect to instead of writing to standard output")
	ring := flag.Bool("ring", false, "write to the shared ring the host offers")
	futex := flag.Bool("futex", false, "with -ring: wake the reader with a futex, not a doorbell byte")
	every := flag.Duration("every", 0, "write one stamped event, then pause this `long`, over and over")
	flag.Parse()
	w, err := output(*socket, *ring, *futex)
	switch {
	case err != nil:
	case *every > 0:
		err = writeLone(w, *size, *every)
	default:
		err = write(w, encode(*size, *batch))
	}
	if err != nil && !errors.Is(err, syscall.EPIPE) && !errors.Is(err, syscall.ECONNRESET) {
		fmt.Fprintln(os.Stderr, "rawframe:", err)
		os.Exit(1)
	}
}

// output opens what the frames are written to.
func output(socket string, ring, futex bool) (io.Writer, error) {
	switch {
	case socket != "":
		return net.Dial("unix", socket)
	case ring:
		var bell io.Writer = os.Stdout
		if futex {
			// Before OfferedRing, which closes the descriptor.
			var err error
			if bell, err = futexBell(); err != nil {
				return nil, err
			}
		}
		r, err := sdk.OfferedRing()
		if err == nil && r == nil {
			err = errors.New("-ring: the host offered no ring")
		}
		if err != nil {
			return nil, err
		}
		return wire.NewRingWriter(r, bell, nil), nil
	}
	return os.Stdout, nil
}

// writeLone writes one-event frames stamped just before each write, with
// a pause of every between them, until a write fails.
func writeLone(w io.Writer, size int, every time.Duration) error {
	payload := workload.Payload(size)
	frame := make([]byte, 0, wire.HeaderSize+4+wire.EventHeaderSize+size)
	for pos := uint64(1); ; pos++ {
		frame = append(frame[:wire.HeaderSize], 1, 0, 0, 0)
		frame = wire.AppendEvent(frame, pos, time.Now().UnixNano(), 0, payload, nil)
		wire.PutHeader(frame, wire.MsgEvents, 1, len(frame)-wire.HeaderSize)
		if _, err := w.Write(frame); err != nil {
			return err
		}
		time.Sleep(every)
	}
}

// write writes frame to w until a write fails.
func write(w io.Writer, frame []byte) error {
	for {
		if _, err := w.Write(frame); err != nil {
			return err
		}
	}
}

// encode returns one complete EVENTS frame holding as many events of size
// payload bytes as fit in a body of limit bytes, and no more than a
// SDK batch holds.
func encode(size, limit int) []byte {
	n := min(max((limit-4)/(wire.EventHeaderSize+size), 1), sdk.MaxBatchEvents)
	payload := workload.Payload(size)
	frame := make([]byte, wire.HeaderSize+4, wire.HeaderSize+limit)
	binary.LittleEndian.PutUint32(frame[wire.HeaderSize:], uint32(n))
	for i := range n {
		frame = wire.AppendEvent(frame, uint64(i+1), 0, 0, payload, nil)
	}
	wire.PutHeader(frame, wire.MsgEvents, 1, len(frame)-wire.HeaderSize)
	return frame
}
