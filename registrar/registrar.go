// Package registrar does the work behind plugctl manifest: it enrolls
// plugins (building a project first), updates and revokes entries, and
// checks every entry against its binary. The registry itself, and the rule
// that says whether a binary matches an entry, are package enroll's.
package registrar

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/plugctl/plugctl/acceptance"
	"github.com/plugctl/plugctl/enroll"
	"github.com/plugctl/plugctl/host"
	"github.com/plugctl/plugctl/wire"
)

// Options are the settings of a new entry.
type Options struct {
	Name        string // the entry's name; default: the name in the plugin's HELLO
	AutoLaunch  bool
	Args        []string
	Env         map[string]string
	Signer      string // an ssh-ed25519 public key line; empty: pinned by hash only
	SignerOnly  bool   // pin by signer alone, so any rebuild it signs is accepted
	MaxSessions int
}

// probeTimeout bounds the run that reads a plugin's HELLO.
const probeTimeout = 10 * time.Second

// Probe runs the plugin once over the protocol and returns its HELLO: its
// name, version and role come from the plugin itself, not from guesses.
func Probe(ctx context.Context, path string, args []string, env map[string]string) (wire.Hello, error) {
	var stderr bytes.Buffer
	opts := host.Options{RingSize: -1, Timeout: probeTimeout, Grace: 2 * time.Second, Stderr: &stderr}
	for k, v := range env {
		opts.Env = append(opts.Env, k+"="+v)
	}
	p, err := host.Launch(ctx, path, args, opts)
	if err != nil {
		return wire.Hello{}, fmt.Errorf("%s did not answer as a plugctl plugin: %w", path, err)
	}
	hello := p.Hello()
	if err := p.Close(ctx); err != nil {
		return wire.Hello{}, fmt.Errorf("%s: %w", path, err)
	}
	return hello, nil
}

// Enroll adds the plugin at target to the registry: a project directory,
// built first into the registry's bin directory, or a binary, enrolled
// where it is. A path already enrolled is an error that points to update.
func Enroll(ctx context.Context, r *enroll.Registry, target string, o Options) (*enroll.Entry, error) {
	abs, err := filepath.Abs(target)
	if err != nil {
		return nil, err
	}
	if abs, err = filepath.EvalSymlinks(abs); err != nil {
		return nil, fmt.Errorf("enroll %s: %w", target, err)
	}
	fi, err := os.Stat(abs)
	if err != nil {
		return nil, fmt.Errorf("enroll %s: %w", target, err)
	}
	s, err := r.Load()
	if err != nil {
		return nil, err
	}
	e := &enroll.Entry{ID: enroll.NewID(), AutoLaunch: o.AutoLaunch, Args: o.Args, Env: o.Env,
		Signer: o.Signer, MaxSessions: o.MaxSessions}
	var built string // the directory holding a binary built here, removed on failure
	if fi.IsDir() {
		if _, err := os.Stat(filepath.Join(abs, "go.mod")); err != nil {
			return nil, fmt.Errorf("enroll %s: not a Go plugin project (no go.mod); give a project directory or a plugin binary", target)
		}
		if other := byProject(s, abs); other != nil {
			return nil, alreadyEnrolled(abs, other)
		}
		built = r.BinDir(e.ID)
		if err := os.MkdirAll(built, 0o700); err != nil {
			return nil, err
		}
		e.Project = abs
		e.Path = filepath.Join(built, filepath.Base(abs))
		if err := acceptance.BuildTo(ctx, abs, e.Path); err != nil {
			os.RemoveAll(built)
			return nil, err
		}
		if e.Path, err = filepath.EvalSymlinks(e.Path); err != nil { // the registry may be reached through a link
			os.RemoveAll(built)
			return nil, err
		}
	} else {
		if !fi.Mode().IsRegular() || fi.Mode().Perm()&0o111 == 0 {
			return nil, fmt.Errorf("enroll %s: not an executable file", target)
		}
		e.Path = abs
	}
	err = fill(ctx, e, o)
	if err == nil {
		err = r.Edit(func(tx *enroll.Tx) error {
			if other := tx.ByPath(e.Path); other != nil {
				return alreadyEnrolled(e.Path, other)
			}
			if other := byProject(tx.Snapshot, e.Project); other != nil {
				return alreadyEnrolled(e.Project, other)
			}
			if other := byName(tx.Snapshot, e.Name); other != nil {
				hint := "give this one another with --name NAME"
				if other.Revoked {
					hint += ", or delete the revoked one first: plugctl manifest remove " + other.ID
				}
				return fmt.Errorf("enroll %s: an entry is named %s already (%s, %s): names pick entries in revoke, update and a host's [plugins.NAME], so %s",
					target, e.Name, other.ID, other.Path, hint)
			}
			tx.Put(e)
			return nil
		})
	}
	if err != nil {
		if built != "" {
			os.RemoveAll(built)
		}
		return nil, err
	}
	return e, nil
}

// fill probes and hashes a new entry's binary.
func fill(ctx context.Context, e *enroll.Entry, o Options) error {
	hello, err := Probe(ctx, e.Path, e.Args, e.Env)
	if err != nil {
		return err
	}
	d, err := enroll.HashFile(e.Path)
	if err != nil {
		return err
	}
	e.Name, e.Version, e.Role = hello.Name, hello.Version, hello.Role.String()
	if o.Name != "" {
		e.Name = o.Name
	}
	if e.Name == "" {
		e.Name = filepath.Base(e.Path)
	}
	if !o.SignerOnly {
		e.SHA256 = d.Hex()
	}
	e.EnrolledAt = time.Now().UTC().Truncate(time.Second)
	e.UpdatedAt = e.EnrolledAt
	return nil
}

