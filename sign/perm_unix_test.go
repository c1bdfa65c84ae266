//go:build unix

package sign

import (
	"os"
	"path/filepath"
	"testing"
)

func TestLoadPrivateKeyPermissions(t *testing.T) {
	path := filepath.Join(t.TempDir(), "k")
	if _, err := WriteKeyPair(path, ""); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		mode os.FileMode
		text string
	}{{0o644, "0644"}, {0o640, "0640"}, {0o604, "0604"}, {0o620, "0620"}} {
		if err := os.Chmod(path, tt.mode); err != nil {
			t.Fatal(err)
		}
		_, err := LoadPrivateKey(path)
		want := "permissions " + tt.text + " for " + path + " are too open; run chmod 600 " + path
		if err == nil || err.Error() != want {
			t.Errorf("mode %s: got %v, want %q", tt.text, err, want)
		}
	}
	for _, mode := range []os.FileMode{0o600, 0o400} {
		if err := os.Chmod(path, mode); err != nil {
			t.Fatal(err)
		}
		if _, err := LoadPrivateKey(path); err != nil {
			t.Errorf("mode %04o: %v", mode, err)
		}
	}
}
