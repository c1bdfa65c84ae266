package wire

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// newTestRing lays out a ring of RingMinSize data bytes in Go memory (a
// large []byte is 8-aligned, as mapped memory is) and returns it with its
// memory.
func newTestRing(t testing.TB) (*Ring, []byte) {
	t.Helper()
	mem := make([]byte, RingMemSize(RingMinSize))
	r, err := InitRing(mem, RingMinSize)
	if err != nil {
		t.Fatal(err)
	}
	return r, mem
}

// The shared fields are stored by the atomics in the machine's byte order
// (docs/PROTOCOL.md §10.2); the tests poke them through the memory at
// their documented offsets, as the other process would.
func setHead(mem []byte, v uint64)    { binary.NativeEndian.PutUint64(mem[64:], v) }
func setTail(mem []byte, v uint64)    { binary.NativeEndian.PutUint64(mem[128:], v) }
func setWaiting(mem []byte, v uint32) { binary.NativeEndian.PutUint32(mem[192:], v) }
func getHead(mem []byte) uint64       { return binary.NativeEndian.Uint64(mem[64:]) }
func getTail(mem []byte) uint64       { return binary.NativeEndian.Uint64(mem[128:]) }

// randomBytes returns n bytes from rng.
func randomBytes(rng *rand.Rand, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(rng.Uint32())
	}
	return b
}

// within fails the test if done is not closed in time: a bound on a hang,
// not a timing assertion.
func within(t *testing.T, done <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatalf("timed out waiting for %s", what)
	}
}

// waitFor polls cond until it holds, failing the test if it never does.
func waitFor(t *testing.T, cond func() bool, what string) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

// countingWriter counts the doorbells written to it.
type countingWriter struct {
	w     io.Writer
	bells atomic.Int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	c.bells.Add(int64(len(p)))
	if c.w == nil {
		return len(p), nil
	}
	return c.w.Write(p)
}

// readerFunc adapts a function to io.Reader.
type readerFunc func([]byte) (int, error)

func (f readerFunc) Read(p []byte) (int, error) { return f(p) }

// eofBell is a doorbell stream that has already ended.
var eofBell = readerFunc(func([]byte) (int, error) { return 0, io.EOF })

func TestInitRingLayout(t *testing.T) {
	r, mem := newTestRing(t)
	if r.Size() != RingMinSize {
		t.Errorf("Size() = %d, want %d", r.Size(), RingMinSize)
	}
	// docs/PROTOCOL.md §10.2: magic, layout 1, reserved, size; all else zero.
	want := []byte("PLUGRING\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x01\x00\x00\x00\x00\x00")
	if !bytes.Equal(mem[:24], want) {
		t.Errorf("header % x, want % x", mem[:24], want)
	}
	if i := bytes.IndexFunc(mem[24:], func(r rune) bool { return r != 0 }); i >= 0 {
		t.Errorf("byte %d after the header fields is not zero", 24+i)
	}
	// A second view of the same memory, as the plugin maps it, shares the ring.
	r2, err := OpenRing(mem)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := resumeWriter(r2, io.Discard, nil).Write([]byte("hello")); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 16)
	n, err := resumeReader(r, eofBell).Read(buf)
	if err != nil || string(buf[:n]) != "hello" {
		t.Fatalf("Read through the other view = %q, %v; want \"hello\"", buf[:n], err)
	}
}

func TestInitRingRejects(t *testing.T) {
	for _, tc := range []struct {
		name string
		size int
		mem  int
		want string
	}{
		{"zero size", 0, RingMemSize(RingMinSize), "ring size 0"},
		{"negative size", -RingMinSize, RingMemSize(RingMinSize), "ring size -65536"},
		{"not a power of two", RingMinSize + 4096, RingMemSize(RingMinSize + 4096), "want a power of two"},
		{"too small", RingMinSize / 2, RingMemSize(RingMinSize / 2), "want a power of two"},
		{"too large", RingMaxSize * 2, RingMemSize(RingMinSize), "want a power of two"},
		{"memory one byte short", RingMinSize, RingMemSize(RingMinSize) - 1, "ring memory is 69631 bytes, want 69632"},
		{"memory one byte long", RingMinSize, RingMemSize(RingMinSize) + 1, "ring memory is 69633 bytes, want 69632"},
		{"memory for a larger ring", RingMinSize, RingMemSize(2 * RingMinSize), "want 69632"},
		{"data size without header", RingMinSize, RingMinSize, "want 69632"},
	} {
		r, err := InitRing(make([]byte, tc.mem), tc.size)
		if err == nil || r != nil {
			t.Errorf("%s: InitRing = %v, %v; want an error", tc.name, r, err)
		} else if !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %q does not mention %q", tc.name, err, tc.want)
		}
	}

	// Memory that is not 8-aligned cannot hold the atomics.
	buf := make([]byte, RingMemSize(RingMinSize)+1)
	if r, err := InitRing(buf[1:], RingMinSize); err == nil || !strings.Contains(err.Error(), "aligned") {
		t.Errorf("misaligned memory: InitRing = %v, %v; want an alignment error", r, err)
	}
}