func byProject(s *enroll.Snapshot, dir string) *enroll.Entry {
	if dir == "" {
		return nil
	}
	for _, e := range s.Entries {
		if e.Project == dir {
			return e
		}
	}
	return nil
}

// ExistsError is an enrollment of a path that is enrolled already.
type ExistsError struct {
	Path  string
	Entry *enroll.Entry
}

func (e *ExistsError) Error() string {
	return fmt.Sprintf("%s is already enrolled as %s; run plugctl manifest update %s after a rebuild", e.Path, e.Entry.Ref(), e.Entry.Name)
}

func alreadyEnrolled(path string, e *enroll.Entry) error { return &ExistsError{Path: path, Entry: e} }

// byName returns the entry named name, or nil.
func byName(s *enroll.Snapshot, name string) *enroll.Entry {
	for _, e := range s.Entries {
		if e.Name == name {
			return e
		}
	}
	return nil
}

// Update records the entry's binary as it is now: its hash, version and
// role, keeping the id. An entry enrolled from a project is rebuilt first
// unless build is false: the new binary is built beside the old one and
// probed, and replaces it only when the entry is written, so a failed
// update leaves both as they were. It returns the entry before and after.
func Update(ctx context.Context, r *enroll.Registry, ref string, build bool) (before, after *enroll.Entry, err error) {
	s, err := r.Load()
	if err != nil {
		return nil, nil, err
	}
	before, err = s.Find(ref)
	if err != nil {
		return nil, nil, err
	}
	candidate := before.Path
	if build && before.Project != "" {
		if candidate, err = rebuild(ctx, before); err != nil {
			return nil, nil, err
		}
		defer os.Remove(candidate) // gone once renamed into place
	}
	hello, err := Probe(ctx, candidate, before.Args, before.Env)
	if err != nil {
		return nil, nil, err
	}
	d, err := enroll.HashFile(candidate)
	if err != nil {
		return nil, nil, err
	}
	err = r.Edit(func(tx *enroll.Tx) error {
		cur := tx.ByID(before.ID)
		if cur == nil {
			return fmt.Errorf("%s was removed while it was being updated", before.Ref())
		}
		next := *cur
		next.Version, next.Role = hello.Version, hello.Role.String()
		if next.SHA256 != "" || next.Signer == "" {
			next.SHA256 = d.Hex()
		}
		next.UpdatedAt = time.Now().UTC().Truncate(time.Second)
		if candidate != next.Path {
			// Renamed, not written over: a plugin running from the old
			// file is not disturbed.
			if err := os.Rename(candidate, next.Path); err != nil {
				return err
			}
		}
		after = &next
		tx.Put(after)
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	return before, after, nil
}

// rebuild builds the entry's project next to its binary and returns the
// new file's path.
func rebuild(ctx context.Context, e *enroll.Entry) (string, error) {
	if _, err := os.Stat(filepath.Join(e.Project, "go.mod")); err != nil {
		return "", fmt.Errorf("rebuild %s: project %s is gone (%v); run update with --no-build to record the binary as it is", e.Ref(), e.Project, err)
	}
	next := e.Path + ".new"
	if err := acceptance.BuildTo(ctx, e.Project, next); err != nil {
		os.Remove(next)
		return "", err
	}
	return next, nil
}

// Change edits one entry under the registry's lock: fn changes a copy of
// it, which is written back. It returns the entry as written.
func Change(r *enroll.Registry, ref string, fn func(e *enroll.Entry) error) (*enroll.Entry, error) {
	var out *enroll.Entry
	err := r.Edit(func(tx *enroll.Tx) error {
		e, err := tx.Find(ref)
		if err != nil {
			return err
		}
		next := *e
		if err := fn(&next); err != nil {
			return err
		}
		next.UpdatedAt = time.Now().UTC().Truncate(time.Second)
		tx.Put(&next)
		out = &next
		return nil
	})
	return out, err
}

// Revoke marks the entry revoked: hosts refuse it and end its live
// sessions. Revoking a revoked entry keeps the first time and reason.
func Revoke(r *enroll.Registry, ref, reason string) (*enroll.Entry, error) {
	return Change(r, ref, func(e *enroll.Entry) error {
		if e.Revoked {
			return fmt.Errorf("%s is already revoked (since %s)", e.Ref(), e.RevokedAt.Format(time.RFC3339))
		}
		e.Revoked, e.RevokedAt, e.Reason = true, time.Now().UTC().Truncate(time.Second), reason
		return nil
	})
}

// Unrevoke accepts a revoked entry again.
func Unrevoke(r *enroll.Registry, ref string) (*enroll.Entry, error) {
	return Change(r, ref, func(e *enroll.Entry) error {
		if !e.Revoked {
			return fmt.Errorf("%s is not revoked", e.Ref())
		}
		e.Revoked, e.RevokedAt, e.Reason = false, time.Time{}, ""
		return nil
	})
}

// Remove deletes the entry, and the binary enroll built for it, if any.
func Remove(r *enroll.Registry, ref string) (*enroll.Entry, error) {
	var gone *enroll.Entry
	err := r.Edit(func(tx *enroll.Tx) error {
		e, err := tx.Find(ref)
		if err != nil {
			return err
		}
		gone = e
		tx.Delete(e.ID)
		return nil
	})
	if err != nil {
		return nil, err
	}
	if dir := r.BinDir(gone.ID); strings.HasPrefix(gone.Path, dir+string(filepath.Separator)) {
		if err := os.RemoveAll(dir); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return gone, fmt.Errorf("removed %s, but not its binary: %w", gone.Ref(), err)
		}
	}
	return gone, nil
}
