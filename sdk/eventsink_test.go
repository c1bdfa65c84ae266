package sdk

import (
	"sync"
	"testing"
	"time"
)

// frameCounter is a connection that counts the frames written to it.
type frameCounter struct {
	mu     sync.Mutex
	frames int
}

func (w *frameCounter) Write(p []byte) (int, error) {
	w.mu.Lock()
	w.frames++
	w.mu.Unlock()
	return len(p), nil
}

func (w *frameCounter) count() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.frames
}

// quietEmitter is an emitter whose flusher has started (batches may go
// out) but never runs: only an emit can send a batch. The window holds
// one batch, which the host never acknowledges.
func quietEmitter() (*emitter, *frameCounter) {
	w := &frameCounter{}
	in := testInstance(w, 1)
	in.em.out, in.em.abort = in.out, in.s.abort
	return in.em, w
}

// TestEmitSendsWhenQuiet: the first event of a quiet instance has left
// when Emit returns, sent by Emit itself; with the window full, the next
// one waits for the flusher and Emit still returns at once.
func TestEmitSendsWhenQuiet(t *testing.T) {
	e, w := quietEmitter()
	sink := EventSink{e}
	if err := sink.EmitKind(0, 0, []byte("first")); err != nil {
		t.Fatal(err)
	}
	if n := w.count(); n != 1 {
		t.Fatalf("%d frames written when the first Emit returned, want 1: a quiet instance's emit sends its event", n)
	}
	time.Sleep(2 * quietAfter) // quiet again, but the window of one batch is full
	done := make(chan error, 1)
	go func() { done <- sink.EmitKind(0, 0, []byte("second")) }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Emit blocked on a full window although its batch had room")
	}
	if n := w.count(); n != 1 {
		t.Fatalf("%d frames written, want still 1: with the window full the event waits for the flusher", n)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.n != 1 || !e.kicked {
		t.Fatalf("batch holds %d events, flusher kicked %v; want the second event waiting, the flusher told", e.n, e.kicked)
	}
}
