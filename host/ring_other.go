//go:build !linux

package host

import (
	"errors"
	"os"

	"github.com/plugctl/plugctl/wire"
)

// newRing fails where shared memory files are not available: launched
// plugins then keep every frame on their pipes.
func newRing(size int) (*os.File, *wire.Ring, func(), error) {
	return nil, nil, nil, errors.New("shared rings need Linux")
}
