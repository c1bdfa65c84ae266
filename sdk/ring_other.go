//go:build !unix

package sdk

import (
	"errors"
	"os"

	"github.com/plugctl/plugctl/wire"
)

var errRingUnsupported = errors.New("shared rings are not supported on this system")

// OfferedRing reports that no ring can be mapped here: the plugin leaves
// protocol version 2 out of HELLO, so the host keeps every frame on the
// stream.
func OfferedRing() (*wire.Ring, error) { return offeredRing(wire.EnvRingFD) }

// OfferedInputRing reports the same of the input ring and version 4.
func OfferedInputRing() (*wire.Ring, error) { return offeredRing(wire.EnvInputRingFD) }

func offeredRing(env string) (*wire.Ring, error) {
	if _, ok := os.LookupEnv(env); ok {
		os.Unsetenv(env)
		return nil, errRingUnsupported
	}
	return nil, nil
}
