package manifest

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/BurntSushi/toml"

	"github.com/plugctl/plugctl/wire"
)

// The keys, kinds and types valid at each place of a manifest, in the order
// the reference lists them; suggestions for typos are drawn from them.
var (
	topKeys    = []string{"name", "kind", "shape", "version", "summary", "description", "author", "module", "config", "global", "events"}
	paramKeys  = []string{"type", "description", "required", "secret", "default", "example", "greater_than", "less_than", "regex", "inclusion", "exclusion"}
	eventKeys  = []string{"description", "fields"}
	kinds      = []string{"source", "sink"}
	shapes     = []string{ShapePolled, ShapeCallback}
	paramTypes = []string{TypeString, TypeInt, TypeFloat, TypeBool, TypeDuration, TypeStrings}
	fieldTypes = []string{FieldString, FieldInt, FieldFloat, FieldBool, FieldTime, FieldDuration, FieldBytes, FieldStrings}
)

// want says, for each parameter type, what a value of it looks like in TOML
// and how to write one.
var want = map[string]struct{ what, hint string }{
	TypeString:   {"a string", `write a quoted string, such as "text"`},
	TypeInt:      {"an int", "write a whole number without quotes, such as 4"},
	TypeFloat:    {"a float", "write a number without quotes, such as 0.5"},
	TypeBool:     {"a bool", "write true or false, without quotes"},
	TypeDuration: {"a duration", `write a Go duration in quotes, such as "10s" or "1m30s"`},
	TypeStrings:  {"a list of strings", `write a list of quoted strings, such as ["a", "b"]`},
}

// checker walks a decoded manifest and collects every problem in it.
type checker struct {
	file string
	pos  *positions
	errs []*Error
	// longest is the key of the longest description, which a
	// specification too large to send is reported at.
	longest    []string
	longestLen int
}

// errorf records a problem with the value at key, located where key is
// written in the file.
func (c *checker) errorf(key []string, hint, format string, args ...any) {
	p := c.pos.of(key)
	c.errs = append(c.errs, &Error{
		File: c.file, Line: p.line, Col: p.col,
		Key: toml.Key(key).String(), Msg: fmt.Sprintf(format, args...), Hint: hint,
	})
}

func (c *checker) manifest(raw map[string]any) *Manifest {
	m := &Manifest{Path: c.file}
	c.unknownKeys(nil, raw, topKeys)

	m.Name = c.required(raw, "name", `write name = "acme"`)
	if m.Name != "" && !ValidName(m.Name) {
		c.errorf([]string{"name"}, `use lowercase letters, digits and '-', starting with a letter, such as "acme-http"`,
			"%q is not a valid plugin name", m.Name)
	}
	m.Kind = c.required(raw, "kind", `write kind = "source" or kind = "sink"`)
	if m.Kind != "" && !slices.Contains(kinds, m.Kind) {
		c.errorf([]string{"kind"}, oneOf(m.Kind, kinds), "%q is not a plugin kind", m.Kind)
	}
	var ok bool
	if m.Shape, ok = c.str(nil, raw, "shape"); ok {
		switch {
		case m.Kind == "sink":
			c.errorf([]string{"shape"}, "remove it: a sink has one shape, Write", "shape is for sources")
		case !slices.Contains(shapes, m.Shape):
			c.errorf([]string{"shape"}, oneOf(m.Shape, shapes), "%q is not a source shape", m.Shape)
		}
	}
	if m.Kind == "source" && m.Shape == "" {
		m.Shape = ShapePolled
	}
	m.Version = c.required(raw, "version", `write version = "0.1.0"`)
	if m.Version != "" && !semverRE.MatchString(m.Version) {
		hint := `write MAJOR.MINOR.PATCH such as "0.1.0", optionally followed by -prerelease and +build`
		if v := strings.TrimPrefix(m.Version, "v"); v != m.Version && semverRE.MatchString(v) {
			hint = fmt.Sprintf("drop the leading v: %q", v)
		}
		c.errorf([]string{"version"}, hint, "%q is not a semantic version", m.Version)
	}
	m.Summary = c.required(raw, "summary", `write summary = "What the plugin does, in one line."`)
	if strings.ContainsAny(m.Summary, "\r\n") {
		c.errorf([]string{"summary"}, "move the rest to description", "summary must be one line")
	}
	m.Description = c.description(nil, raw)
	m.Author, _ = c.str(nil, raw, "author")
	if m.Module, ok = c.str(nil, raw, "module"); ok && !validModule(m.Module) {
		c.errorf([]string{"module"}, `write a path that starts with a domain, such as "example.com/acme"`,
			"%q is not a Go module path", m.Module)
	}

	// Config and global parameters share the generated package, so their
	// names must differ as Go identifiers across both sections.
	var names []named
	m.Config = c.params(raw, "config", &names)
	m.Global = c.params(raw, "global", &names)
	c.collisions("parameter", names)

	m.Events = c.events(raw, m.Kind)
	c.specSize(m)
	return m
}