func TestOpenRingRejects(t *testing.T) {
	le := binary.LittleEndian
	ring := func(size int) func() []byte {
		return func() []byte {
			mem := make([]byte, RingMemSize(size))
			if _, err := InitRing(mem, size); err != nil {
				t.Fatal(err)
			}
			return mem
		}
	}
	bytesOf := func(n int) func() []byte { return func() []byte { return make([]byte, n) } }
	for _, tc := range []struct {
		name    string
		mem     func() []byte
		corrupt func(mem []byte)
		want    string
	}{
		{"no memory", bytesOf(0), nil, "less than its 4096-byte header"},
		{"shorter than the header", bytesOf(RingHeaderSize - 1), nil, "less than its 4096-byte header"},
		{"bad magic", ring(RingMinSize), func(m []byte) { m[7] = 'X' }, `does not start with "PLUGRING"`},
		{"zeroed memory", bytesOf(RingMemSize(RingMinSize)), nil, `does not start with "PLUGRING"`},
		{"layout version 2", ring(RingMinSize), func(m []byte) { le.PutUint32(m[8:], 2) }, "ring layout version 2, want 1"},
		{"layout version 0", ring(RingMinSize), func(m []byte) { le.PutUint32(m[8:], 0) }, "ring layout version 0, want 1"},
		{"size not a power of two", ring(RingMinSize), func(m []byte) { le.PutUint64(m[16:], RingMinSize-1) }, "ring data size 65535"},
		{"size too small", ring(RingMinSize), func(m []byte) { le.PutUint64(m[16:], RingMinSize/2) }, "ring data size 32768"},
		{"size too large", ring(RingMinSize), func(m []byte) { le.PutUint64(m[16:], 2*RingMaxSize) }, "ring data size 2147483648"},
		{"size zero", ring(RingMinSize), func(m []byte) { le.PutUint64(m[16:], 0) }, "ring data size 0"},
		{"size larger than the memory", ring(RingMinSize), func(m []byte) { le.PutUint64(m[16:], 2*RingMinSize) }, "ring data size 131072 does not fit 69632 bytes"},
		{"size smaller than the memory", ring(2 * RingMinSize), func(m []byte) { le.PutUint64(m[16:], RingMinSize) }, "ring data size 65536 does not fit 135168 bytes"},
		{"memory cut short", func() []byte { return ring(2 * RingMinSize)()[:RingMemSize(RingMinSize)] }, nil, "ring data size 131072 does not fit 69632 bytes"},
	} {
		mem := tc.mem()
		if tc.corrupt != nil {
			tc.corrupt(mem)
		}
		r, err := OpenRing(mem)
		if err == nil || r != nil {
			t.Errorf("%s: OpenRing = %v, %v; want an error", tc.name, r, err)
		} else if !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %q does not mention %q", tc.name, err, tc.want)
		}
	}
}

