// Command rawframe measures the ceiling under plugctl's transport: it
// encodes one EVENTS frame in plugctl's wire format once, as large as the
// runtime's batches (runtime.DefaultBatchBytes), then writes it
// over and over until a write fails: to standard output, or to the Unix
// socket named by -socket. No handshake, per-event encoding, acks or flow
// control: only the cost of the pipe or socket itself. It exits quietly
// once the reader has gone.
//
// Usage:
//
//	rawframe [-size bytes] [-socket path]
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
	"github.com/plugctl/plugctl/runtime"
)

func main() {
	size := flag.Int("size", 64, "payload `bytes` per event")
	socket := flag.String("socket", "", "Unix socket `path` to connect to instead of writing to standard output")
	flag.Parse()
	err := write(*socket, encode(*size))
	if err != nil && !errors.Is(err, syscall.EPIPE) && !errors.Is(err, syscall.ECONNRESET) {
		fmt.Fprintln(os.Stderr, "rawframe:", err)
		os.Exit(1)
	}
}

// write writes frame to standard output or to socket until a write fails.
func write(socket string, frame []byte) error {
	var w io.Writer = os.Stdout
	if socket != "" {
		c, err := net.Dial("unix", socket)
		if err != nil {
			return err
		}
		defer c.Close()
		w = c
	}
	for {
		if _, err := w.Write(frame); err != nil {
			return err
		}
	}
}

// encode returns one complete EVENTS frame holding as many events of size
// payload bytes as fit in a body of runtime.DefaultBatchBytes.
func encode(size int) []byte {
	limit := runtime.DefaultBatchBytes
	n := max((limit-4)/(runtime.EventHeaderSize+size), 1)
	payload := workload.Payload(size)
	frame := make([]byte, runtime.HeaderSize+4, runtime.HeaderSize+limit)
	binary.LittleEndian.PutUint32(frame[runtime.HeaderSize:], uint32(n))
	for i := range n {
		frame = runtime.AppendEvent(frame, uint64(i+1), 0, 0, payload, nil)
	}
	runtime.PutHeader(frame, runtime.MsgEvents, 1, len(frame)-runtime.HeaderSize)
	return frame
}
