package main

import (
	"fmt"
	"os"
	"strconv"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/plugctl/plugctl/wire"
)

// futexWake is FUTEX_WAKE of linux/futex.h, without FUTEX_PRIVATE_FLAG:
// the word lives in memory two processes map.
const futexWake = 1

// ringWaitingOffset is where the ring header keeps its waiting word
// (docs/PROTOCOL.md, "Ring transport").
const ringWaitingOffset = 192

// futexBell maps the header of the offered ring a second time and returns a
// doorbell that wakes a reader sleeping on its waiting word. The ring
// writer clears the word before it rings, so the reader's FUTEX_WAIT,
// which sleeps only while the word is 1, cannot miss the wake-up.
func futexBell() (*futexWaker, error) {
	n, err := strconv.Atoi(os.Getenv(wire.EnvRingFD))
	if err != nil {
		return nil, fmt.Errorf("-futex: %s: %w", wire.EnvRingFD, err)
	}
	mem, err := unix.Mmap(n, 0, wire.RingHeaderSize, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	if err != nil {
		return nil, fmt.Errorf("-futex: map the ring header: %w", err)
	}
	return &futexWaker{word: unsafe.Pointer(&mem[ringWaitingOffset])}, nil
}

type futexWaker struct{ word unsafe.Pointer }

// Write wakes one reader waiting on the word; what p holds is ignored.
func (f *futexWaker) Write(p []byte) (int, error) {
	_, _, errno := unix.Syscall6(unix.SYS_FUTEX, uintptr(f.word), futexWake, 1, 0, 0, 0)
	if errno != 0 {
		return 0, errno
	}
	return len(p), nil
}