// TestRingRoundTrip streams writes of many sizes, some larger than the
// ring, through a RingWriter to a RingReader on other goroutines, with an
// os.Pipe as the doorbell, and checks the bytes come out identical.
func TestRingRoundTrip(t *testing.T) {
	r, _ := newTestRing(t)
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer pr.Close()
	defer pw.Close() // unblocks a stuck reader if the test fails
	bell := &countingWriter{w: pw}
	w := resumeWriter(r, bell, nil)
	rr := resumeReader(r, pr)

	rng := rand.New(rand.NewPCG(1, 2))
	size := r.Size()
	lengths := []int{1, 7, size - 1, 2, size, size + 1, 3*size + 5, 100, size / 2, size / 2, size / 2}
	for range 400 {
		lengths = append(lengths, 1+rng.IntN(2000))
	}
	for range 6 {
		lengths = append(lengths, 1+rng.IntN(4*size))
	}
	rng.Shuffle(len(lengths)-11, func(i, j int) { lengths[11+i], lengths[11+j] = lengths[11+j], lengths[11+i] })
	var writes [][]byte
	var want []byte
	for _, n := range lengths {
		p := randomBytes(rng, n)
		writes = append(writes, p)
		want = append(want, p...)
	}

	var got []byte
	var readErr error
	var bad []string
	read := make(chan struct{})
	go func() {
		defer close(read)
		rng := rand.New(rand.NewPCG(3, 4))
		for {
			buf := make([]byte, 1+rng.IntN(100<<10))
			n, err := rr.Read(buf)
			if n < 0 || n > len(buf) || (n == 0) == (err == nil) {
				bad = append(bad, "Read returned bytes and an error, or neither")
			}
			got = append(got, buf[:n]...)
			if err != nil {
				readErr = err
				return
			}
		}
	}()
	// The reader finds the ring empty and sleeps on the doorbell before
	// anything is written: the first write must wake it.
	waitFor(t, func() bool { return r.waiting.Load() == 1 }, "the reader to sleep on the doorbell")

	wrote := make(chan struct{})
	var writeErr error
	go func() {
		defer close(wrote)
		for i, p := range writes {
			n, err := w.Write(p)
			if err != nil || n != len(p) {
				writeErr = fmt.Errorf("write %d of %d bytes: wrote %d: %v", i, len(p), n, err)
				return
			}
		}
	}()
	within(t, wrote, "the writer")
	if writeErr != nil {
		t.Fatal(writeErr)
	}
	if bell.bells.Load() == 0 {
		t.Error("the writer never rang the doorbell of a sleeping reader")
	}
	// The plugin exits: its output closes, and the reader gets the rest.
	pw.Close()
	within(t, read, "the reader")
	if readErr != io.EOF {
		t.Errorf("reader ended with %v, want io.EOF", readErr)
	}
	if len(bad) > 0 {
		t.Error(bad[0])
	}
	if !bytes.Equal(got, want) {
		i := 0
		for i < len(got) && i < len(want) && got[i] == want[i] {
			i++
		}
		t.Fatalf("read %d bytes, wrote %d; first difference at byte %d", len(got), len(want), i)
	}
	if n, err := rr.Read(make([]byte, 10)); n != 0 || err != io.EOF {
		t.Errorf("Read after the end = %d, %v; want 0, io.EOF", n, err)
	}
	t.Logf("%d bytes in %d writes through a %d-byte ring, %d doorbells", len(want), len(writes), size, bell.bells.Load())
}

// TestRingWrapsAtDataEnd writes across the end of the data area, and
// across the wrap of the 64-bit counters, and checks where the bytes land
// and that they read back whole.
func TestRingWrapsAtDataEnd(t *testing.T) {
	for _, start := range []uint64{0, RingMinSize - 10, 5*RingMinSize - 1, math.MaxUint64 - 4} {
		r, mem := newTestRing(t)
		setHead(mem, start)
		setTail(mem, start)
		w := resumeWriter(r, io.Discard, nil)
		p := randomBytes(rand.New(rand.NewPCG(start, 9)), 100)
		if n, err := w.Write(p); n != len(p) || err != nil {
			t.Fatalf("start %d: Write = %d, %v", start, n, err)
		}
		if h := getHead(mem); h != start+100 {
			t.Errorf("start %d: head %d after the write, want %d", start, h, start+100)
		}
		data := mem[RingHeaderSize:]
		for i := range p {
			if at := (start + uint64(i)) % RingMinSize; data[at] != p[i] {
				t.Fatalf("start %d: byte %d of the write is not at data[%d]", start, i, at)
			}
		}
		rr := resumeReader(r, eofBell)
		buf := make([]byte, 1000)
		n, err := rr.Read(buf)
		if err != nil || !bytes.Equal(buf[:n], p) {
			t.Fatalf("start %d: Read = %d bytes, %v; want the 100 bytes written", start, n, err)
		}
		if tl := getTail(mem); tl != start+100 {
			t.Errorf("start %d: tail %d after the read, want %d", start, tl, start+100)
		}
		if n, err := rr.Read(buf); n != 0 || err != io.EOF {
			t.Errorf("start %d: Read of the drained ring = %d, %v; want 0, io.EOF", start, n, err)
		}
	}
}

// TestRingFullIsLegal: head exactly a ring size ahead of tail is a full
// ring, not corruption, for both ends.
func TestRingFullIsLegal(t *testing.T) {
	r, mem := newTestRing(t)
	w := resumeWriter(r, io.Discard, nil)
	full := randomBytes(rand.New(rand.NewPCG(5, 6)), r.Size())
	if n, err := w.Write(full); n != len(full) || err != nil {
		t.Fatalf("filling the ring: %d, %v", n, err)
	}
	if h := getHead(mem); h != uint64(r.Size()) {
		t.Fatalf("head %d, want %d", h, r.Size())
	}
	got, err := io.ReadAll(resumeReader(r, eofBell))
	if err != nil || !bytes.Equal(got, full) {
		t.Fatalf("reading the full ring: %d bytes, %v", len(got), err)
	}
}

