package enroll

import (
	"os"
	"path/filepath"
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

// TestEditFailedWriteKeepsOld: an Edit whose write fails leaves the old
// entry and no temporary file.
// TestEditFailedWriteKeepsOld: when an entry's rename fails (its file is a
// directory, which even root cannot rename a file over), the temporary
// file is removed and the other entries are intact.
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
