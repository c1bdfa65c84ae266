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
// Usage:
//
//	rawframe [-size bytes] [-batch bytes] [-socket path | -ring]
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

	"github.com/plugctl/plugctl/bench/internal/workload"
	"github.com/plugctl/plugctl/sdk"
	"github.com/plugctl/plugctl/wire"
)

func main() {
	size := flag.Int("size", 64, "payload `bytes` per event")
	batch := flag.Int("batch", sdk.DefaultBatchBytes, "frame body `bytes`")
	socket := flag.String("socket", "", "Unix socket `path` to connect to instead of writing to standard output")
	ring := flag.Bool("ring", false, "write to the shared ring the host offers")
	flag.Parse()
	w, err := output(*socket, *ring)
	if err == nil {
		err = write(w, encode(*size, *batch))
	}
	if err != nil && !errors.Is(err, syscall.EPIPE) && !errors.Is(err, syscall.ECONNRESET) {
		fmt.Fprintln(os.Stderr, "rawframe:", err)
		os.Exit(1)
	}
}

// output opens what the frames are written to.
func output(socket string, ring bool) (io.Writer, error) {
	switch {
	case socket != "":
		return net.Dial("unix", socket)
	case ring:
		r, err := sdk.OfferedRing()
		if err == nil && r == nil {
			err = errors.New("-ring: the host offered no ring")
		}
		if err != nil {
			return nil, err
		}
		return wire.NewRingWriter(r, os.Stdout, nil), nil
	}
	return os.Stdout, nil
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
