package enroll

import (
	"errors"
	"fmt"
	"maps"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/BurntSushi/toml"
	"github.com/plugctl/plugctl/manifest"
	"github.com/plugctl/plugctl/sign"
)

// Error is a problem in one entry file, located as editors link to it.
type Error struct {
	File string
	Line int // 1-based
	Col  int // 1-based, in bytes
	Key  string
	Msg  string
	Hint string // how to fix it; may be empty
}

// Error formats e as "file:line:col: key: msg (hint)".
func (e *Error) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s:%d:%d: ", e.File, e.Line, e.Col)
	if e.Key != "" {
		b.WriteString(e.Key + ": ")
	}
	b.WriteString(e.Msg)
	if e.Hint != "" {
		b.WriteString(" (" + e.Hint + ")")
	}
	return b.String()
}

// header opens every entry file, so a reader who finds one knows what it is.
const header = "# A plugctl enrollment entry: see docs/REGISTRY.md. Change it with\n" +
	"# plugctl manifest; a hand edit is checked when the registry is loaded.\n"

// Marshal encodes e as TOML. The output is deterministic: keys in a fixed
// order, env sorted, times in UTC; unset optional keys are left out.
func Marshal(e *Entry) []byte {
	var b strings.Builder
	b.WriteString(header)
	str := func(k, v string) { fmt.Fprintf(&b, "%s = %s\n", k, quote(v)) }
	opt := func(k, v string) {
		if v != "" {
			str(k, v)
		}
	}
	date := func(k string, t time.Time) {
		if !t.IsZero() {
			fmt.Fprintf(&b, "%s = %s\n", k, t.UTC().Format(time.RFC3339Nano))
		}
	}
	str("id", e.ID)
	str("name", e.Name)
	opt("version", e.Version)
	opt("role", e.Role)
	str("path", e.Path)
	opt("sha256", e.SHA256)
	opt("signer", e.Signer)
	opt("project", e.Project)
	date("enrolled_at", e.EnrolledAt)
	date("updated_at", e.UpdatedAt)
	fmt.Fprintf(&b, "revoked = %t\n", e.Revoked)
	date("revoked_at", e.RevokedAt)
	opt("revoked_reason", e.Reason)
	fmt.Fprintf(&b, "auto_launch = %t\n", e.AutoLaunch)
	fmt.Fprintf(&b, "max_sessions = %d\n", e.MaxSessions)
	quoted := make([]string, len(e.Args))
	for i, a := range e.Args {
		quoted[i] = quote(a)
	}
	fmt.Fprintf(&b, "args = [%s]\n", strings.Join(quoted, ", "))
	if len(e.Env) > 0 {
		b.WriteString("\n[env]\n")
		keys := make([]string, 0, len(e.Env))
		for k := range e.Env {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			fmt.Fprintf(&b, "%s = %s\n", quote(k), quote(e.Env[k]))
		}
	}
	return []byte(b.String())
}

// quote writes s as a TOML basic string. TOML has no \x or \a escapes, so
// strconv.Quote will not do.
func quote(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"' || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\t':
			b.WriteString(`\t`)
		case r < 0x20 || r == 0x7f:
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}

// keys are the top-level keys of an entry, in the order Marshal writes them.
var keys = []string{"id", "name", "version", "role", "path", "sha256", "signer", "project",
	"enrolled_at", "updated_at", "revoked", "revoked_at", "revoked_reason",
	"auto_launch", "max_sessions", "args", "env"}

// ValidEnvName reports whether name can be an entry's environment
// variable.
func ValidEnvName(name string) bool { return envName.MatchString(name) }

var (
	hexDigest = regexp.MustCompile(`^[0-9a-f]{64}$`)
	envName   = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
)

