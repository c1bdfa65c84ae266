package enroll

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/plugctl/plugctl/internal/atomicfile"
)

// EnvRegistry names the registry directory when no --registry flag does.
const EnvRegistry = "PLUGCTL_REGISTRY"

// ResolveDir picks the registry directory: flag if given, else
// $PLUGCTL_REGISTRY, else plugctl/registry under the user's configuration
// directory (~/.config on Linux, ~/Library/Application Support on macOS,
// %AppData% on Windows).
func ResolveDir(flag string) (string, error) {
	dir := flag
	if dir == "" {
		dir = os.Getenv(EnvRegistry)
	}
	if dir == "" {
		conf, err := os.UserConfigDir()
		if err != nil {
			return "", fmt.Errorf("no registry directory: %w (give --registry DIR or set %s)", err, EnvRegistry)
		}
		dir = filepath.Join(conf, "plugctl", "registry")
	}
	dir, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	return resolveExisting(dir), nil
}

// resolveExisting resolves the symbolic links in the part of path that
// exists, so that the paths of binaries inside the registry are the ones
// a host finds when it resolves the binary it launches.
func resolveExisting(path string) string {
	rest := ""
	for p := path; ; p = filepath.Dir(p) {
		if real, err := filepath.EvalSymlinks(p); err == nil {
			return filepath.Join(real, rest)
		}
		if filepath.Dir(p) == p {
			return path
		}
		rest = filepath.Join(filepath.Base(p), rest)
	}
}

// Registry is a registry directory.
type Registry struct {
	Dir string
}

// Open returns the registry in dir, which need not exist yet: the first
// write creates it, readable and writable by its owner only.
func Open(dir string) *Registry { return &Registry{Dir: dir} }

// Snapshot is the registry as one Load found it.
type Snapshot struct {
	Entries []*Entry // sorted by name, then id
	// Problems are the files that could not be loaded, each an error
	// naming the file (and line and column where that helps). The other
	// entries load regardless.
	Problems []error
}

// entryFile is the name of the file holding the entry with id.
func entryFile(id string) string { return id + ".toml" }

