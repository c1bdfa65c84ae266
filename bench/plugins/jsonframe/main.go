// Command jsonframe is the JSON baseline plugin: it writes an endless
// stream of events to standard output, each one JSON object in its own
// length-prefixed frame (see internal/jsonframe), until the host closes the
// pipe, when it exits quietly, or kills it.
//
// Usage:
//
//	jsonframe [-size bytes]
package main

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"syscall"
	"time"

	"github.com/plugctl/plugctl/bench/internal/jsonframe"
	"github.com/plugctl/plugctl/bench/internal/workload"
)

func main() {
	size := flag.Int("size", 64, "payload `bytes` per event")
	flag.Parse()
	if err := emit(os.Stdout, *size); err != nil && !errors.Is(err, syscall.EPIPE) {
		fmt.Fprintln(os.Stderr, "jsonframe:", err)
		os.Exit(1)
	}
}

// emit writes frames to out until a write fails. Frames are buffered, so
// the cost measured is JSON's, not one system call per event.
func emit(out io.Writer, size int) error {
	w := bufio.NewWriterSize(out, 64<<10)
	e := jsonframe.Event{Kind: workload.Kind, Payload: workload.Payload(size)}
	var frame []byte
	for pos := uint64(1); ; pos++ {
		if pos%workload.StampEvery == 1 {
			e.Time = time.Now().UnixNano()
		}
		e.Position = pos
		var err error
		if frame, err = jsonframe.Append(frame[:0], &e); err != nil {
			return err
		}
		if _, err := w.Write(frame); err != nil {
			return err
		}
	}
}