// Parse decodes and checks one entry file; path only names it in messages.
// Every problem is reported, each as an *Error, joined with errors.Join.
func Parse(path string, data []byte) (*Entry, error) {
	p := &parser{file: path, src: string(data)}
	var raw map[string]any
	if _, err := toml.Decode(p.src, &raw); err != nil {
		e := &Error{File: path, Line: 1, Col: 1, Msg: "invalid TOML: " + err.Error(),
			Hint: "fix the file, or remove it and enroll the plugin again"}
		var pe toml.ParseError
		if errors.As(err, &pe) {
			e.Msg = "invalid TOML: " + pe.Message
			if pe.Position.Line > 0 {
				// The decoder's own column is off for an error at the
				// end of a line (it may even name the next line), so
				// both are taken from the byte offset.
				e.Line, e.Col = manifest.NewKeyPositions(p.src).Offset(pe.Position.Start)
			}
		}
		return nil, e
	}
	e := p.entry(raw)
	if len(p.errs) > 0 {
		slices.SortStableFunc(p.errs, func(a, b *Error) int {
			if a.Line != b.Line {
				return a.Line - b.Line
			}
			return a.Col - b.Col
		})
		errs := make([]error, len(p.errs))
		for i, err := range p.errs {
			errs[i] = err
		}
		return nil, errors.Join(errs...)
	}
	return e, nil
}

type parser struct {
	file string
	src  string
	errs []*Error
	pos  *manifest.KeyPositions // once a problem needs it
}

func (p *parser) fail(table, key, msg, hint string) {
	line, col := p.locate(table, key)
	name := key
	if table != "" {
		name = table + "." + key
	}
	p.errs = append(p.errs, &Error{File: p.file, Line: line, Col: col, Key: name, Msg: msg, Hint: hint})
}

// locate finds where key is set in table ("" for the top level): the
// line and column of the key itself (or of the table, for a key the
// scanner cannot place), or 1:1 for a key that is not set at all.
func (p *parser) locate(table, key string) (line, col int) {
	if p.pos == nil {
		pos := manifest.NewKeyPositions(p.src)
		p.pos = &pos
	}
	var path []string
	if table != "" {
		path = append(path, table)
	}
	if key != "" {
		path = append(path, key)
	}
	return p.pos.Key(path...)
}

func (p *parser) entry(raw map[string]any) *Entry {
	e := &Entry{}
	for _, k := range slices.Sorted(maps.Keys(raw)) {
		if !slices.Contains(keys, k) {
			hint := "remove it"
			if s := manifest.Suggest(k, keys); s != "" {
				hint = fmt.Sprintf("did you mean %q?", s)
			}
			p.fail("", k, "unknown key", hint)
		}
	}
	e.ID = p.str(raw, "id", true)
	if e.ID != "" && !validID(e.ID) {
		p.fail("", "id", fmt.Sprintf("%q is not a UUID", e.ID), "ids look like 6f1c0a2e-…; keep the one plugctl wrote")
	}
	e.Name = p.str(raw, "name", true)
	e.Version = p.str(raw, "version", false)
	e.Role = p.str(raw, "role", false)
	if e.Role != "" && e.Role != "source" && e.Role != "sink" {
		p.fail("", "role", fmt.Sprintf("%q is not a role", e.Role), `use "source" or "sink"`)
	}
	e.Path = p.str(raw, "path", true)
	if e.Path != "" && !filepath.IsAbs(e.Path) {
		p.fail("", "path", fmt.Sprintf("%q is not an absolute path", e.Path), "a host launches exactly this file; give its absolute path")
	}
	e.SHA256 = p.str(raw, "sha256", false)
	if e.SHA256 != "" && !hexDigest.MatchString(e.SHA256) {
		p.fail("", "sha256", "not a SHA-256 digest", "64 lowercase hex digits; run plugctl manifest update to hash the binary again")
	}
	e.Signer = p.str(raw, "signer", false)
	if e.Signer != "" {
		if _, err := sign.ParsePublicKey([]byte(e.Signer)); err != nil {
			p.fail("", "signer", err.Error(), "an ssh-ed25519 public key line, as in KEY.pub")
		}
	}
	if e.SHA256 == "" && e.Signer == "" {
		_, hasHash := raw["sha256"]
		key := "sha256"
		if !hasHash {
			key = ""
		}
		p.fail("", key, "neither sha256 nor signer is set, so any binary would pass", "run plugctl manifest update to pin the binary's hash")
	}
	e.Project = p.str(raw, "project", false)
	e.EnrolledAt = p.time(raw, "enrolled_at", true)
	e.UpdatedAt = p.time(raw, "updated_at", false)
	e.Revoked = p.bool(raw, "revoked")
	e.RevokedAt = p.time(raw, "revoked_at", false)
	e.Reason = p.str(raw, "revoked_reason", false)
	e.AutoLaunch = p.bool(raw, "auto_launch")
	if v, ok := raw["max_sessions"]; ok {
		n, isInt := v.(int64)
		switch {
		case !isInt:
			p.fail("", "max_sessions", fmt.Sprintf("must be an integer, not %s", kind(v)), "0 means no limit")
		case n < 0 || n > 1<<16:
			p.fail("", "max_sessions", fmt.Sprintf("%d is out of range", n), "use 0 (no limit) to 65536")
		default:
			e.MaxSessions = int(n)
		}
	}
	if v, ok := raw["args"]; ok {
		list, isList := v.([]any)
		if !isList {
			p.fail("", "args", fmt.Sprintf("must be an array of strings, not %s", kind(v)), `for example args = ["--verbose"]`)
		}
		for i, a := range list {
			s, isStr := a.(string)
			if !isStr {
				p.fail("", "args", fmt.Sprintf("item %d is %s, not a string", i+1, kind(a)), "quote it")
			}
			e.Args = append(e.Args, s)
		}
	}
	if v, ok := raw["env"]; ok {
		m, isTable := v.(map[string]any)
		if !isTable {
			p.fail("", "env", fmt.Sprintf("must be a table, not %s", kind(v)), "write [env] with NAME = \"value\" lines")
		}
		for _, k := range slices.Sorted(maps.Keys(m)) {
			val := m[k]
			s, isStr := val.(string)
			switch {
			case !envName.MatchString(k):
				p.fail("env", k, "not an environment variable name", "letters, digits and _, not starting with a digit")
			case !isStr:
				p.fail("env", k, fmt.Sprintf("must be a string, not %s", kind(val)), "quote it")
			default:
				if e.Env == nil {
					e.Env = map[string]string{}
				}
				e.Env[k] = s
			}
		}
	}
	return e
}