func TestRingDrainsBeforeEnd(t *testing.T) {
	t.Run("closed bell", func(t *testing.T) {
		r, _ := newTestRing(t)
		pr, pw, err := os.Pipe()
		if err != nil {
			t.Fatal(err)
		}
		defer pr.Close()
		want := randomBytes(rand.New(rand.NewPCG(7, 8)), 3000)
		if _, err := resumeWriter(r, pw, nil).Write(want); err != nil {
			t.Fatal(err)
		}
		pw.Close()
		rr := resumeReader(r, pr)
		var got []byte
		buf := make([]byte, 1000)
		for {
			n, err := rr.Read(buf)
			got = append(got, buf[:n]...)
			if err != nil {
				if err != io.EOF {
					t.Fatalf("Read: %v, want io.EOF", err)
				}
				break
			}
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("read %d bytes before io.EOF, wrote %d", len(got), len(want))
		}
	})

	// The plugin publishes its last bytes after the host found the ring
	// empty, then exits: the host learns of the end while the ring holds
	// them, and must still deliver them.
	for _, end := range []error{io.EOF, errors.New("read |0: bad file descriptor")} {
		t.Run("end while sleeping: "+end.Error(), func(t *testing.T) {
			r, _ := newTestRing(t)
			bell := &countingWriter{}
			w := resumeWriter(r, bell, nil)
			last := []byte("GOODBYE, last frame")
			calls := 0
			rr := resumeReader(r, readerFunc(func([]byte) (int, error) {
				calls++
				if calls == 1 {
					if r.waiting.Load() != 1 {
						t.Error("the reader sleeps on the doorbell without setting waiting")
					}
					if _, err := w.Write(last); err != nil {
						t.Error(err)
					}
				}
				return 0, end
			}))
			buf := make([]byte, 7)
			var got []byte
			var err error
			for err == nil {
				var n int
				n, err = rr.Read(buf)
				got = append(got, buf[:n]...)
			}
			if err != end || string(got) != string(last) {
				t.Fatalf("read %q then %v; want %q then %v", got, err, last, end)
			}
			if bell.bells.Load() != 1 {
				t.Errorf("%d doorbells for one sleep, want 1", bell.bells.Load())
			}
			if r.waiting.Load() != 0 {
				t.Error("waiting still set after the doorbell ended")
			}
			if n, err := rr.Read(buf); n != 0 || err != end {
				t.Errorf("Read after the end = %d, %v; want 0, %v again", n, err, end)
			}
			if calls != 1 {
				t.Errorf("the doorbell was read %d times, want once: its end is final", calls)
			}
		})
	}
}

// TestRingDoorbellOnlyWhenWaiting: the writer rings exactly once per sleep
// of the reader, and not at all while it is awake.
func TestRingDoorbellOnlyWhenWaiting(t *testing.T) {
	r, mem := newTestRing(t)
	bell := &countingWriter{}
	w := resumeWriter(r, bell, nil)
	w.Write([]byte("a"))
	if n := bell.bells.Load(); n != 0 {
		t.Fatalf("%d doorbells while the reader is awake, want 0", n)
	}
	setWaiting(mem, 1)
	w.Write([]byte("b"))
	if n := bell.bells.Load(); n != 1 {
		t.Fatalf("%d doorbells for a sleeping reader, want 1", n)
	}
	if r.waiting.Load() != 0 {
		t.Fatal("the writer rang without clearing waiting")
	}
	w.Write([]byte("c"))
	if n := bell.bells.Load(); n != 1 {
		t.Fatalf("%d doorbells after one sleep, want 1", n)
	}

	// A failed doorbell is a failed write: the host is gone.
	setWaiting(mem, 1)
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	pr.Close()
	pw.Close()
	if _, err := resumeWriter(r, pw, nil).Write([]byte("d")); err == nil {
		t.Error("Write rang a closed doorbell without an error")
	}
}

