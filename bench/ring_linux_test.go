package bench

import (
	"os"
	"strconv"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/plugctl/plugctl/wire"
)

// receiveRawRing offers the rawframe plugin a shared ring of the host
// library's default size, as host.Launch does, and reads its frames
// through it: frames of the size the SDK's batches take on a ring.
func receiveRawRing(tb testing.TB, size, n int, m meter) {
	f, ring := benchRing(tb, wire.DefaultRingSize)
	r, w, err := os.Pipe()
	if err != nil {
		tb.Fatal(err)
	}
	defer r.Close()
	batch := wire.DefaultRingSize/16 - wire.HeaderSize
	cmd := rawCommand(tb, size, "-batch", strconv.Itoa(batch), "-ring")
	cmd.Stdout = w
	cmd.ExtraFiles = []*os.File{f}
	cmd.Env = append(os.Environ(), wire.EnvRingFD+"=3")
	startCommand(tb, cmd)
	w.Close()
	f.Close()
	receiveRaw(tb, wire.NewRingReader(ring, r), cmd.Process.Pid, size, n, m)
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
