//go:build !linux

package main

import "errors"

// futexBell fails where there is no futex, or no shared ring.
func futexBell() (interface{ Write([]byte) (int, error) }, error) {
	return nil, errors.New("-futex needs Linux")
}