// specSize reports a manifest whose specification is too large for the
// SPEC reply a plugin sends it in: a host may offer frames of no more
// than wire.HelloMaxFrame bytes, and the plugin then fails to answer.
func (c *checker) specSize(m *Manifest) {
	reply := wire.SpecReply{Spec: m.Spec()}
	n := len(reply.AppendTo(nil))
	if n <= wire.HelloMaxFrame {
		return
	}
	hint := "shorten the descriptions, which usually make most of it"
	if c.longest != nil {
		hint += fmt.Sprintf("; this one, the longest, has %d bytes", c.longestLen)
	}
	c.errorf(c.longest, hint, "the specification encodes to %d bytes, more than %d, the largest SPEC reply every host takes (the smallest frame limit a host may offer)",
		n, wire.HelloMaxFrame)
}

// description returns the description at path, noting the longest.
func (c *checker) description(path []string, t map[string]any) string {
	s, _ := c.str(path, t, "description")
	if len(s) > c.longestLen {
		c.longest, c.longestLen = join(path, []string{"description"}), len(s)
	}
	return s
}

// required returns the string at key, reporting it when missing or empty.
func (c *checker) required(t map[string]any, key, hint string) string {
	if _, ok := t[key]; !ok {
		c.errorf([]string{key}, hint, "required key is missing")
		return ""
	}
	s, ok := c.str(nil, t, key)
	if ok && strings.TrimSpace(s) == "" {
		c.errorf([]string{key}, hint, "must not be empty")
	}
	return s
}

// str returns the string at path.key; it reports a value of another type and
// returns false for it or for a missing key.
func (c *checker) str(path []string, t map[string]any, key string) (string, bool) {
	v, ok := t[key]
	if !ok {
		return "", false
	}
	s, ok := v.(string)
	if !ok {
		c.wrongType(join(path, []string{key}), v, want[TypeString].what, want[TypeString].hint)
	}
	return s, ok
}

// boolean returns the bool at path.key, reporting a value of another type.
func (c *checker) boolean(path []string, t map[string]any, key string) bool {
	v, ok := t[key]
	if !ok {
		return false
	}
	b, ok := v.(bool)
	if !ok {
		c.wrongType(join(path, []string{key}), v, want[TypeBool].what, want[TypeBool].hint)
	}
	return b
}

// table returns the table v found at key; it reports v when it is of
// another type and returns nil for it or for a missing (nil) v.
func (c *checker) table(key []string, v any, hint string) (map[string]any, bool) {
	if v == nil {
		return nil, false
	}
	t, ok := v.(map[string]any)
	if !ok {
		c.wrongType(key, v, "a table", hint)
	}
	return t, ok
}

func (c *checker) wrongType(key []string, v any, what, hint string) {
	c.errorf(key, hint, "want %s, found %s", what, describe(v))
}

