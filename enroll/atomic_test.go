package enroll

import (
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"
)

func tempFiles(t *testing.T, dir string) []string {
	t.Helper()
	tmps, err := filepath.Glob(filepath.Join(dir, ".tmp-*"))
	if err != nil {
		t.Fatal(err)
	}
	return tmps
}

func TestWriteAtomic(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "entry.toml")
	for _, content := range []string{"first\n", "second, longer than the first\n", ""} {
		if err := writeAtomic(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(path)
		if err != nil || string(got) != content {
			t.Errorf("file holds %q, %v; want %q", got, err, content)
		}
		if tmps := tempFiles(t, dir); len(tmps) > 0 {
			t.Errorf("temporary files left: %v", tmps)
		}
		if runtime.GOOS != "windows" {
			fi, err := os.Stat(path)
			if err != nil || fi.Mode() != 0o600 {
				t.Errorf("mode %v, %v; want 0600", fi.Mode(), err)
			}
		}
	}
}

// TestWriteAtomicReplacesLooseMode: the new file has the mode asked for,
// not that of the file it replaces.
func TestWriteAtomicReplacesLooseMode(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no Unix modes")
	}
	path := filepath.Join(t.TempDir(), "entry.toml")
	if err := os.WriteFile(path, []byte("old"), 0o666); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, 0o666); err != nil {
		t.Fatal(err)
	}
	if err := writeAtomic(path, []byte("new"), 0o600); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode() != 0o600 {
		t.Errorf("mode %v, %v; want 0600", fi.Mode(), err)
	}
}

// TestWriteAtomicFailure: when the rename fails (the target is a
// directory, which even root cannot rename a file over), the temporary
// file is removed and what was there is intact.
func TestWriteAtomicFailure(t *testing.T) {
	dir := t.TempDir()
	target := filepath.Join(dir, "entry.toml")
	if err := os.Mkdir(target, 0o700); err != nil {
		t.Fatal(err)
	}
	inside := filepath.Join(target, "keep")
	if err := os.WriteFile(inside, []byte("old content"), 0o600); err != nil {
		t.Fatal(err)
	}
	err := writeAtomic(target, []byte("new content"), 0o600)
	if err == nil {
		t.Fatal("writeAtomic over a directory succeeded")
	}
	if tmps := tempFiles(t, dir); len(tmps) > 0 {
		t.Errorf("temporary files left after a failed write: %v", tmps)
	}
	if fi, err := os.Stat(target); err != nil || !fi.IsDir() {
		t.Errorf("target is no longer the directory: %v, %v", fi, err)
	}
	if got, err := os.ReadFile(inside); err != nil || string(got) != "old content" {
		t.Errorf("old content is now %q, %v", got, err)
	}
}

// TestWriteAtomicNoDir: a write into a directory that is not there fails
// and creates nothing.
func TestWriteAtomicNoDir(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "missing")
	if err := writeAtomic(filepath.Join(dir, "x.toml"), []byte("x"), 0o600); err == nil {
		t.Fatal("writeAtomic into a missing directory succeeded")
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("directory: %v", err)
	}
}

// TestEditFailedWriteKeepsOld: an Edit whose write fails leaves the old
// entry and no temporary file.
func TestEditFailedWriteKeepsOld(t *testing.T) {
	dir := t.TempDir()
	r := Open(dir)
	e := &Entry{ID: "00000000-0000-4000-8000-000000000001", Name: "acme", Path: "/opt/acme",
		SHA256:     "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
		EnrolledAt: time.Date(2026, 12, 2, 13, 25, 56, 0, time.UTC)}
	if err := r.Edit(func(tx *Tx) error { tx.Put(e); return nil }); err != nil {
		t.Fatal(err)
	}
	old, err := os.ReadFile(filepath.Join(dir, entryFile(e.ID)))
	if err != nil {
		t.Fatal(err)
	}
	// The second entry's file is a directory: its rename fails.
	blocked := *e
	blocked.ID, blocked.Path = "00000000-0000-4000-8000-000000000002", "/opt/blocked"
	if err := os.Mkdir(filepath.Join(dir, entryFile(blocked.ID)), 0o700); err != nil {
		t.Fatal(err)
	}
	err = r.Edit(func(tx *Tx) error { tx.Put(&blocked); return nil })
	if err == nil {
		t.Fatal("Edit succeeded")
	}
	if got, err := os.ReadFile(filepath.Join(dir, entryFile(e.ID))); err != nil || string(got) != string(old) {
		t.Errorf("old entry is now %q, %v", got, err)
	}
	if fi, err := os.Stat(filepath.Join(dir, entryFile(blocked.ID))); err != nil || !fi.IsDir() {
		t.Errorf("the blocking directory: %v, %v", fi, err)
	}
	if tmps := tempFiles(t, dir); len(tmps) > 0 {
		t.Errorf("temporary files left: %v", tmps)
	}
}
