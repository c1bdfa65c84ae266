package host

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/plugctl/plugctl/wire"
)

func sinkHello() wire.Hello {
	h := sourceHello()
	h.Role = wire.RoleSink
	return h
}

func openSink(t *testing.T, f *fake, p *Plugin) *Sink {
	t.Helper()
	go func() {
		req := f.request(f.expect(wire.MsgOpen))
		f.reply(wire.Reply{ID: req.ID})
	}()
	s, err := p.OpenSink(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// write is a WRITE frame as the plugin sees it.
type write struct {
	batch  uint64
	events wire.Events
	body   []byte
}

func (f *fake) write() write {
	f.t.Helper()
	fr := f.expect(wire.MsgWrite)
	ev, err := wire.ParseEvents(fr.body[8:], sinkHello().EventKinds, wire.MsgWrite)
	if err != nil {
		f.t.Fatal(err)
	}
	return write{binary.LittleEndian.Uint64(fr.body), ev, fr.body}
}

func (f *fake) result(instance uint16, batch uint64, status wire.WriteStatus, msg string) {
	m := wire.Result{Batch: batch, Status: status, Message: msg}
	f.send(wire.MsgResult, instance, m.AppendTo(nil))
}

func events(from, to uint64, size int) []wire.Event {
	var es []wire.Event
	for p := from; p <= to; p++ {
		es = append(es, wire.Event{Position: p, Time: int64(p), Kind: "tock", Payload: bytes.Repeat([]byte{byte(p)}, size)})
	}
	return es
}

func TestSinkWriteOK(t *testing.T) {
	f, p, err := startFake(t, sinkHello(), testOptions())
	if err != nil {
		t.Fatal(err)
	}
	f.expect(wire.MsgHelloAck)
	s := openSink(t, f, p)
	go func() {
		w := f.write()
		r := w.events.Reader()
		var e wire.Event
		for r.Next(&e) {
			if e.Kind != "tock" || len(e.Payload) != 10 || e.Payload[0] != byte(e.Position) {
				t.Errorf("event %+v arrived changed", e)
			}
		}
		f.result(1, w.batch, wire.WriteOK, "")
	}()
	if err := s.Write(context.Background(), events(1, 5, 10)); err != nil {
		t.Fatal(err)
	}
	if err := s.Write(context.Background(), []wire.Event{{Position: 6, Kind: "nope"}}); err == nil {
		t.Error("Write accepted a kind the plugin does not declare")
	}
}

func TestSinkRetryThenOK(t *testing.T) {
	f, p, err := startFake(t, sinkHello(), testOptions())
	if err != nil {
		t.Fatal(err)
	}
	f.expect(wire.MsgHelloAck)
	s := openSink(t, f, p)
	go func() {
		first := f.write()
		f.result(1, first.batch, wire.WriteRetry, "busy")
		again := f.write()
		if again.batch != first.batch || !bytes.Equal(again.body, first.body) {
			t.Errorf("retry sent batch %d (%d bytes), want the same batch %d (%d bytes)",
				again.batch, len(again.body), first.batch, len(first.body))
		}
		f.result(1, again.batch, wire.WriteOK, "")
	}()
	if err := s.Write(context.Background(), events(1, 3, 100)); err != nil {
		t.Fatal(err)
	}
}

func TestSinkError(t *testing.T) {
	f, p, err := startFake(t, sinkHello(), testOptions())
	if err != nil {
		t.Fatal(err)
	}
	f.expect(wire.MsgHelloAck)
	s := openSink(t, f, p)
	go func() {
		w := f.write()
		f.result(1, w.batch, wire.WriteError, "schema mismatch")
	}()
	err = s.Write(context.Background(), events(1, 3, 100))
	var we *WriteError
	if !errors.As(err, &we) || we.Status != wire.WriteError || we.Message != "schema mismatch" {
		t.Fatalf("Write: %v, want a *WriteError", err)
	}
}

func TestSinkSplitsLargeWrites(t *testing.T) {
	opts := testOptions()
	opts.MaxFrame = 64 << 10
	f, p, err := startFake(t, sinkHello(), opts)
	if err != nil {
		t.Fatal(err)
	}
	f.expect(wire.MsgHelloAck)
	s := openSink(t, f, p)
	var got []uint64
	go func() {
		for len(got) < 10 {
			w := f.write()
			if len(w.body) > 64<<10 {
				t.Errorf("WRITE of %d bytes over the 64 KiB limit", len(w.body))
			}
			r := w.events.Reader()
			var e wire.Event
			for r.Next(&e) {
				got = append(got, e.Position)
			}
			f.result(1, w.batch, wire.WriteOK, "")
		}
	}()
	if err := s.Write(context.Background(), events(1, 10, 20<<10)); err != nil {
		t.Fatal(err)
	}
	if !equal(got, seq(1, 10)) {
		t.Errorf("sink got %v, want 1..10 in order", got)
	}
	if err := s.Write(context.Background(), events(11, 11, 70<<10)); err == nil {
		t.Error("Write accepted an event larger than a frame")
	}
}

func TestSinkWindow(t *testing.T) {
	opts := testOptions()
	opts.Window = 4
	f, p, err := startFake(t, sinkHello(), opts)
	if err != nil {
		t.Fatal(err)
	}
	f.expect(wire.MsgHelloAck)
	s := openSink(t, f, p)
	const writers = 20
	var wg sync.WaitGroup
	var failed atomic.Int32
	for i := range writers {
		wg.Go(func() {
			if err := s.Write(context.Background(), events(uint64(i+1), uint64(i+1), 8)); err != nil {
				failed.Add(1)
			}
		})
	}
	// Hold the first WRITEs unanswered: no more than the window may come.
	var held []write
	for range 4 {
		held = append(held, f.write())
	}
	select {
	case fr := <-f.in:
		t.Fatalf("got %s with %d WRITEs unanswered and a window of 4", fr.h.Type, len(held))
	case <-time.After(200 * time.Millisecond):
	}
	for arrived := 4; len(held) > 0; {
		f.result(1, held[0].batch, wire.WriteOK, "")
		held = held[1:]
		if arrived < writers {
			held = append(held, f.write())
			arrived++
		}
	}
	wg.Wait()
	if failed.Load() != 0 {
		t.Fatalf("%d writes failed", failed.Load())
	}
}

func TestSinkStopAndClose(t *testing.T) {
	f, p, err := startFake(t, sinkHello(), testOptions())
	if err != nil {
		t.Fatal(err)
	}
	f.expect(wire.MsgHelloAck)
	s := openSink(t, f, p)
	go func() {
		req := f.request(f.expect(wire.MsgStop))
		f.reply(wire.Reply{ID: req.ID, HasPosition: true, Position: 77})
		req = f.request(f.expect(wire.MsgClose))
		f.reply(wire.Reply{ID: req.ID})
	}()
	last, ok, err := s.Stop(context.Background())
	if err != nil || !ok || last != 77 {
		t.Fatalf("Stop = %d, %v, %v", last, ok, err)
	}
	if err := s.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := p.OpenSource(context.Background(), nil, nil, func(*wire.Events) error { return nil }); err == nil {
		t.Error("OpenSource on a sink plugin succeeded")
	}
}

func TestSinkAbandonedWriteKeepsItsSlot(t *testing.T) {
	opts := testOptions()
	opts.Window = 1
	f, p, err := startFake(t, sinkHello(), opts)
	if err != nil {
		t.Fatal(err)
	}
	f.expect(wire.MsgHelloAck)
	s := openSink(t, f, p)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := s.Write(ctx, events(1, 1, 8)); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Write: %v, want the context's error", err)
	}
	first := f.write()
	errc := make(chan error, 1)
	go func() { errc <- s.Write(context.Background(), events(2, 2, 8)) }()
	select {
	case fr := <-f.in:
		t.Fatalf("got %s while the abandoned WRITE is unanswered and the window is 1", fr.h.Type)
	case <-time.After(200 * time.Millisecond):
	}
	f.result(1, first.batch, wire.WriteOK, "")
	second := f.write()
	f.result(1, second.batch, wire.WriteOK, "")
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
}