func TestRingCorruptHead(t *testing.T) {
	const tail = 1000
	for _, tc := range []struct {
		name string
		head uint64
	}{
		{"one byte more than the ring ahead", tail + RingMinSize + 1},
		{"far ahead", math.MaxUint64 / 2},
		{"one byte behind the tail", tail - 1},
		{"far behind", 0},
	} {
		r, mem := newTestRing(t)
		setTail(mem, tail)
		rr := resumeReader(r, eofBell)
		setHead(mem, tc.head)
		n, err := rr.Read(make([]byte, 100))
		if n != 0 || !errors.Is(err, ErrRingCorrupt) || !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: Read = %d, %v; want 0 and an error wrapping ErrRingCorrupt and ErrMalformed", tc.name, n, err)
		}
		if getTail(mem) != tail {
			t.Errorf("%s: the reader moved the tail of a corrupt ring to %d", tc.name, getTail(mem))
		}
	}
}

// TestRingCorruptHeadWhileSleeping: a head forged while the host sleeps
// on the doorbell is caught once the doorbell wakes it.
func TestRingCorruptHeadWhileSleeping(t *testing.T) {
	r, _ := newTestRing(t)
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer pr.Close()
	defer pw.Close()
	rr := resumeReader(r, pr)
	done := make(chan struct{})
	var n int
	go func() {
		defer close(done)
		n, err = rr.Read(make([]byte, 100))
	}()
	waitFor(t, func() bool { return r.waiting.Load() == 1 }, "the reader to sleep on the doorbell")
	r.head.Store(RingMinSize + 1) // atomically: the reader is running
	pw.Write([]byte{0})
	within(t, done, "Read")
	if n != 0 || !errors.Is(err, ErrRingCorrupt) || !errors.Is(err, ErrMalformed) {
		t.Fatalf("Read = %d, %v; want an error wrapping ErrRingCorrupt and ErrMalformed", n, err)
	}
}

func TestRingCorruptTail(t *testing.T) {
	const head = 5000
	for _, tc := range []struct {
		name string
		tail uint64
	}{
		{"one byte past the head", head + 1},
		{"far past the head", math.MaxUint64 / 2},
		{"more than a ring behind", math.MaxUint64 - (RingMinSize - head)}, // head - tail = RingMinSize + 1
	} {
		r, mem := newTestRing(t)
		setHead(mem, head)
		w := resumeWriter(r, io.Discard, nil)
		setTail(mem, tc.tail)
		n, err := w.Write([]byte("frame"))
		if n != 0 || !errors.Is(err, ErrRingCorrupt) || !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: Write = %d, %v; want 0 and an error wrapping ErrRingCorrupt", tc.name, n, err)
		}
		if getHead(mem) != head {
			t.Errorf("%s: the writer moved the head of a corrupt ring to %d", tc.name, getHead(mem))
		}
	}
}

// TestRingWriterAbort: a writer waiting for room in a full ring that the
// host never reads gives up once the session is over.
func TestRingWriterAbort(t *testing.T) {
	r, mem := newTestRing(t)
	abort := make(chan struct{})
	w := resumeWriter(r, io.Discard, abort)
	var n int
	var err error
	done := make(chan struct{})
	go func() {
		defer close(done)
		n, err = w.Write(make([]byte, r.Size()+100))
	}()
	waitFor(t, func() bool { return r.head.Load() == uint64(r.Size()) }, "the ring to fill")
	select {
	case <-done:
		t.Fatalf("Write returned %d, %v with the ring full and nothing read", n, err)
	case <-time.After(20 * time.Millisecond):
	}
	close(abort)
	within(t, done, "the aborted Write")
	if n != r.Size() || !errors.Is(err, errRingAborted) {
		t.Fatalf("Write = %d, %v; want %d, %v", n, err, r.Size(), errRingAborted)
	}
	if getHead(mem) != uint64(r.Size()) {
		t.Errorf("head %d after the abort, want %d", getHead(mem), r.Size())
	}
	// A closed abort does not refuse a write that has room.
	r2, _ := newTestRing(t)
	if n, err := resumeWriter(r2, io.Discard, abort).Write([]byte("room")); n != 4 || err != nil {
		t.Errorf("Write with room after the abort = %d, %v; want 4, nil", n, err)
	}
}

