package project

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// write applies a checked plan: it makes the missing directories, writes
// every changed file to a temporary file beside its target, and only then
// renames them into place and removes the stale files. A failure before the
// first rename undoes everything it did.
func write(dir string, plan, stale []*planned) error {
	var (
		made    []string // directories created, parents first
		temps   []string // temporary files, one per changed file
		changed []*planned
	)
	undo := func() {
		for _, t := range temps {
			os.Remove(t)
		}
		for i := len(made) - 1; i >= 0; i-- {
			os.Remove(made[i])
		}
	}
	for _, p := range plan {
		if !p.action.Changes() {
			continue
		}
		if err := mkdirs(filepath.Dir(p.target), &made); err != nil {
			undo()
			return fmt.Errorf("nothing was written: %w", err)
		}
		t, err := writeTemp(p)
		if err != nil {
			undo()
			return fmt.Errorf("nothing was written: %w", err)
		}
		temps = append(temps, t)
		changed = append(changed, p)
	}
	for i, p := range changed {
		if err := os.Rename(temps[i], p.target); err != nil {
			for _, t := range temps[i:] {
				os.Remove(t)
			}
			return fmt.Errorf("%w (the files before %s were written; fix the cause and run the command again)", err, p.Path)
		}
	}
	for _, p := range stale {
		if err := os.Remove(p.target); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("removing stale generated file: %w", err)
		}
	}
	return nil
}

// mkdirs makes d and its missing parents, appending each directory it
// creates to made so that they can be removed again.
func mkdirs(d string, made *[]string) error {
	var missing []string
	for ; ; d = filepath.Dir(d) {
		if _, err := os.Stat(d); err == nil {
			break
		} else if !errors.Is(err, fs.ErrNotExist) {
			return err
		}
		missing = append(missing, d)
		if filepath.Dir(d) == d {
			break
		}
	}
	for i := len(missing) - 1; i >= 0; i-- {
		if err := os.Mkdir(missing[i], dirMode); err != nil {
			return err
		}
		*made = append(*made, missing[i])
	}
	return nil
}

// writeTemp writes p's planned bytes to a new temporary file in the
// directory of its target and returns its name. The name starts with a dot
// so that go build ignores it should it ever be left behind.
func writeTemp(p *planned) (string, error) {
	f, err := os.CreateTemp(filepath.Dir(p.target), "."+filepath.Base(p.target)+".plugctl-*")
	if err != nil {
		return "", err
	}
	_, err = f.Write(p.Data)
	if err == nil {
		// CreateTemp makes files private; a project file is not.
		err = f.Chmod(p.mode)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(f.Name())
		return "", err
	}
	return f.Name(), nil
}
