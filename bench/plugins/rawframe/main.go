// Command rawframe measures the ceiling under plugctl's transport: it
// encodes one EVENTS frame in plugctl's wire format once, then writes it to
// standard output over and over until the write fails. No handshake,
// encoding per event, acks or flow control: only the pipe's cost.
//
// Usage:
//
//	rawframe [-size bytes] [-frame bytes]
package main

import (
	"encoding/binary"
	"flag"
	"fmt"
	"os"

	"github.com/plugctl/plugctl/bench/internal/workload"
	"github.com/plugctl/plugctl/runtime"
)

func main() {
	size := flag.Int("size", 64, "payload `bytes` per event")
	frameSize := flag.Int("frame", 256<<10, "largest frame body in `bytes`")
	flag.Parse()
	frame := encode(*size, *frameSize)
	for {
		if _, err := os.Stdout.Write(frame); err != nil {
			fmt.Fprintln(os.Stderr, "rawframe:", err)
			os.Exit(1)
		}
	}
}

// encode returns one complete EVENTS frame holding as many events of size
// payload bytes as fit in a body of at most limit bytes.
func encode(size, limit int) []byte {
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
