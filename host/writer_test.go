//go:build unix

package host

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/plugctl/plugctl/wire"
)

// readAck reads one frame from r, within 10 s, and checks it is the ACK of instance id
// at pos.
func readAck(t *testing.T, r *os.File, id uint16, pos uint64) {
	t.Helper()
	r.SetReadDeadline(time.Now().Add(10 * time.Second))
	defer r.SetReadDeadline(time.Time{})
	fr := wire.NewFrameReader(r, wire.DefaultMaxFrame)
	h, body, err := fr.Next()
	if err != nil {
		t.Fatalf("reading the ACK: %v", err)
	}
	var m wire.Ack
	if err := m.Decode(body); err != nil || h.Type != wire.MsgAck || h.Instance != id || m.Position != pos {
		t.Fatalf("got %s instance %d position %d (%v), want ACK instance %d position %d", h.Type, h.Instance, m.Position, err, id, pos)
	}
}

// TestAckWrittenAtOnce: with the writer idle, an ACK goes out from the
// caller's goroutine. The writer's goroutine never runs here, so the ACK
// can only have come that way.
func TestAckWrittenAtOnce(t *testing.T) {
	r, w := pipe(t)
	// A launched plugin's connection, whose write side is w.
	wr := newWriter(&pipeConn{w: w}, make(chan struct{}), func(err error) { t.Errorf("write failed: %v", err) })
	s := &Source{id: 3}
	s.acked.Store(10)
	wr.ack(s)
	readAck(t, r, 3, 10)
	wr.ack(s) // nothing new to acknowledge: nothing written
	s.acked.Store(25)
	wr.ack(s)
	readAck(t, r, 3, 25)
	if s.ackQueued.Load() {
		t.Error("an ACK written at once was also scheduled with the writer")
	}
}

// TestAckFullPipe: a plugin that stops reading fills its pipe. An ACK must
// not wait for room: the writer's goroutine sends it, after what was in
// the pipe, once the plugin reads again.
func TestAckFullPipe(t *testing.T) {
	r, w := pipe(t)
	filler := fillPipe(t, w)

	quit := make(chan struct{})
	defer close(quit)
	wr := newWriter(w, quit, func(err error) { t.Errorf("write failed: %v", err) })
	s := &Source{id: 1}
	s.acked.Store(7)
	ackReturns(t, wr, s, "in a full pipe")
	if !s.ackQueued.Load() {
		t.Fatal("the ACK the pipe had no room for was not scheduled with the writer")
	}
	go wr.run()
	got := make([]byte, filler)
	if _, err := io.ReadFull(r, got); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, make([]byte, filler)) {
		t.Fatal("the pipe's first bytes are not the ones that filled it")
	}
	readAck(t, r, 1, 7)
}

// pipe returns a new pipe, closed when the test ends.
func pipe(t *testing.T) (r, w *os.File) {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		r.Close()
		w.Close()
	})
	return r, w
}

// ackReturns fails the test if wr.ack(s) waits for room, where says where.
func ackReturns(t *testing.T, wr *writer, s *Source, where string) {
	t.Helper()
	returned := make(chan struct{})
	go func() {
		wr.ack(s)
		close(returned)
	}()
	select {
	case <-returned:
	case <-time.After(10 * time.Second):
		t.Fatal("ack waited for room " + where)
	}
}

// fillPipe writes zeros to w until the pipe has no room, and returns how
// many it wrote.
func fillPipe(t *testing.T, w *os.File) int {
	t.Helper()
	rc, err := w.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	chunk := make([]byte, 4096)
	total := 0
	for {
		var n int
		var werr error
		if err := rc.Write(func(fd uintptr) bool {
			n, werr = syscall.Write(int(fd), chunk)
			return true
		}); err != nil {
			t.Fatal(err)
		}
		if errors.Is(werr, syscall.EAGAIN) {
			return total
		}
		if werr != nil {
			t.Fatal(werr)
		}
		total += n
	}
}

// TestAckBlockingDescriptor: on a descriptor in blocking mode a write waits
// for room however it is asked, so the writer must not try one there: ack
// on a full pipe in blocking mode still returns at once.
func TestAckBlockingDescriptor(t *testing.T) {
	_, w := pipe(t) // the read end stays open: the pipe is full, not broken
	fillPipe(t, w)
	w.Fd() // puts the descriptor in blocking mode
	wr := newWriter(w, make(chan struct{}), func(err error) { t.Errorf("write failed: %v", err) })
	s := &Source{id: 1}
	s.acked.Store(7)
	ackReturns(t, wr, s, "on a blocking descriptor")
}

// TestAckBrokenPipe: when the plugin's end is gone, the ACK is left to the
// writer, which reports the failure; the process does not die of SIGPIPE.
func TestAckBrokenPipe(t *testing.T) {
	r, w := pipe(t)
	r.Close()
	wr := newWriter(w, make(chan struct{}), func(error) {})
	s := &Source{id: 1}
	s.acked.Store(5)
	wr.ack(s)
	if !s.ackQueued.Load() || s.ackSent != 0 {
		t.Fatalf("after a failed write: scheduled %v, sent up to %d; want scheduled, nothing sent", s.ackQueued.Load(), s.ackSent)
	}
}

// TestAcksBesideWriter: ACKs written at once and ACKs the busy writer
// sends, among other frames, arrive with positions only going up, the
// last of each instance included, and before a frame queued after them.
func TestAcksBesideWriter(t *testing.T) {
	for round := range 10 {
		r, w := pipe(t)
		quit := make(chan struct{})
		wr := newWriter(&pipeConn{w: w}, quit, func(err error) { t.Errorf("write failed: %v", err) })
		go wr.run()

		const last = 20000
		sources := []*Source{{id: 1}, {id: 2}}
		got := make(chan error, 1)
		go func() { got <- readAcksUntilClose(r, len(sources), last) }()
		beats := make(chan struct{})
		go func() {
			defer close(beats)
			for range 2000 {
				wr.send(wire.AppendHeader(nil, wire.MsgHeartbeat, 0, 0))
			}
		}()
		for pos := uint64(1); pos <= last; pos++ {
			for _, s := range sources {
				s.acked.Store(pos)
				if pos%7 == 0 || pos == last {
					wr.ack(s)
				}
			}
		}
		wr.send(wire.AppendHeader(nil, wire.MsgClose, 1, 0))
		<-beats
		select {
		case err := <-got:
			if err != nil {
				t.Fatalf("round %d: %v", round, err)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("round %d: no CLOSE: a frame was lost", round)
		}
		close(quit)
		<-wr.done
	}
}

// readAcksUntilClose reads frames up to a CLOSE and checks the ACKs of
// instances 1 to n among them: each above the instance's last, and the
// last at position last before the CLOSE.
func readAcksUntilClose(r io.Reader, n int, last uint64) error {
	acked := make(map[uint16]uint64)
	fr := wire.NewFrameReader(r, wire.DefaultMaxFrame)
	for {
		h, body, err := fr.Next()
		if err != nil {
			return err
		}
		switch h.Type {
		case wire.MsgAck:
			var m wire.Ack
			if err := m.Decode(body); err != nil {
				return err
			}
			if m.Position <= acked[h.Instance] {
				return fmt.Errorf("ACK of instance %d at %d after one at %d", h.Instance, m.Position, acked[h.Instance])
			}
			acked[h.Instance] = m.Position
		case wire.MsgClose:
			for id := uint16(1); id <= uint16(n); id++ {
				if acked[id] != last {
					return fmt.Errorf("CLOSE came when instance %d was acknowledged up to %d, not %d", id, acked[id], last)
				}
			}
			return nil
		}
	}
}
