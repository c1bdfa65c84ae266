//go:build !linux

package host

import (
	"errors"
	"os"

	"github.com/plugctl/plugctl/sdk"
)

// newRing fails where shared memory files are not available: launched
// plugins then keep every frame on their pipes.
func newRing(size int) (*os.File, *sdk.Ring, func(), error) {
	return nil, nil, nil, errors.New("shared rings need Linux")
}