func TestRingOnIdle(t *testing.T) {
	r, _ := newTestRing(t)
	w := resumeWriter(r, io.Discard, nil)
	idle := 0
	rr := resumeReader(r, eofBell)
	rr.OnIdle = func() {
		idle++
		if idle == 1 {
			w.Write([]byte("late")) // as a plugin woken by the ACKs sent
		}
	}
	w.Write([]byte("early"))
	buf := make([]byte, 64)
	if n, err := rr.Read(buf); err != nil || string(buf[:n]) != "early" || idle != 0 {
		t.Fatalf("Read = %q, %v with %d OnIdle calls; want \"early\", no call", buf[:n], err, idle)
	}
	if n, err := rr.Read(buf); err != nil || string(buf[:n]) != "late" || idle != 1 {
		t.Fatalf("Read = %q, %v with %d OnIdle calls; want \"late\" after one call", buf[:n], err, idle)
	}
	if n, err := rr.Read(buf); n != 0 || err != io.EOF || idle != 2 {
		t.Fatalf("Read = %d, %v with %d OnIdle calls; want io.EOF after a second call", n, err, idle)
	}
}

// TestRingPollFor: a reader with Poll polls for twice the ring's last
// empty spell, within spinFor and Poll, and only spinFor once a spell has
// outlasted Poll; without Poll, always spinFor.
func TestRingPollFor(t *testing.T) {
	const ms = time.Millisecond
	for _, tc := range []struct {
		poll, lastIdle, want time.Duration
	}{
		{0, 0, spinFor},
		{0, ms, spinFor},
		{2 * ms, 0, spinFor},                // nothing known yet
		{2 * ms, time.Microsecond, spinFor}, // twice a short spell is less than spinFor
		{2 * ms, 400 * time.Microsecond, 800 * time.Microsecond},
		{2 * ms, ms, 2 * ms},
		{2 * ms, 1500 * time.Microsecond, 2 * ms}, // at most Poll
		{2 * ms, 3 * ms, spinFor},                 // a spell polling could not outlast
		{2 * ms, time.Second, spinFor},
	} {
		rr := &RingReader{Poll: tc.poll, lastIdle: tc.lastIdle}
		if got := rr.pollFor(); got != tc.want {
			t.Errorf("Poll %v, last spell %v: pollFor = %v, want %v", tc.poll, tc.lastIdle, got, tc.want)
		}
	}
}

// TestRingPollFindsBytes: in its poll, a reader finds what is written
// without sleeping on the doorbell, and it has called OnIdle first, so
// that the host's deferred ACKs are not held back by the poll.
func TestRingPollFindsBytes(t *testing.T) {
	r, _ := newTestRing(t)
	w := resumeWriter(r, io.Discard, nil)
	slept := make(chan struct{}, 1)
	rr := resumeReader(r, readerFunc(func(p []byte) (int, error) {
		slept <- struct{}{}
		w.Write([]byte("late"))
		p[0] = 0
		return 1, nil
	}))
	rr.Poll, rr.lastIdle = time.Minute, 10*time.Second // a poll of 20 s
	idle := 0
	rr.OnIdle = func() {
		idle++
		go func() {
			time.Sleep(time.Millisecond) // well past spinFor
			w.Write([]byte("polled"))
		}()
	}
	buf := make([]byte, 64)
	if n, err := rr.Read(buf); err != nil || string(buf[:n]) != "polled" {
		t.Fatalf("Read = %q, %v; want \"polled\"", buf[:n], err)
	}
	select {
	case <-slept:
		t.Fatal("the reader slept on the doorbell during its poll")
	default:
	}
	if idle != 1 {
		t.Fatalf("%d OnIdle calls before the poll found the bytes, want 1", idle)
	}
	if rr.lastIdle < time.Millisecond {
		t.Fatalf("last empty spell recorded as %v, want at least the writer's 1 ms", rr.lastIdle)
	}
}