// Load reads every entry. A missing directory is an empty registry; a
// directory another user can write is refused, since whoever can write it
// decides which plugins run.
func (r *Registry) Load() (*Snapshot, error) {
	if err := checkDir(r.Dir); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return &Snapshot{}, nil
		}
		return nil, err
	}
	names, err := os.ReadDir(r.Dir)
	if err != nil {
		return nil, fmt.Errorf("registry %s: %w", r.Dir, err)
	}
	s := &Snapshot{}
	byPath := map[string]*Entry{}
	for _, d := range names {
		name := d.Name()
		if !strings.HasSuffix(name, ".toml") || strings.HasPrefix(name, ".") {
			continue // the lock, temporary files, the bin directory
		}
		path := filepath.Join(r.Dir, name)
		e, err := loadEntry(path)
		if err != nil {
			s.Problems = append(s.Problems, err)
			continue
		}
		if name != entryFile(e.ID) {
			s.Problems = append(s.Problems, fmt.Errorf("%s: holds the entry with id %s, so it must be named %s (rename it back)", path, e.ID, entryFile(e.ID)))
			continue
		}
		if other := byPath[e.Path]; other != nil {
			s.Problems = append(s.Problems, fmt.Errorf("%s: path %s is already enrolled as %s (remove one of the two entries)", path, e.Path, other.Ref()))
			continue
		}
		byPath[e.Path] = e
		s.Entries = append(s.Entries, e)
	}
	slices.SortFunc(s.Entries, func(a, b *Entry) int {
		if c := strings.Compare(a.Name, b.Name); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	return s, nil
}

// loadEntry reads one entry file, refusing one that others could change.
func loadEntry(path string) (*Entry, error) {
	if err := checkFile(path); err != nil {
		return nil, err
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return Parse(path, data)
}

// Find returns the entry that ref names: an id, a unique prefix of one
// (at least 4 characters), or a name held by one entry only.
func (s *Snapshot) Find(ref string) (*Entry, error) {
	var byName, byPrefix []*Entry
	for _, e := range s.Entries {
		switch {
		case e.ID == ref:
			return e, nil
		case e.Name == ref:
			byName = append(byName, e)
		case len(ref) >= 4 && strings.HasPrefix(e.ID, ref):
			byPrefix = append(byPrefix, e)
		}
	}
	for _, found := range [][]*Entry{byName, byPrefix} {
		switch len(found) {
		case 0:
			continue
		case 1:
			return found[0], nil
		}
		ids := make([]string, len(found))
		for i, e := range found {
			ids[i] = e.ID
		}
		return nil, &NotFoundError{Ref: ref, Ambiguous: ids}
	}
	return nil, &NotFoundError{Ref: ref}
}

// ByPath returns the entry enrolling the binary at path, or nil.
func (s *Snapshot) ByPath(path string) *Entry {
	for _, e := range s.Entries {
		if e.Path == path {
			return e
		}
	}
	return nil
}

// ByID returns the entry with id, or nil.
func (s *Snapshot) ByID(id string) *Entry {
	for _, e := range s.Entries {
		if e.ID == id {
			return e
		}
	}
	return nil
}

// NotFoundError is a reference that names no entry, or more than one.
type NotFoundError struct {
	Ref       string
	Ambiguous []string // the ids it could mean; empty: none
}

func (e *NotFoundError) Error() string {
	if len(e.Ambiguous) > 0 {
		return fmt.Sprintf("%q names %d entries (%s); give the id", e.Ref, len(e.Ambiguous), strings.Join(e.Ambiguous, ", "))
	}
	return fmt.Sprintf("no enrolled plugin %q (plugctl manifest list shows them)", e.Ref)
}

// Tx is one change to the registry, made under its lock: the snapshot is
// read after the lock is taken, so no concurrent change is lost.
type Tx struct {
	*Snapshot
	ops []op // in the order asked for; the last one for an id wins
}

// op is a Put (e set) or a Delete (of id).
type op struct {
	id string
	e  *Entry
}

// Put writes e, new or changed, when the transaction commits.
func (tx *Tx) Put(e *Entry) { tx.ops = append(tx.ops, op{id: e.ID, e: e}) }

// Delete removes the entry with id when the transaction commits.
func (tx *Tx) Delete(id string) { tx.ops = append(tx.ops, op{id: id}) }

// Edit runs fn under the registry's lock and then makes the changes it
// asked for, each an atomic replacement of one file. Nothing is written
// when fn fails, or when a change would leave an entry that does not load
// (an entry that does not check, a path another entry has, a deletion of
// an entry that is not there).
func (r *Registry) Edit(fn func(tx *Tx) error) error {
	if err := r.ensureDir(); err != nil {
		return err
	}
	unlock, err := lock(filepath.Join(r.Dir, ".lock"))
	if err != nil {
		return fmt.Errorf("registry %s: %w", r.Dir, err)
	}
	defer unlock()
	s, err := r.Load()
	if err != nil {
		return err
	}
	tx := &Tx{Snapshot: s}
	if err := fn(tx); err != nil {
		return err
	}
	final, order, put, skip := map[string]*Entry{}, []string{}, map[string]bool{}, map[string]bool{}
	for _, o := range tx.ops {
		if _, seen := final[o.id]; !seen {
			order = append(order, o.id)
		}
		final[o.id] = o.e
		put[o.id] = put[o.id] || o.e != nil
	}
	// Check every change before making any.
	byPath := map[string]*Entry{}
	for _, e := range s.Entries {
		if _, changed := final[e.ID]; !changed {
			byPath[e.Path] = e
		}
	}
	for _, id := range order {
		e := final[id]
		if !validID(id) {
			return fmt.Errorf("registry %s: %q is not an entry id", r.Dir, id)
		}
		file := filepath.Join(r.Dir, entryFile(id))
		if e == nil {
			_, err := os.Lstat(file)
			switch {
			case errors.Is(err, fs.ErrNotExist) && put[id]:
				skip[id] = true // put and deleted again: nothing to do
			case err != nil:
				return fmt.Errorf("registry %s: remove entry %s: %w", r.Dir, id, err)
			}
			continue
		}
		if _, err := Parse(file, Marshal(e)); err != nil {
			return fmt.Errorf("registry %s: refusing to write an entry that does not check: %w", r.Dir, err)
		}
		if other, taken := byPath[e.Path]; taken {
			return fmt.Errorf("registry %s: path %s is already enrolled as %s", r.Dir, e.Path, other.Ref())
		}
		byPath[e.Path] = e
	}
	removed := false
	for _, id := range order {
		if skip[id] {
			continue
		}
		file := filepath.Join(r.Dir, entryFile(id))
		if e := final[id]; e != nil {
			if err := atomicfile.Write(file, Marshal(e), 0o600); err != nil {
				return err
			}
			continue
		}
		if err := os.Remove(file); err != nil {
			return err
		}
		removed = true
	}
	if removed {
		return atomicfile.SyncDir(r.Dir)
	}
	return nil
}

// ensureDir creates the registry directory, private to its owner, and
// refuses one that others can write.
func (r *Registry) ensureDir() error {
	if err := os.MkdirAll(r.Dir, 0o700); err != nil {
		return fmt.Errorf("registry: %w", err)
	}
	return checkDir(r.Dir)
}

// BinDir is where enroll puts the binaries it builds from projects: inside
// the registry, so they are as protected as the entries that pin them.
func (r *Registry) BinDir(id string) string { return filepath.Join(r.Dir, "bin", id) }
