//go:build linux

package host

import (
	"errors"
	"syscall"
	"testing"
)

// TestRingSealed: a plugin cannot resize the ring's memory, which would
// make the host's reads of it fault.
func TestRingSealed(t *testing.T) {
	f, _, unmap, err := newRing(1 << 16)
	if err != nil {
		t.Fatal(err)
	}
	defer unmap()
	defer f.Close()
	for _, size := range []int64{0, 1 << 20} {
		if err := f.Truncate(size); !errors.Is(err, syscall.EPERM) {
			t.Errorf("Truncate(%d) = %v, want EPERM", size, err)
		}
	}
}
