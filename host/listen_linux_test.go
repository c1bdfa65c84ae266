package host

import (
	"path/filepath"
	"testing"

	"github.com/plugctl/plugctl/enroll"
)

// TestAcceptNamesPeerBinary: a plugin that connects to the socket is
// checked against the executable of the process that connected, as a
// launched plugin is against the one the host started.
func TestAcceptNamesPeerBinary(t *testing.T) {
	var checked string
	var digest enroll.Digest
	p, _, _ := acceptFixture(t, "count", Options{Check: EnrollmentFunc(func(c *Candidate) error {
		checked, digest = c.Binary, c.Digest
		if c.Launched || c.Pid <= 0 || c.DigestErr != nil {
			t.Errorf("candidate on a socket: launched %v, pid %d, digest error %v", c.Launched, c.Pid, c.DigestErr)
		}
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
	if d, err := enroll.HashFile(want); err != nil || d != digest {
		t.Errorf("Enrollment saw digest %s, the binary's is %s (%v)", digest.Hex(), d.Hex(), err)
	}
}
