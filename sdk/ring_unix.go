//go:build unix

package sdk

import (
	"fmt"
	"os"
	"strconv"
	"syscall"

	"github.com/plugctl/plugctl/wire"
)

// OfferedRing maps the ring a host offers through wire.EnvRingFD, if it
// offers one: nil, nil when it does not. Main calls it; a plugin calling
// Serve itself passes the ring in ServeOptions.Ring. The variable is unset
// and, once mapped, the descriptor closed, so the plugin's own child
// processes inherit neither.
func OfferedRing() (*wire.Ring, error) { return offeredRing(wire.EnvRingFD) }

// OfferedInputRing maps the input ring a host offers through
// wire.EnvInputRingFD, for ServeOptions.InputRing, as OfferedRing maps
// the ring.
func OfferedInputRing() (*wire.Ring, error) { return offeredRing(wire.EnvInputRingFD) }

func offeredRing(env string) (*wire.Ring, error) {
	v, ok := os.LookupEnv(env)
	if !ok {
		return nil, nil
	}
	os.Unsetenv(env)
	fd, err := strconv.Atoi(v)
	if err != nil || fd < 3 {
		return nil, fmt.Errorf("%s=%q is not an inherited descriptor number", env, v)
	}
	// A descriptor that turns out not to be a ring is left open: the
	// variable may be stale, and the number now someone else's.
	var st syscall.Stat_t
	if err := syscall.Fstat(fd, &st); err != nil {
		return nil, fmt.Errorf("ring descriptor %d: %w", fd, err)
	}
	if st.Mode&syscall.S_IFMT != syscall.S_IFREG || st.Size < wire.RingHeaderSize || st.Size > wire.RingHeaderSize+wire.RingMaxSize {
		return nil, fmt.Errorf("ring descriptor %d is not a ring's shared memory", fd)
	}
	mem, err := syscall.Mmap(fd, 0, int(st.Size), syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_SHARED)
	if err != nil {
		return nil, fmt.Errorf("ring descriptor %d: map: %w", fd, err)
	}
	r, err := wire.OpenRing(mem)
	if err != nil {
		syscall.Munmap(mem)
		return nil, fmt.Errorf("ring descriptor %d: %w", fd, err)
	}
	syscall.Close(fd) // the mapping outlives it; child processes must not inherit it
	return r, nil
}
