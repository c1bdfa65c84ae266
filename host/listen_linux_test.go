package host

import (
	"path/filepath"
	"testing"

	"github.com/plugctl/plugctl/wire"
)

// TestAcceptNamesPeerBinary: a plugin that connects to the socket is
// checked against the executable of the process that connected, as a
// launched plugin is against the one the host started.
func TestAcceptNamesPeerBinary(t *testing.T) {
	var checked string
	p, _, _ := acceptFixture(t, "count", Options{Check: EnrollmentFunc(func(_ wire.Hello, binary string) error {
		checked = binary
		return nil
	})})
	defer p.Close(closeCtx(t))
	want, err := filepath.EvalSymlinks(testBinary(t))
	if err != nil {
		t.Fatal(err)
	}
	if checked != want {
		t.Errorf("Enrollment saw binary %q, want %q", checked, want)
	}
}
