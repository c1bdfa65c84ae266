package supervisor

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestStoreRoundTrip: marks come back as saved, with and without a
// position; a newer save replaces the file whole and leaves no temporary
// file behind.
func TestStoreRoundTrip(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state")
	s, err := OpenStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	id := "6f1c0a2e-5b7d-4c1e-9a51-2f0e3c9d8b11"
	a, b := Slot{id, 1}, Slot{id, 2}
	for _, save := range []struct {
		k Slot
		m Mark
	}{{a, Mark{Plugin: "acme", Offset: 10}}, {b, Mark{Plugin: "acme", Position: 7, Has: true, Offset: 99}},
		{a, Mark{Plugin: "acme", Position: 42, Has: true, Offset: 1234}}} {
		if err := s.Save(save.k, save.m); err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.Load()
	if err != nil {
		t.Fatal(err)
	}
	want := map[Slot]Mark{a: {Plugin: "acme", Position: 42, Has: true, Offset: 1234}, b: {Plugin: "acme", Position: 7, Has: true, Offset: 99}}
	if len(got) != len(want) || got[a] != want[a] || got[b] != want[b] {
		t.Errorf("loaded %v, want %v", got, want)
	}
	names, _ := os.ReadDir(dir)
	var files []string
	for _, n := range names {
		files = append(files, n.Name())
	}
	if strings.Join(files, " ") != ".lock "+id+".1.json "+id+".2.json" {
		t.Errorf("state directory holds %v", files)
	}
	if fi, _ := os.Stat(dir); fi.Mode().Perm() != 0o700 {
		t.Errorf("state directory mode %v, want 0700", fi.Mode().Perm())
	}
}

// TestStoreLockedAndStrict: a second host cannot open the same state; a
// damaged or misnamed file is an error naming it, and a temporary file a
// crash left is ignored.
func TestStoreLockedAndStrict(t *testing.T) {
	dir := t.TempDir()
	s, err := OpenStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := OpenStore(dir); err == nil || !strings.Contains(err.Error(), "in use by another plugctl host") {
		t.Errorf("second OpenStore: %v, want it refused", err)
	}
	os.WriteFile(filepath.Join(dir, ".tmp-123"), []byte("{"), 0o600)
	if m, err := s.Load(); err != nil || len(m) != 0 {
		t.Errorf("Load with a stray temporary file: %v, %v", m, err)
	}
	bad := filepath.Join(dir, "x.1.json")
	os.WriteFile(bad, []byte(`{"plugin_id":"x","slot":1,"offset":`), 0o600)
	if _, err := s.Load(); err == nil || !strings.Contains(err.Error(), bad) {
		t.Errorf("Load of a truncated file: %v, want an error naming %s", err, bad)
	}
	os.WriteFile(bad, []byte(`{"plugin_id":"y","slot":1,"offset":0}`), 0o600)
	if _, err := s.Load(); err == nil || !strings.Contains(err.Error(), "does not match its name") {
		t.Errorf("Load of a misnamed file: %v", err)
	}
	if err := s.Save(Slot{"../evil", 1}, Mark{}); err == nil {
		t.Error("Save accepted a plugin id with a path in it")
	}
	s.Close()
	if s2, err := OpenStore(dir); err != nil {
		t.Errorf("OpenStore after Close: %v", err)
	} else {
		s2.Close()
	}
}