// TestHelloAckTransport covers the transport byte of version 2 and the
// input transport byte of version 4 (the bytes themselves are pinned in
// TestGolden).
func TestHelloAckTransport(t *testing.T) {
	base := HelloAck{MaxFrame: DefaultMaxFrame, HeartbeatMS: 1000, Window: 8}
	v1, v2, v3, v4 := base, base, base, base
	v1.Version, v2.Version, v3.Version, v4.Version = 1, 2, 3, 4

	ring1 := v1
	ring1.Transport, ring1.InputTransport = TransportRing, TransportRing
	if b := ring1.AppendTo(nil); len(b) != 14 {
		t.Errorf("version 1 HELLO_ACK is %d bytes, want 14 (no transport byte)", len(b))
	} else {
		var got HelloAck
		if err := got.Decode(b); err != nil || got != v1 {
			t.Errorf("version 1 decodes to %+v, %v; want %+v (transports 0)", got, err, v1)
		}
	}
	ring3 := v3
	ring3.Transport, ring3.InputTransport = TransportRing, TransportRing
	if b := ring3.AppendTo(nil); len(b) != 15 {
		t.Errorf("version 3 HELLO_ACK is %d bytes, want 15 (no input transport byte)", len(b))
	} else {
		var got HelloAck
		if err := got.Decode(b); err != nil || got.Transport != TransportRing || got.InputTransport != TransportStream {
			t.Errorf("version 3 decodes to %+v, %v; want transport 1, input transport 0", got, err)
		}
	}
	for _, tr := range []uint8{TransportStream, TransportRing} {
		in := v2
		in.Transport = tr
		b := in.AppendTo(nil)
		if len(b) != 15 || b[14] != tr {
			t.Errorf("version 2 transport %d encodes as % x, want 15 bytes ending in %02x", tr, b, tr)
		}
		var got HelloAck
		if err := got.Decode(b); err != nil || got != in {
			t.Errorf("version 2 transport %d decodes to %+v, %v", tr, got, err)
		}
		for _, itr := range []uint8{TransportStream, TransportRing} {
			in := v4
			in.Transport, in.InputTransport = tr, itr
			b := in.AppendTo(nil)
			if len(b) != 16 || b[14] != tr || b[15] != itr {
				t.Errorf("version 4 transports %d, %d encode as % x, want 16 bytes ending in %02x %02x", tr, itr, b, tr, itr)
			}
			var got HelloAck
			if err := got.Decode(b); err != nil || got != in {
				t.Errorf("version 4 transports %d, %d decode to %+v, %v", tr, itr, got, err)
			}
		}
	}

	bad2 := v2
	bad2.Transport = 2
	bad4 := v4
	bad4.InputTransport = 2
	for _, tc := range []struct {
		name string
		body []byte
		want string
	}{
		{"transport 2", bad2.AppendTo(nil), "transport 2 is neither"},
		{"transport 255", append(v2.AppendTo(nil)[:14], 255), "transport 255 is neither"},
		{"version 2 without transport", v2.AppendTo(nil)[:14], ""},
		{"version 1 with transport", append(v1.AppendTo(nil), TransportRing), "trailing"},
		{"version 2 with two transports", append(v2.AppendTo(nil), TransportStream), "trailing"},
		{"version 3 with an input transport", append(v3.AppendTo(nil), TransportRing), "trailing"},
		{"version 4 without input transport", v4.AppendTo(nil)[:15], "input transport"},
		{"input transport 2", bad4.AppendTo(nil), "input transport 2 is neither"},
		{"version 4 with three transports", append(v4.AppendTo(nil), TransportStream), "trailing"},
	} {
		var got HelloAck
		if err := got.Decode(tc.body); !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: Decode = %v, want ErrMalformed mentioning %q", tc.name, err, tc.want)
		}
	}
}

// FuzzRingReader gives a RingReader arbitrary head and tail positions and
// ring contents: it must never panic, must return either bytes or an
// error, must deliver exactly the bytes between tail and head when they
// are at most a ring apart, and must report ErrRingCorrupt otherwise.
func FuzzRingReader(f *testing.F) {
	f.Add(uint64(0), uint64(0), []byte{}, uint16(100))
	f.Add(uint64(30), uint64(10), []byte("some bytes in the ring"), uint16(7))
	f.Add(uint64(RingMinSize+5), uint64(RingMinSize-5), []byte("wraps"), uint16(3))
	f.Add(uint64(RingMinSize+1), uint64(0), []byte("corrupt"), uint16(64))
	f.Add(uint64(3), uint64(math.MaxUint64-3), []byte("counter wrap"), uint16(2))
	f.Add(uint64(0), uint64(1), []byte("head behind tail"), uint16(1))
	f.Fuzz(func(t *testing.T, head, tail uint64, data []byte, bufSize uint16) {
		mem := make([]byte, RingMemSize(RingMinSize))
		r, err := InitRing(mem, RingMinSize)
		if err != nil {
			t.Fatal(err)
		}
		copy(mem[RingHeaderSize:], data)
		setTail(mem, tail)
		setHead(mem, head)
		rr := resumeReader(r, eofBell)
		buf := make([]byte, 1+int(bufSize)%(2*RingMinSize))

		used := head - tail
		var got []byte
		for reads := 0; ; reads++ {
			if reads > RingMinSize+2 {
				t.Fatalf("no end after %d reads", reads)
			}
			n, err := rr.Read(buf)
			if n < 0 || n > len(buf) || (n == 0) == (err == nil) {
				t.Fatalf("Read = %d, %v into %d bytes: want bytes or an error", n, err, len(buf))
			}
			got = append(got, buf[:n]...)
			if err == nil {
				continue
			}
			if used > RingMinSize {
				if !errors.Is(err, ErrRingCorrupt) || !errors.Is(err, ErrMalformed) || len(got) != 0 {
					t.Fatalf("head %d, tail %d: read %d bytes, then %v; want ErrRingCorrupt at once", head, tail, len(got), err)
				}
				return
			}
			if err != io.EOF {
				t.Fatalf("head %d, tail %d: %v, want io.EOF", head, tail, err)
			}
			break
		}
		if uint64(len(got)) != used {
			t.Fatalf("head %d, tail %d: read %d bytes, want %d", head, tail, len(got), used)
		}
		ring := mem[RingHeaderSize:]
		for i, b := range got {
			if at := (tail + uint64(i)) & (RingMinSize - 1); ring[at] != b {
				t.Fatalf("byte %d read is %#x, ring byte %d is %#x", i, b, at, ring[at])
			}
		}
		if getTail(mem) != head {
			t.Fatalf("tail %d after draining, want head %d", getTail(mem), head)
		}
	})
}

