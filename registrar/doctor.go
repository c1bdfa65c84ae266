package registrar

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/plugctl/plugctl/enroll"
)

// Finding is doctor's verdict on one entry, or on a file that is not one.
type Finding struct {
	ID       string   `json:"id,omitempty"`
	Name     string   `json:"name,omitempty"`
	Path     string   `json:"path,omitempty"`
	Pinning  string   `json:"pinning,omitempty"` // hash, signer or hash+signer
	Status   string   `json:"status"`            // ok, revoked, drift or invalid
	Problems []string `json:"problems,omitempty"`
	Notes    []string `json:"notes,omitempty"`
}

// Finding statuses; drift and invalid make doctor fail.
const (
	StatusOK      = "ok"
	StatusRevoked = "revoked"
	StatusDrift   = "drift"
	StatusInvalid = "invalid"
)

// Doctor checks every entry against its binary, as a host would, and
// more: a binary missing, changed, badly signed, a new version, loose
// permissions on it or its directory. Files that are not valid entries
// are findings too. A binary that no longer matches its entry is not run.
func Doctor(ctx context.Context, r *enroll.Registry) ([]Finding, error) {
	s, err := r.Load()
	if err != nil {
		return nil, err
	}
	out := []Finding{} // [] in JSON, not null, when nothing is enrolled
	for _, e := range s.Entries {
		out = append(out, examine(ctx, e))
	}
	for _, p := range s.Problems {
		// A file's problems are joined by lines: one each.
		out = append(out, Finding{Status: StatusInvalid, Problems: strings.Split(p.Error(), "\n")})
	}
	return out, nil
}

// Failed reports whether any finding is drift or an invalid entry.
func Failed(fs []Finding) bool {
	for _, f := range fs {
		if f.Status == StatusDrift || f.Status == StatusInvalid {
			return true
		}
	}
	return false
}

func examine(ctx context.Context, e *enroll.Entry) Finding {
	f := Finding{ID: e.ID, Name: e.Name, Path: e.Path, Pinning: e.Pinning(), Status: StatusOK}
	drift := func(format string, args ...any) {
		f.Status = StatusDrift
		f.Problems = append(f.Problems, fmt.Sprintf(format, args...))
	}
	if e.Revoked {
		f.Status = StatusRevoked
		f.Notes = append(f.Notes, "revoked "+e.RevokedAt.Format("2006-01-02")+reasonSuffix(e.Reason))
	}
	if _, err := os.Stat(e.Path); err != nil {
		drift("binary missing: %v", err)
		return f
	}
	if real, err := filepath.EvalSymlinks(e.Path); err == nil && real != e.Path {
		drift("path_mismatch: %s is a link to %s, and a host identifies the file itself (enroll that path)", e.Path, real)
	}
	if err := enroll.CheckBinary(e.Path); err != nil {
		drift("%v", err)
	}
	d, err := enroll.HashFile(e.Path)
	if err != nil {
		drift("cannot read the binary: %v", err)
		return f
	}
	live := *e
	live.Revoked = false // doctor checks a revoked entry's binary all the same
	if err := live.Admits(e.Path, d); err != nil {
		var ref *enroll.Refusal
		if errors.As(err, &ref) {
			drift("%s: %s", ref.Reason, ref.Msg)
		} else {
			drift("%v", err)
		}
		return f
	}
	if e.SHA256 != "" && d.Hex() != e.SHA256 {
		f.Notes = append(f.Notes, "hash changed since enrollment; accepted by its signature")
	}
	hello, err := Probe(ctx, e.Path, e.Args, e.Env)
	if err != nil {
		drift("does not start as a plugin: %v", err)
		return f
	}
	if hello.Version != e.Version {
		drift("version changed: %s, enrolled %s (plugctl manifest update %s)", orNone(hello.Version), orNone(e.Version), e.Name)
	}
	if role := hello.Role.String(); e.Role != "" && role != e.Role {
		drift("role changed: %s, enrolled %s", role, e.Role)
	}
	return f
}

func reasonSuffix(reason string) string {
	if reason == "" {
		return ""
	}
	return ": " + reason
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}
