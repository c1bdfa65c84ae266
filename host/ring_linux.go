package host

import (
	"fmt"
	"os"

	"golang.org/x/sys/unix"

	"github.com/plugctl/plugctl/wire"
)

// newRing creates the shared memory of a ring of size data bytes, maps it
// and lays the ring out. Its size is sealed: a plugin that could shrink
// the file would make the host's next read of the ring fault (SIGBUS).
// The file is what the plugin inherits; the host closes its copy once the
// plugin has started, and unmaps the memory when the session ends.
func newRing(size int) (*os.File, *wire.Ring, func(), error) {
	fd, err := unix.MemfdCreate("plugctl-ring", unix.MFD_CLOEXEC|unix.MFD_ALLOW_SEALING)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("shared ring: %w", err)
	}
	f := os.NewFile(uintptr(fd), "plugctl-ring")
	n := wire.RingMemSize(size)
	if err := f.Truncate(int64(n)); err != nil {
		f.Close()
		return nil, nil, nil, fmt.Errorf("shared ring: %w", err)
	}
	if _, err := unix.FcntlInt(uintptr(fd), unix.F_ADD_SEALS, unix.F_SEAL_SHRINK|unix.F_SEAL_GROW|unix.F_SEAL_SEAL); err != nil {
		f.Close()
		return nil, nil, nil, fmt.Errorf("shared ring: seal: %w", err)
	}
	mem, err := unix.Mmap(fd, 0, n, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	if err != nil {
		f.Close()
		return nil, nil, nil, fmt.Errorf("shared ring: map: %w", err)
	}
	r, err := wire.InitRing(mem, size)
	if err != nil {
		unix.Munmap(mem)
		f.Close()
		return nil, nil, nil, err
	}
	return f, r, func() { unix.Munmap(mem) }, nil
}
