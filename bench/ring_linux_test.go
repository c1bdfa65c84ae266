package bench

import (
	"bytes"
	"io"
	"os"
	"strconv"
	"sync/atomic"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/plugctl/plugctl/wire"
)

// startRawRing offers the rawframe plugin a shared ring of the host
// library's default size, as host.Launch does, and returns the reader of
// its frames through it, frames of the size the SDK's batches take on a
// ring, and its process id.
func startRawRing(tb testing.TB, size int) (io.Reader, int) {
	f, ring := benchRing(tb, wire.DefaultRingSize)
	r, w, err := os.Pipe()
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { r.Close() })
	batch := wire.DefaultRingSize/16 - wire.HeaderSize
	cmd := rawCommand(tb, size, "-batch", strconv.Itoa(batch), "-ring")
	cmd.Stdout = w
	cmd.ExtraFiles = []*os.File{f}
	cmd.Env = append(os.Environ(), wire.EnvRingFD+"=3")
	startCommand(tb, cmd)
	w.Close()
	f.Close()
	return wire.NewRingReader(ring, r), cmd.Process.Pid
}

// benchRing creates, maps and lays out a ring of size data bytes, unmapped
// when tb ends.
func benchRing(tb testing.TB, size int) (*os.File, *wire.Ring) {
	fd, err := unix.MemfdCreate("bench-ring", unix.MFD_CLOEXEC)
	if err != nil {
		tb.Fatal(err)
	}
	f := os.NewFile(uintptr(fd), "bench-ring")
	if err := f.Truncate(int64(wire.RingMemSize(size))); err != nil {
		tb.Fatal(err)
	}
	mem, err := unix.Mmap(fd, 0, wire.RingMemSize(size), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { unix.Munmap(mem) })
	ring, err := wire.InitRing(mem, size)
	if err != nil {
		tb.Fatal(err)
	}
	return f, ring
}

// loneRing starts rawframe -every on a ring of the default size and
// returns the ring's reader: woken by the doorbell byte on rawframe's
// standard output, or with futex by a futex on the waiting word, and
// polling as wire.RingReader.Poll says.
func loneRing(tb testing.TB, futex bool, poll time.Duration) io.Reader {
	f, ring := benchRing(tb, wire.DefaultRingSize)
	r, w, err := os.Pipe()
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { r.Close() })
	args := []string{"-ring", "-every", loneEvery.String()}
	if futex {
		args = append(args, "-futex")
	}
	cmd := rawCommand(tb, 64, args...)
	cmd.Stdout = w
	cmd.ExtraFiles = []*os.File{f}
	cmd.Env = append(os.Environ(), wire.EnvRingFD+"=3")
	startCommand(tb, cmd)
	w.Close()
	var bell io.Reader = r
	if futex {
		bell = &futexSleeper{word: waitingWord(tb, f), pid: cmd.Process.Pid}
	} else {
		f.Close()
	}
	rr := wire.NewRingReader(ring, bell)
	rr.Poll = poll
	return rr
}

// waitingWord maps the header of the ring in f once more and returns its
// waiting word (docs/PROTOCOL.md, "Ring transport"), then closes f.
func waitingWord(tb testing.TB, f *os.File) *atomic.Uint32 {
	defer f.Close()
	mem, err := unix.Mmap(int(f.Fd()), 0, wire.RingHeaderSize, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { unix.Munmap(mem) })
	return (*atomic.Uint32)(unsafe.Pointer(&mem[ringWaitingOffset]))
}

// ringWaitingOffset is where the ring header keeps its waiting word.
const ringWaitingOffset = 192

// futexSleeper is a ring reader's doorbell that sleeps on the ring's
// waiting word while it is 1, as the ring reader leaves it before it
// sleeps, until rawframe -futex wakes it. Each Read returns no bytes;
// it fails once the writer's process has ended.
type futexSleeper struct {
	word *atomic.Uint32
	pid  int
}

// futexWait is FUTEX_WAIT of linux/futex.h, shared between processes.
const futexWait = 0

func (f *futexSleeper) Read([]byte) (int, error) {
	timeout := unix.NsecToTimespec(int64(100 * time.Millisecond))
	for f.word.Load() == 1 {
		_, _, errno := unix.Syscall6(unix.SYS_FUTEX, uintptr(unsafe.Pointer(f.word)), futexWait, 1, uintptr(unsafe.Pointer(&timeout)), 0, 0)
		if errno == unix.ETIMEDOUT && !alive(f.pid) {
			return 0, io.ErrUnexpectedEOF
		}
	}
	return 0, nil
}

// alive reports whether process pid runs: it exists and is no zombie.
func alive(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	i := bytes.LastIndexByte(b, ')')
	return i >= 0 && i+2 < len(b) && b[i+2] != 'Z'
}