// resumeReader is NewRingReader for a reader that has already read up to
// the tail in the shared header, so that tests can start a ring at any
// position (and at positions only a corrupt ring has).
func resumeReader(r *Ring, bell io.Reader) *RingReader {
	rr := NewRingReader(r, bell)
	rr.tail = r.tail.Load()
	return rr
}

// resumeWriter is NewRingWriter for a writer that has already written up
// to the head in the shared header.
func resumeWriter(r *Ring, bell io.Writer, abort <-chan struct{}) *RingWriter {
	w := NewRingWriter(r, bell, abort)
	w.head = r.head.Load()
	return w
}

// TestRingReaderStartsAtZero: the host's reader keeps its own tail from 0
// and never takes the shared one, which the plugin can write.
func TestRingReaderStartsAtZero(t *testing.T) {
	r, err := InitRing(make([]byte, RingMemSize(RingMinSize)), RingMinSize)
	if err != nil {
		t.Fatal(err)
	}
	r.tail.Store(100) // forged before the reader starts
	rr := NewRingReader(r, eofBell)
	copy(r.data, "hello")
	r.head.Store(5)
	buf := make([]byte, 16)
	if n, err := rr.Read(buf); n != 5 || err != nil || string(buf[:n]) != "hello" {
		t.Fatalf("Read = %d %q, %v; want 5 \"hello\"", n, buf[:n], err)
	}
}

// TestRingNonZeroDoorbell: only 0x00 doorbells may follow the move to the
// ring; any other byte on the plugin's output is a malformed stream.
func TestRingNonZeroDoorbell(t *testing.T) {
	r, err := InitRing(make([]byte, RingMemSize(RingMinSize)), RingMinSize)
	if err != nil {
		t.Fatal(err)
	}
	for _, bells := range []string{"\x00\x00\x00", "\x00\x00\x20"} {
		rr := NewRingReader(r, strings.NewReader(bells))
		_, err := rr.Read(make([]byte, 8))
		if bells[len(bells)-1] == 0 {
			if err != io.EOF {
				t.Errorf("doorbells %q: Read error %v, want io.EOF", bells, err)
			}
		} else if !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), "0x20") {
			t.Errorf("doorbells %q: Read error %v, want ErrMalformed naming byte 0x20", bells, err)
		}
	}
}

// TestRingWriterChunk: with Chunk set, a write larger than it is
// published piece by piece, so a reader sees the first piece before the
// writer has copied the rest; the bytes arrive whole and in order.
func TestRingWriterChunk(t *testing.T) {
	r, mem := newTestRing(t)
	var heads []uint64
	// With waiting kept at 1 the writer rings after every publication of
	// head, and the bell records how far head had got.
	w := NewRingWriter(r, writerFunc(func(p []byte) (int, error) {
		heads = append(heads, getHead(mem))
		setWaiting(mem, 1)
		return len(p), nil
	}), nil)
	w.Chunk = 1000
	setWaiting(mem, 1)
	p := randomBytes(rand.New(rand.NewPCG(1, 2)), 3500)
	if n, err := w.Write(p); n != len(p) || err != nil {
		t.Fatalf("Write = %d, %v", n, err)
	}
	if !slices.Equal(heads, []uint64{1000, 2000, 3000, 3500}) {
		t.Errorf("head published at %v, want every 1000 bytes", heads)
	}
	if !bytes.Equal(mem[RingHeaderSize:RingHeaderSize+len(p)], p) {
		t.Error("the ring does not hold the bytes written")
	}
}

type writerFunc func(p []byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }
