package enroll_test

import (
	"errors"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/plugctl/plugctl/enroll"
)

func TestLoadMissingDir(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "no", "such", "registry")
	s, err := enroll.Open(dir).Load()
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Entries) != 0 || len(s.Problems) != 0 {
		t.Errorf("missing directory loads %d entries, %d problems", len(s.Entries), len(s.Problems))
	}
	if _, err := os.Stat(dir); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Load created the directory: %v", err)
	}
}

func TestLoadGoodAndBad(t *testing.T) {
	dir := t.TempDir()
	good1 := newEntry(1, "beta")
	good2 := newEntry(2, "alpha")
	writeEntry(t, dir, good1)
	writeEntry(t, dir, good2)

	corrupt := filepath.Join(dir, testID(3)+".toml")
	writeFile(t, corrupt, []byte("id = \"oops\n"), 0o600)

	misnamedEntry := newEntry(4, "gamma")
	misnamed := filepath.Join(dir, testID(5)+".toml") // holds id ...4
	writeFile(t, misnamed, enroll.Marshal(misnamedEntry), 0o600)

	dup := newEntry(6, "delta")
	dup.Path = good1.Path // the same binary as good1, whose file sorts first
	dupFile := writeEntry(t, dir, dup)

	// Ignored: not entries.
	writeFile(t, filepath.Join(dir, ".lock"), nil, 0o600)
	writeFile(t, filepath.Join(dir, ".tmp-123"), []byte("garbage"), 0o600)
	writeFile(t, filepath.Join(dir, ".tmp-1.toml"), []byte("garbage"), 0o600)
	writeFile(t, filepath.Join(dir, "README"), []byte("garbage"), 0o600)
	if err := os.MkdirAll(filepath.Join(dir, "bin", testID(1)), 0o700); err != nil {
		t.Fatal(err)
	}

	s, err := enroll.Open(dir).Load()
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range s.Entries {
		names = append(names, e.Name)
	}
	if !slices.Equal(names, []string{"alpha", "beta"}) { // sorted by name
		t.Errorf("entries %v, want [alpha beta]", names)
	}
	if d := diffEntry(good1, s.ByID(good1.ID)); d != "" {
		t.Errorf("loaded entry differs:\n%s", d)
	}

	if len(s.Problems) != 3 {
		t.Fatalf("%d problems, want 3: %v", len(s.Problems), s.Problems)
	}
	for i, want := range []struct{ file, text string }{
		{corrupt, "invalid TOML"},
		{misnamed, "must be named " + testID(4) + ".toml"},
		{dupFile, "already enrolled as beta (" + enroll.ShortID(good1.ID) + ")"},
	} {
		msg := s.Problems[i].Error()
		if !strings.HasPrefix(msg, want.file+":") || !strings.Contains(msg, want.text) {
			t.Errorf("problem %d is %q, want one naming %s and saying %q", i, msg, want.file, want.text)
		}
	}
	var pe *enroll.Error
	if !errors.As(s.Problems[0], &pe) || pe.File != corrupt || pe.Line != 1 {
		t.Errorf("corrupt file's problem is not an *Error at its line 1: %#v", s.Problems[0])
	}
}

func TestFind(t *testing.T) {
	a := newEntry(1, "acme")
	a.ID = "6f1c0a2e-5b7d-4c1e-9a51-2f0e3c9d8b11"
	b := newEntry(2, "bolt")
	b.ID = "6f1c9999-5b7d-4c1e-9a51-2f0e3c9d8b11"
	c1 := newEntry(3, "twin")
	c1.ID = "aaaa0000-0000-4000-8000-000000000003"
	c2 := newEntry(4, "twin")
	c2.ID = "bbbb0000-0000-4000-8000-000000000004"
	named := newEntry(5, "abcd") // a name that looks like an id prefix
	named.ID = "cccc0000-0000-4000-8000-000000000005"
	prefixName := newEntry(6, "aaaa") // a name that is c1's id prefix: the name wins
	prefixName.ID = "dddd0000-0000-4000-8000-000000000006"
	s := &enroll.Snapshot{Entries: []*enroll.Entry{a, b, c1, c2, named, prefixName}}

	for _, tc := range []struct {
		ref       string
		want      *enroll.Entry
		ambiguous []string
	}{
		{ref: a.ID, want: a},
		{ref: "6f1c0a2e", want: a},
		{ref: "6f1c0", want: a},
		{ref: "6f1c9", want: b},
		{ref: "acme", want: a},
		{ref: "abcd", want: named},
		{ref: "aaaa", want: prefixName},
		{ref: "aaaa0", want: c1},
		{ref: "6f1c", ambiguous: []string{a.ID, b.ID}},
		{ref: "twin", ambiguous: []string{c1.ID, c2.ID}},
		{ref: "6f1"}, // too short to be a prefix
		{ref: "6f"},
		{ref: ""},
		{ref: "nobody"},
		{ref: "6f1c0a2e-5b7d-4c1e-9a51-2f0e3c9d8b12"},
	} {
		got, err := s.Find(tc.ref)
		if tc.want != nil {
			if err != nil || got != tc.want {
				t.Errorf("Find(%q) = %v, %v; want %s", tc.ref, got, err, tc.want.ID)
			}
			continue
		}
		var nf *enroll.NotFoundError
		if !errors.As(err, &nf) || got != nil {
			t.Errorf("Find(%q) = %v, %v; want a *NotFoundError", tc.ref, got, err)
			continue
		}
		if nf.Ref != tc.ref || !slices.Equal(nf.Ambiguous, tc.ambiguous) {
			t.Errorf("Find(%q): %+v, want ambiguous %v", tc.ref, nf, tc.ambiguous)
		}
		if len(tc.ambiguous) > 0 && !strings.Contains(err.Error(), "give the id") {
			t.Errorf("Find(%q): message %q", tc.ref, err)
		}
		if len(tc.ambiguous) == 0 && !strings.Contains(err.Error(), "no enrolled plugin") {
			t.Errorf("Find(%q): message %q", tc.ref, err)
		}
	}
}

func TestEditPutDelete(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "registry") // Edit creates it
	r := enroll.Open(dir)
	a, b := newEntry(1, "acme"), newEntry(2, "bolt")
	if err := r.Edit(func(tx *enroll.Tx) error {
		if len(tx.Entries) != 0 {
			t.Errorf("new registry has %d entries", len(tx.Entries))
		}
		tx.Put(a)
		tx.Put(b)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if runtime.GOOS != "windows" {
		if fi, err := os.Stat(dir); err != nil || fi.Mode().Perm() != 0o700 {
			t.Errorf("registry directory: %v, %v; want mode 0700", fi.Mode(), err)
		}
		for _, id := range []string{a.ID, b.ID} {
			if fi, err := os.Stat(filepath.Join(dir, id+".toml")); err != nil || fi.Mode().Perm() != 0o600 {
				t.Errorf("entry %s: %v, %v; want mode 0600", id, fi.Mode(), err)
			}
		}
	}
	data, err := os.ReadFile(filepath.Join(dir, a.ID+".toml"))
	if err != nil || string(data) != string(enroll.Marshal(a)) {
		t.Errorf("entry file holds %q, %v; want Marshal(a)", data, err)
	}

	// Change one, delete the other; the transaction sees what is there.
	if err := r.Edit(func(tx *enroll.Tx) error {
		cur := tx.ByID(a.ID)
		if cur == nil || tx.ByID(b.ID) == nil {
			t.Fatalf("Edit's snapshot lacks the entries: %v", tx.Entries)
		}
		next := *cur
		next.Version = "2.0"
		tx.Put(&next)
		tx.Delete(b.ID)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	s := load(t, r)
	if len(s.Entries) != 1 || s.Entries[0].ID != a.ID || s.Entries[0].Version != "2.0" {
		t.Errorf("after edit: %+v", s.Entries)
	}
	if _, err := os.Stat(filepath.Join(dir, b.ID+".toml")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("deleted entry's file: %v", err)
	}
	assertNoTemp(t, dir)
}

// TestEditOrder: changes to one id apply in the order asked for.
func TestEditOrder(t *testing.T) {
	r := enroll.Open(t.TempDir())
	a, b := newEntry(1, "acme"), newEntry(2, "bolt")
	mustEdit(t, r, func(tx *enroll.Tx) error { tx.Put(a); tx.Put(b); return nil })
	mustEdit(t, r, func(tx *enroll.Tx) error {
		tx.Put(a)
		tx.Delete(a.ID) // put then delete: gone
		tx.Delete(b.ID)
		tx.Put(b) // delete then put: there
		return nil
	})
	s := load(t, r)
	if s.ByID(a.ID) != nil || s.ByID(b.ID) == nil || len(s.Entries) != 1 {
		t.Errorf("entries after put+delete / delete+put: %v", s.Entries)
	}

	// A new entry put and deleted again is nothing to do, not an error.
	c := newEntry(3, "fleeting")
	mustEdit(t, r, func(tx *enroll.Tx) error { tx.Put(c); tx.Delete(c.ID); return nil })
	if s := load(t, r); s.ByID(c.ID) != nil || len(s.Entries) != 1 {
		t.Errorf("entries after put+delete of a new one: %v", s.Entries)
	}
}

func TestEditErrorWritesNothing(t *testing.T) {
	dir := t.TempDir()
	r := enroll.Open(dir)
	a := newEntry(1, "acme")
	mustEdit(t, r, func(tx *enroll.Tx) error { tx.Put(a); return nil })
	before := snapshotDir(t, dir)

	boom := errors.New("boom")
	err := r.Edit(func(tx *enroll.Tx) error {
		changed := *a
		changed.Name = "changed"
		tx.Put(&changed)
		tx.Put(newEntry(2, "new"))
		tx.Delete(a.ID)
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("Edit returned %v, want fn's error", err)
	}
	if after := snapshotDir(t, dir); !maps.Equal(before, after) {
		t.Errorf("a failed Edit changed the directory:\nbefore %v\nafter  %v", before, after)
	}
}

// TestEditRefusesBadChanges: a change that would leave a file Load
// rejects (or write outside the registry) fails, and nothing of the
// transaction is written.
func TestEditRefusesBadChanges(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "registry")
	r := enroll.Open(dir)
	a := newEntry(1, "acme")
	mustEdit(t, r, func(tx *enroll.Tx) error { tx.Put(a); return nil })
	before := snapshotDir(t, dir)

	noPin := newEntry(3, "nopin")
	noPin.SHA256 = ""
	escape := newEntry(4, "escape")
	escape.ID = "../escape"
	samePath := newEntry(5, "same")
	samePath.Path = a.Path
	for name, fn := range map[string]func(tx *enroll.Tx){
		"invalid entry":      func(tx *enroll.Tx) { tx.Put(noPin) },
		"id outside":         func(tx *enroll.Tx) { tx.Put(escape) },
		"delete outside":     func(tx *enroll.Tx) { tx.Delete("../registry/" + a.ID) },
		"path taken":         func(tx *enroll.Tx) { tx.Put(samePath) },
		"delete missing":     func(tx *enroll.Tx) { tx.Delete(testID(9)) },
		"good then bad":      func(tx *enroll.Tx) { tx.Put(newEntry(6, "fine")); tx.Put(noPin) },
		"good then bad path": func(tx *enroll.Tx) { tx.Put(newEntry(7, "fine")); tx.Put(samePath) },
	} {
		err := r.Edit(func(tx *enroll.Tx) error { fn(tx); return nil })
		if err == nil {
			t.Errorf("%s: Edit succeeded", name)
		}
		if after := snapshotDir(t, dir); !maps.Equal(before, after) {
			t.Errorf("%s: Edit wrote:\nbefore %v\nafter  %v", name, before, after)
		}
	}
	if _, err := os.Stat(filepath.Join(filepath.Dir(dir), "escape.toml")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("an entry was written outside the registry: %v", err)
	}

	// Moving an entry's path to another's is fine once that one moves away.
	mustEdit(t, r, func(tx *enroll.Tx) error {
		moved := *a
		moved.Path = "/opt/elsewhere"
		tx.Put(&moved)
		tx.Put(samePath)
		return nil
	})
	if s := load(t, r); len(s.Entries) != 2 || len(s.Problems) != 0 {
		t.Errorf("after the swap: %v, problems %v", s.Entries, s.Problems)
	}
}

func TestResolveDir(t *testing.T) {
	cwd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	env := filepath.Join(t.TempDir(), "from-env")
	conf := filepath.Join(t.TempDir(), "conf")
	home := filepath.Join(t.TempDir(), "home")
	flagDir := filepath.Join(t.TempDir(), "from-flag")

	t.Setenv("XDG_CONFIG_HOME", conf)
	t.Setenv("HOME", home)
	t.Setenv("AppData", conf) // Windows' os.UserConfigDir
	t.Setenv(enroll.EnvRegistry, env)

	check := func(flag, want string) {
		t.Helper()
		got, err := enroll.ResolveDir(flag)
		if err != nil || got != want {
			t.Errorf("ResolveDir(%q) = %q, %v; want %q", flag, got, err, want)
		}
	}
	check(flagDir, flagDir)                            // the flag first
	check("rel/dir", filepath.Join(cwd, "rel", "dir")) // made absolute
	check("", env)                                     // then the environment
	t.Setenv(enroll.EnvRegistry, "rel-env")            //
	check("", filepath.Join(cwd, "rel-env"))           // also made absolute
	t.Setenv(enroll.EnvRegistry, "")                   // then the config directory
	userConf, err := os.UserConfigDir()
	if err != nil {
		t.Fatal(err)
	}
	check("", filepath.Join(userConf, "plugctl", "registry"))

	if runtime.GOOS != "linux" {
		return
	}
	check("", filepath.Join(conf, "plugctl", "registry"))
	t.Setenv("XDG_CONFIG_HOME", "")
	check("", filepath.Join(home, ".config", "plugctl", "registry"))
	t.Setenv("HOME", "")
	if got, err := enroll.ResolveDir(""); err == nil || !strings.Contains(err.Error(), "--registry") || !strings.Contains(err.Error(), enroll.EnvRegistry) {
		t.Errorf("ResolveDir with no config dir = %q, %v; want an error naming --registry and %s", got, err, enroll.EnvRegistry)
	}
	check(flagDir, flagDir) // a flag needs no config dir
}

func mustEdit(t *testing.T, r *enroll.Registry, fn func(tx *enroll.Tx) error) {
	t.Helper()
	if err := r.Edit(fn); err != nil {
		t.Fatal(err)
	}
}

func load(t *testing.T, r *enroll.Registry) *enroll.Snapshot {
	t.Helper()
	s, err := r.Load()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// snapshotDir maps each file in dir (the lock aside) to its content.
func snapshotDir(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	des, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range des {
		if d.Name() == ".lock" {
			continue
		}
		data, err := os.ReadFile(filepath.Join(dir, d.Name()))
		if err != nil {
			t.Fatal(err)
		}
		out[d.Name()] = string(data)
	}
	return out
}

// assertNoTemp fails if a write left a temporary file in dir.
func assertNoTemp(t *testing.T, dir string) {
	t.Helper()
	tmps, err := filepath.Glob(filepath.Join(dir, ".tmp-*"))
	if err != nil || len(tmps) > 0 {
		t.Errorf("temporary files left: %v %v", tmps, err)
	}
}