// unknownKeys reports the keys of t, at path, that are not in valid.
func (c *checker) unknownKeys(path []string, t map[string]any, valid []string) {
	for _, k := range sortedKeys(t) {
		if !slices.Contains(valid, k) {
			c.errorf(join(path, []string{k}), oneOf(k, valid), "unknown key")
		}
	}
}

// oneOf is the hint for a word that is not one of valid: the likeliest
// intended word, or the whole list when none is close.
func oneOf(word string, valid []string) string {
	if s := Suggest(word, valid); s != "" {
		return fmt.Sprintf("did you mean %q?", s)
	}
	return "use one of " + strings.Join(valid, ", ")
}

// group calls declare for each table below key that declares something
// (a parameter, an event kind), with its dotted name. A table that holds
// only tables, none named by a key in reserved, is a group of names and not
// a declaration: [config.auth.user] declares auth.user, as
// [config."auth.user"] does.
func (c *checker) group(key, name []string, t map[string]any, reserved []string, declare func(key []string, name string, v any)) {
	for _, k := range sortedKeys(t) {
		at, full := join(key, []string{k}), join(name, []string{k})
		if sub, ok := t[k].(map[string]any); ok && isGroup(sub, reserved) {
			c.group(at, full, sub, reserved, declare)
			continue
		}
		declare(at, strings.Join(full, "."), t[k])
	}
}

// declarationKeys reports the keys of t, the table declaring name at key,
// that are not in valid. A table among them is named apart: a table that
// declares something cannot also group names, so a name beside it must be
// quoted. inside describes the declaration, as "parameter %q, which holds
// parameter keys".
func (c *checker) declarationKeys(key []string, name string, t map[string]any, valid []string, inside string) {
	for _, k := range sortedKeys(t) {
		switch sub, isTable := t[k].(map[string]any); {
		case slices.Contains(valid, k):
		case isTable && !misspelt(k, sub, valid):
			dotted := name + "." + k
			c.errorf(join(key, []string{k}), fmt.Sprintf("to declare %q beside %q, quote its name: [%s]", dotted, name, toml.Key{key[0], dotted}),
				"a table inside the "+inside, name)
		default:
			c.errorf(join(key, []string{k}), oneOf(k, valid), "unknown key")
		}
	}
}

// isGroup reports whether t holds only tables, and none of them under a
// key in reserved, or a misspelt one, which would make t a declaration
// with a sub-table.
func isGroup(t map[string]any, reserved []string) bool {
	for k, v := range t {
		if sub, ok := v.(map[string]any); !ok || slices.Contains(reserved, k) || misspelt(k, sub, reserved) {
			return false
		}
	}
	return len(t) > 0
}

// misspelt reports whether the table sub, under key k, is more likely a
// reserved key mistyped than a declaration of its own: k is close to a
// reserved key, and sub holds keys but none that a declaration has, as
// feilds = { seq = "int" } in [events.tick] does.
func misspelt(k string, sub map[string]any, reserved []string) bool {
	for sk := range sub {
		if slices.Contains(reserved, sk) {
			return false
		}
	}
	return len(sub) > 0 && Suggest(k, reserved) != ""
}

// describe names a decoded TOML value's type, with the value when it is
// short, for messages.
func describe(v any) string {
	switch x := v.(type) {
	case string:
		return fmt.Sprintf("a string (%q)", x)
	case int64:
		return fmt.Sprintf("an integer (%d)", x)
	case float64:
		return fmt.Sprintf("a float (%v)", x)
	case bool:
		return fmt.Sprintf("a boolean (%t)", x)
	case time.Time:
		return "a date-time"
	case []any:
		return "an array"
	case map[string]any:
		return "a table"
	case []map[string]any:
		return "an array of tables"
	}
	return fmt.Sprintf("a %T", v)
}

func sortedKeys(t map[string]any) []string {
	keys := make([]string, 0, len(t))
	for k := range t {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
