//go:build unix

package enroll_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/plugctl/plugctl/enroll"
)

// Root gets the mode checks too: only the owner check needs another uid.

func TestLoadRefusesWritableDir(t *testing.T) {
	for _, mode := range []os.FileMode{0o777, 0o770, 0o720, 0o702} {
		t.Run(mode.String(), func(t *testing.T) {
			dir := t.TempDir()
			writeEntry(t, dir, newEntry(1, "acme"))
			if err := os.Chmod(dir, mode); err != nil {
				t.Fatal(err)
			}
			r := enroll.Open(dir)
			s, err := r.Load()
			var pe *enroll.PermissionError
			if !errors.As(err, &pe) || s != nil {
				t.Fatalf("Load = %v, %v; want a *PermissionError", s, err)
			}
			if pe.Path != dir || pe.Mode.Perm() != mode || pe.Owner != 0 {
				t.Errorf("PermissionError %+v", pe)
			}
			if msg := err.Error(); !strings.Contains(msg, "chmod go-w "+dir) || !strings.Contains(msg, "registry "+dir) {
				t.Errorf("message %q does not name the directory and the fix", msg)
			}
			// Edit refuses it too, before running fn.
			ran := false
			if err := r.Edit(func(*enroll.Tx) error { ran = true; return nil }); !errors.As(err, &pe) || ran {
				t.Errorf("Edit = %v (fn ran: %t); want a *PermissionError", err, ran)
			}
		})
	}
}

func TestLoadAcceptsPrivateDir(t *testing.T) {
	for _, mode := range []os.FileMode{0o700, 0o750, 0o755, 0o711} {
		dir := t.TempDir()
		writeEntry(t, dir, newEntry(1, "acme"))
		if err := os.Chmod(dir, mode); err != nil {
			t.Fatal(err)
		}
		if s, err := enroll.Open(dir).Load(); err != nil || len(s.Entries) != 1 {
			t.Errorf("mode %v: Load = %v, %v", mode, s, err)
		}
	}
}

func TestLoadSkipsWritableEntry(t *testing.T) {
	for _, mode := range []os.FileMode{0o666, 0o620, 0o602} {
		t.Run(mode.String(), func(t *testing.T) {
			dir := t.TempDir()
			good := newEntry(1, "good")
			writeEntry(t, dir, good)
			loose := writeEntry(t, dir, newEntry(2, "loose"))
			if err := os.Chmod(loose, mode); err != nil {
				t.Fatal(err)
			}
			s, err := enroll.Open(dir).Load()
			if err != nil {
				t.Fatal(err)
			}
			if len(s.Entries) != 1 || s.Entries[0].ID != good.ID {
				t.Errorf("entries %v, want only the good one", s.Entries)
			}
			if len(s.Problems) != 1 {
				t.Fatalf("problems %v, want one", s.Problems)
			}
			var pe *enroll.PermissionError
			if !errors.As(s.Problems[0], &pe) || pe.Path != loose {
				t.Fatalf("problem %v is not a *PermissionError for %s", s.Problems[0], loose)
			}
			if msg := s.Problems[0].Error(); !strings.HasPrefix(msg, loose+" ") || !strings.Contains(msg, "chmod go-w "+loose) {
				t.Errorf("message %q", msg)
			}
		})
	}
}

func TestLoadSkipsSymlinkEntry(t *testing.T) {
	dir, elsewhere := t.TempDir(), t.TempDir()
	good := newEntry(1, "good")
	writeEntry(t, dir, good)
	linked := newEntry(2, "linked")
	target := writeEntry(t, elsewhere, linked) // a fine entry, but not in the registry
	link := filepath.Join(dir, linked.ID+".toml")
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
	s, err := enroll.Open(dir).Load()
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Entries) != 1 || s.Entries[0].ID != good.ID {
		t.Errorf("entries %v, want only the good one", s.Entries)
	}
	if len(s.Problems) != 1 || !strings.HasPrefix(s.Problems[0].Error(), link+": not a regular file") {
		t.Errorf("problems %v, want one naming %s as not a regular file", s.Problems, link)
	}
}

func TestLoadRefusesForeignOwner(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root, to give a file to another uid")
	}
	const other = 12345

	t.Run("entry", func(t *testing.T) {
		dir := t.TempDir()
		good := newEntry(1, "good")
		writeEntry(t, dir, good)
		foreign := writeEntry(t, dir, newEntry(2, "foreign"))
		if err := os.Chown(foreign, other, other); err != nil {
			t.Fatal(err)
		}
		s, err := enroll.Open(dir).Load()
		if err != nil {
			t.Fatal(err)
		}
		if len(s.Entries) != 1 || s.Entries[0].ID != good.ID {
			t.Errorf("entries %v, want only the good one", s.Entries)
		}
		var pe *enroll.PermissionError
		if len(s.Problems) != 1 || !errors.As(s.Problems[0], &pe) || pe.Owner != other || pe.Path != foreign {
			t.Fatalf("problems %v, want a *PermissionError for uid %d", s.Problems, other)
		}
		if msg := pe.Error(); !strings.Contains(msg, "owned by uid 12345") || !strings.Contains(msg, "chown 0 "+foreign) {
			t.Errorf("message %q", msg)
		}
	})
	t.Run("dir", func(t *testing.T) {
		dir := t.TempDir()
		writeEntry(t, dir, newEntry(1, "acme"))
		if err := os.Chown(dir, other, other); err != nil {
			t.Fatal(err)
		}
		_, err := enroll.Open(dir).Load()
		var pe *enroll.PermissionError
		if !errors.As(err, &pe) || pe.Owner != other || !strings.Contains(err.Error(), "registry "+dir+" is owned by uid 12345") {
			t.Errorf("Load = %v; want a *PermissionError for uid %d", err, other)
		}
	})
	t.Run("root-owned is fine", func(t *testing.T) {
		dir := t.TempDir() // made by root, as the test runs as root
		writeEntry(t, dir, newEntry(1, "acme"))
		if s, err := enroll.Open(dir).Load(); err != nil || len(s.Entries) != 1 || len(s.Problems) != 0 {
			t.Errorf("Load = %v, %v", s, err)
		}
	})
}
