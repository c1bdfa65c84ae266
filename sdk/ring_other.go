//go:build !unix

package sdk

import (
	"errors"
	"os"
)

var errRingUnsupported = errors.New("shared rings are not supported on this system")

// OfferedRing reports that no ring can be mapped here: the plugin offers
// only protocol version 1, so the host keeps every frame on the stream.
func OfferedRing() (*Ring, error) {
	if _, ok := os.LookupEnv(EnvRingFD); ok {
		os.Unsetenv(EnvRingFD)
		return nil, errRingUnsupported
	}
	return nil, nil
}
