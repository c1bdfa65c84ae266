package supervisor

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/plugctl/plugctl/internal/atomicfile"
)

// Slot names one stream the host keeps a position for: instance Slot
// (1..N, stable across sessions, unlike the wire's instance ids) of the
// plugin enrolled as PluginID.
type Slot struct {
	PluginID string
	Slot     int
}

func (k Slot) String() string { return fmt.Sprintf("%s/%d", k.PluginID, k.Slot) }

// Mark is what the host knows of a slot: the last position written to
// the output (and so acknowledged), and the output's size just after the
// line of that position. Offset is where a scan of the output for newer
// lines of the slot can start.
type Mark struct {
	Plugin   string // the plugin's name, for people reading the file
	Position uint64
	Has      bool // Position is set: the stream resumes after it
	Offset   int64
}

// markFile is a Mark on disk.
type markFile struct {
	PluginID string  `json:"plugin_id"`
	Plugin   string  `json:"plugin,omitempty"`
	Slot     int     `json:"slot"`
	Position *uint64 `json:"position,omitempty"`
	Offset   int64   `json:"offset"`
}

// Store is the --state directory: one file per slot, <plugin_id>.<slot>.json,
// each replaced atomically.
type Store struct {
	dir    string
	unlock func()
}

// OpenStore creates dir if needed, private to its owner, and takes its
// lock, so that two hosts never share a state directory.
func OpenStore(dir string) (*Store, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("state: %w", err)
	}
	fi, err := os.Stat(dir)
	if err == nil {
		err = private(dir, fi)
	}
	if err != nil {
		return nil, fmt.Errorf("state: %w", err)
	}
	unlock, err := lockPath(filepath.Join(dir, ".lock"))
	if err != nil {
		return nil, fmt.Errorf("state %s: %w", dir, err)
	}
	return &Store{dir: dir, unlock: unlock}, nil
}

// Close releases the lock.
func (s *Store) Close() { s.unlock() }

func (s *Store) file(k Slot) string {
	return filepath.Join(s.dir, k.PluginID+"."+strconv.Itoa(k.Slot)+".json")
}

// Load reads every slot's mark. A file that does not parse is an error:
// the files are only ever replaced whole, so it was damaged by something
// else, and guessing could duplicate or skip events.
func (s *Store) Load() (map[Slot]Mark, error) {
	names, err := os.ReadDir(s.dir)
	if err != nil {
		return nil, fmt.Errorf("state: %w", err)
	}
	marks := map[Slot]Mark{}
	for _, d := range names {
		name := d.Name()
		if strings.HasPrefix(name, ".") || !strings.HasSuffix(name, ".json") {
			continue // the lock, and temporary files a crash left
		}
		path := filepath.Join(s.dir, name)
		fi, err := d.Info()
		if err == nil {
			err = private(path, fi)
		}
		if err != nil {
			return nil, fmt.Errorf("state: %w", err)
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("state: %w", err)
		}
		var f markFile
		if err := json.Unmarshal(data, &f); err != nil {
			return nil, fmt.Errorf("state %s: %v (the host writes these files atomically, so something else changed it; remove the whole state directory to rebuild it from the output file)", path, err)
		}
		k := Slot{PluginID: f.PluginID, Slot: f.Slot}
		if f.PluginID == "" || f.Slot < 1 || s.file(k) != path {
			return nil, fmt.Errorf("state %s: holds plugin_id %q slot %d, which does not match its name", path, f.PluginID, f.Slot)
		}
		m := Mark{Plugin: f.Plugin, Offset: f.Offset}
		if f.Position != nil {
			m.Position, m.Has = *f.Position, true
		}
		marks[k] = m
	}
	return marks, nil
}

// Save replaces the slot's file with m: a temporary file is written and
// synced, renamed over it, and the directory synced, so a crash leaves
// the old mark or the new one.
func (s *Store) Save(k Slot, m Mark) error {
	if k.PluginID == "" || filepath.Base(k.PluginID) != k.PluginID || strings.HasPrefix(k.PluginID, ".") {
		return fmt.Errorf("state: plugin id %q cannot name a file", k.PluginID)
	}
	f := markFile{PluginID: k.PluginID, Plugin: m.Plugin, Slot: k.Slot, Offset: m.Offset}
	if m.Has {
		f.Position = &m.Position
	}
	data, err := json.Marshal(f)
	if err != nil {
		return err
	}
	if err := atomicfile.Write(s.file(k), append(data, '\n'), 0o600); err != nil {
		return fmt.Errorf("state: %w", err)
	}
	return nil
}