func (p *parser) str(raw map[string]any, key string, required bool) string {
	v, ok := raw[key]
	if !ok {
		if required {
			p.fail("", "", fmt.Sprintf("%s is missing", key), "every entry has id, name, path and enrolled_at; enroll the plugin again")
		}
		return ""
	}
	s, ok := v.(string)
	if !ok {
		p.fail("", key, fmt.Sprintf("must be a string, not %s", kind(v)), "quote it")
		return ""
	}
	if required && s == "" {
		p.fail("", key, "is empty", "")
	}
	return s
}

func (p *parser) bool(raw map[string]any, key string) bool {
	v, ok := raw[key]
	if !ok {
		return false
	}
	b, ok := v.(bool)
	if !ok {
		p.fail("", key, fmt.Sprintf("must be true or false, not %s", kind(v)), "")
	}
	return b
}

func (p *parser) time(raw map[string]any, key string, required bool) time.Time {
	v, ok := raw[key]
	if !ok {
		if required {
			p.fail("", "", fmt.Sprintf("%s is missing", key), "every entry has id, name, path and enrolled_at; enroll the plugin again")
		}
		return time.Time{}
	}
	t, ok := v.(time.Time)
	switch {
	case !ok:
		p.fail("", key, fmt.Sprintf("must be a date and time, not %s", kind(v)), "for example 2026-12-02T13:25:56Z, unquoted")
	case t.UTC().Year() < 1 || t.UTC().Year() > 9999:
		// A time without a date is in year 0; an offset can push a date
		// out of the years RFC 3339 (and so Marshal) can write.
		p.fail("", key, fmt.Sprintf("%s is not a date and time between the years 1 and 9999", t.Format(time.RFC3339Nano)), "for example 2026-12-02T13:25:56Z")
		return time.Time{}
	case t.IsZero() && required:
		// Marshal leaves a zero time out, so it would not read back.
		p.fail("", key, "is the zero time", "for example 2026-12-02T13:25:56Z")
	}
	return t
}

// kind names a decoded TOML value's type for messages.
func kind(v any) string {
	switch v := v.(type) {
	case string:
		return "a string " + strconv.Quote(v)
	case int64:
		return "an integer"
	case float64:
		return "a float"
	case bool:
		return "a boolean"
	case time.Time:
		return "a date"
	case []any:
		return "an array"
	case map[string]any:
		return "a table"
	}
	return fmt.Sprintf("%T", v)
}
