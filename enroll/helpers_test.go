package enroll_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/plugctl/plugctl/enroll"
)

// testID is a valid, deterministic entry id: 00000000-0000-4000-8000-00000000000n.
func testID(n int) string { return fmt.Sprintf("00000000-0000-4000-8000-%012x", n) }

// testDigest is a valid sha256 value.
const testDigest = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"

// newEntry is a minimal valid entry pinned by testDigest.
func newEntry(n int, name string) *enroll.Entry {
	return &enroll.Entry{
		ID:         testID(n),
		Name:       name,
		Path:       fmt.Sprintf("/opt/plugins/%s-%d", name, n),
		SHA256:     testDigest,
		EnrolledAt: time.Date(2026, 12, 2, 13, 25, 56, 0, time.UTC),
	}
}

// writeEntry writes e into dir as plugctl would name it, mode 0600.
func writeEntry(t *testing.T, dir string, e *enroll.Entry) string {
	t.Helper()
	path := filepath.Join(dir, e.ID+".toml")
	writeFile(t, path, enroll.Marshal(e), 0o600)
	return path
}

func writeFile(t *testing.T, path string, data []byte, mode os.FileMode) {
	t.Helper()
	if err := os.WriteFile(path, data, mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, mode); err != nil { // whatever the umask
		t.Fatal(err)
	}
}

// parseErrors flattens what Parse returned into its *Error values: the
// joined ones (errors.Join's Unwrap() []error) and a bare one. It fails the
// test on an error that is not an *Error.
func parseErrors(t *testing.T, err error) []*enroll.Error {
	t.Helper()
	var out []*enroll.Error
	var walk func(error)
	walk = func(err error) {
		if multi, ok := err.(interface{ Unwrap() []error }); ok {
			for _, e := range multi.Unwrap() {
				walk(e)
			}
			return
		}
		var pe *enroll.Error
		if !errors.As(err, &pe) {
			t.Fatalf("%T %v is not an *enroll.Error", err, err)
		}
		out = append(out, pe)
	}
	if err != nil {
		walk(err)
	}
	return out
}

// diffEntry describes how b differs from a, or returns "". Times compare
// by instant (Equal), and a nil and an empty args or env are the same.
func diffEntry(a, b *enroll.Entry) string {
	var diffs []string
	for _, tm := range []struct {
		name string
		a, b time.Time
	}{
		{"EnrolledAt", a.EnrolledAt, b.EnrolledAt},
		{"UpdatedAt", a.UpdatedAt, b.UpdatedAt},
		{"RevokedAt", a.RevokedAt, b.RevokedAt},
	} {
		if !tm.a.Equal(tm.b) {
			diffs = append(diffs, fmt.Sprintf("%s: %v != %v", tm.name, tm.a, tm.b))
		}
	}
	norm := func(e *enroll.Entry) enroll.Entry {
		c := *e
		c.EnrolledAt, c.UpdatedAt, c.RevokedAt = time.Time{}, time.Time{}, time.Time{}
		if len(c.Args) == 0 {
			c.Args = nil
		}
		if len(c.Env) == 0 {
			c.Env = nil
		}
		return c
	}
	na, nb := norm(a), norm(b)
	if !reflect.DeepEqual(na, nb) {
		diffs = append(diffs, fmt.Sprintf("%#v\n!=\n%#v", na, nb))
	}
	return strings.Join(diffs, "\n")
}
