package manifest

import (
	"fmt"
	"math"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/BurntSushi/toml"

	"github.com/plugctl/plugctl/wire"
)

// The keys, kinds and types valid at each place of a manifest, in the order
// the reference lists them; suggestions for typos are drawn from them.
var (
	topKeys    = []string{"name", "kind", "version", "summary", "description", "author", "module", "config", "global", "events"}
	paramKeys  = []string{"type", "description", "required", "secret", "default", "greater_than", "less_than", "regex", "inclusion", "exclusion"}
	eventKeys  = []string{"description", "fields"}
	kinds      = []string{"source", "sink"}
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
	m.Description, _ = c.str(nil, raw, "description")
	m.Author, _ = c.str(nil, raw, "author")
	var ok bool
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
	return m
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

// params checks the parameter tables under section, "config" or "global",
// and adds their names to names.
func (c *checker) params(raw map[string]any, section string, names *[]named) []Param {
	t, _ := c.table([]string{section}, raw[section], fmt.Sprintf("declare parameters as [%s.<name>] tables", section))
	var ps []Param
	c.group([]string{section}, nil, t, paramKeys, func(key []string, name string, v any) {
		if p, ok := c.param(key, name, v); ok {
			ps = append(ps, p)
			*names = append(*names, named{key, name, paramNameRE})
		}
	})
	slices.SortFunc(ps, func(a, b Param) int { return strings.Compare(a.Name, b.Name) })
	return ps
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

// isGroup reports whether t holds only tables, and none of them under a
// key in reserved, which would make t a declaration with a sub-table.
func isGroup(t map[string]any, reserved []string) bool {
	for k, v := range t {
		if _, ok := v.(map[string]any); !ok || slices.Contains(reserved, k) {
			return false
		}
	}
	return len(t) > 0
}

// param checks one parameter table, declared at key under name.
func (c *checker) param(key []string, name string, v any) (Param, bool) {
	section := key[0]
	t, ok := c.table(key, v, fmt.Sprintf(`declare a parameter as a table: [%s] with type = "string"`, toml.Key(key)))
	if !ok {
		return Param{}, false
	}
	if !paramNameRE.MatchString(name) {
		c.errorf(key, `use lowercase letters, digits, '_', '-' and '.', starting with a letter, such as "auth.token"`,
			"%q is not a valid parameter name", name)
	}
	for _, k := range sortedKeys(t) {
		switch _, isTable := t[k].(map[string]any); {
		case slices.Contains(paramKeys, k):
		case isTable:
			// A table that declares a parameter cannot also group names.
			dotted := name + "." + k
			c.errorf(join(key, []string{k}), fmt.Sprintf("to declare %q beside %q, quote its name: [%s]", dotted, name, toml.Key{section, dotted}),
				"a table inside the parameter %q, which holds parameter keys", name)
		default:
			c.errorf(join(key, []string{k}), oneOf(k, paramKeys), "unknown key")
		}
	}

	p := Param{Name: name, Line: c.pos.of(key).line}
	p.Description, _ = c.str(key, t, "description")
	p.Required = c.boolean(key, t, "required")
	p.Secret = c.boolean(key, t, "secret")
	if _, ok := t["type"]; !ok {
		c.errorf(key, `add type = "string", or int, float, bool, duration or strings`, "missing type")
		return p, true
	}
	p.Type, ok = c.str(key, t, "type")
	if !ok {
		return p, true
	}
	if !slices.Contains(paramTypes, p.Type) {
		c.errorf(join(key, []string{"type"}), oneOf(p.Type, paramTypes), "unknown type %q", p.Type)
		return p, true
	}
	c.validations(key, t, &p)
	return p, true
}

// validations checks the values of a parameter whose type is known, and
// stores their canonical forms in p.
func (c *checker) validations(key []string, t map[string]any, p *Param) {
	at := func(k string) []string { return join(key, []string{k}) }
	if p.Secret {
		// A secret's values must not be in plugin.toml, in generated code or
		// in messages, so nothing that holds one is allowed, or echoed.
		if p.Type != TypeString && p.Type != TypeStrings {
			c.errorf(at("secret"), "remove secret = true", "secret applies to string and strings parameters, not %s", p.Type)
		}
		for _, k := range []string{"default", "inclusion", "exclusion"} {
			if _, ok := t[k]; ok {
				c.errorf(at(k), "remove it: plugin.toml and the generated code are readable by anyone with the plugin",
					"a secret parameter cannot have %s", k)
			}
		}
	}

	gt, hasGT := c.bound(key, t, "greater_than", p.Type)
	lt, hasLT := c.bound(key, t, "less_than", p.Type)
	p.HasGreaterThan, p.GreaterThan = hasGT, gt.s
	p.HasLessThan, p.LessThan = hasLT, lt.s
	if hasGT && hasLT && gt.compare(lt) >= 0 {
		c.errorf(at("less_than"), "no value can pass: lower greater_than or raise less_than",
			"less_than %s is not above greater_than %s", lt.s, gt.s)
	}

	var re *regexp.Regexp
	if _, ok := t["regex"]; ok {
		if p.Type != TypeString && p.Type != TypeStrings {
			c.errorf(at("regex"), "remove it, or use inclusion or bounds", "regex applies to string and strings parameters, not %s", p.Type)
		} else if s, ok := c.str(key, t, "regex"); ok {
			var err error
			if re, err = regexp.Compile(s); err != nil {
				c.errorf(at("regex"), "use Go regexp syntax: https://pkg.go.dev/regexp/syntax",
					"%q is not a valid regular expression: %s", s, strings.TrimPrefix(err.Error(), "error parsing regexp: "))
			} else if s == "" {
				c.errorf(at("regex"), "remove the key, or write a pattern such as '^[a-z]+$'", "regex is empty")
			}
			p.Regex = s
		}
	}

	var inclusion, exclusion []value
	if !p.Secret {
		inclusion = c.list(key, t, "inclusion", p.Type)
		exclusion = c.list(key, t, "exclusion", p.Type)
	}
	p.Inclusion, p.Exclusion = canonical(inclusion), canonical(exclusion)

	v, ok := t["default"]
	if !ok || p.Secret {
		return
	}
	if p.Required {
		c.errorf(at("default"), "remove required = true (a parameter with a default is never missing) or remove the default",
			"a required parameter cannot have a default")
	}
	items, ok := c.defaultValue(at("default"), p.Type, v)
	if !ok {
		return
	}
	p.HasDefault = true
	p.Default = strings.Join(canonical(items), ",")
	// The default is checked like any value the plugin will be given, with
	// the rules the plugin checks values with, so that a plugin configured
	// with nothing starts. A pattern that does not compile is left out: it
	// is reported already.
	checked := wire.Param{Type: p.Type, Validations: p.validations()}
	if re == nil {
		checked.Validations = slices.DeleteFunc(checked.Validations, func(v wire.Validation) bool { return v.Type == wire.ValidationRegex })
	}
	rules, err := wire.ParseRules(checked)
	if err != nil {
		return
	}
	for _, d := range items {
		broken := map[wire.ValidationType]bool{}
		for _, r := range rules.List {
			broken[r.Type] = !r.Holds(p.Type, d.s, d.v)
		}
		switch {
		case broken[wire.ValidationGreaterThan]:
			c.errorf(at("default"), "greater_than is exclusive: change the default or the bound",
				"%s is not greater than %s (greater_than)", d.show(), gt.s)
		case broken[wire.ValidationLessThan]:
			c.errorf(at("default"), "less_than is exclusive: change the default or the bound",
				"%s is not less than %s (less_than)", d.show(), lt.s)
		case broken[wire.ValidationRegex]:
			c.errorf(at("default"), "change the default or the regex", "%s does not match regex %q", d.show(), p.Regex)
		case broken[wire.ValidationInclusion]:
			c.errorf(at("default"), "use one of the values listed in inclusion", "%s is not in inclusion", d.show())
		case broken[wire.ValidationExclusion]:
			c.errorf(at("default"), "use a value not listed in exclusion", "%s is in exclusion", d.show())
		}
	}
}

// bound returns greater_than or less_than of a parameter of type typ.
func (c *checker) bound(key []string, t map[string]any, k, typ string) (value, bool) {
	v, ok := t[k]
	if !ok {
		return value{}, false
	}
	if typ != TypeInt && typ != TypeFloat && typ != TypeDuration {
		c.errorf(join(key, []string{k}), "remove it, or use regex or inclusion", "%s applies to int, float and duration parameters, not %s", k, typ)
		return value{}, false
	}
	return c.value(join(key, []string{k}), typ, v)
}

// list returns inclusion or exclusion: a non-empty list of values of the
// parameter's type (of its items' type for strings).
func (c *checker) list(key []string, t map[string]any, k, typ string) []value {
	v, ok := t[k]
	if !ok {
		return nil
	}
	at := join(key, []string{k})
	if typ == TypeBool {
		c.errorf(at, "remove it: a bool has only two values", "%s applies to string, int, float, duration and strings parameters, not bool", k)
		return nil
	}
	items, ok := v.([]any)
	if !ok {
		c.wrongType(at, v, "a list of "+wire.ItemType(typ)+" values", "write a list such as "+listExample[typ])
		return nil
	}
	if len(items) == 0 {
		if k == "exclusion" { // refuses nothing: the same as no exclusion
			return nil
		}
		c.errorf(at, "remove the key, or list values such as "+listExample[typ], "inclusion is an empty list, which no value can pass")
		return nil
	}
	var vals []value
	for _, item := range items {
		if val, ok := c.value(at, typ, item); ok {
			vals = append(vals, val)
		}
	}
	if len(vals) < len(items) {
		return nil
	}
	return vals
}

var listExample = map[string]string{
	TypeString:   `["debug", "info"]`,
	TypeInt:      "[1, 2, 4]",
	TypeFloat:    "[0.5, 1.0]",
	TypeDuration: `["1s", "1m"]`,
	TypeStrings:  `["debug", "info"]`,
}

// defaultValue returns a default's values: one, or a strings list's items.
func (c *checker) defaultValue(key []string, typ string, v any) ([]value, bool) {
	if typ != TypeStrings {
		val, ok := c.value(key, typ, v)
		return []value{val}, ok
	}
	items, ok := v.([]any)
	if !ok {
		c.wrongType(key, v, want[typ].what, want[typ].hint)
		return nil, false
	}
	vals := make([]value, 0, len(items))
	for _, item := range items {
		val, ok := c.value(key, typ, item)
		if !ok {
			return nil, false
		}
		vals = append(vals, val)
	}
	return vals, true
}

// value is a checked parameter value: its canonical text and, parsed by
// the wire package's rules, what bounds and lists compare.
type value struct {
	typ string
	s   string
	v   wire.Value
}

func (a value) compare(b value) int { return wire.CompareValues(a.typ, a.v, b.v) }

// show writes a value as it is written in TOML, for messages.
func (a value) show() string {
	if a.typ == TypeInt || a.typ == TypeFloat || a.typ == TypeBool {
		return a.s
	}
	return strconv.Quote(a.s)
}

func canonical(vals []value) []string {
	var ss []string
	for _, v := range vals {
		ss = append(ss, v.s)
	}
	return ss
}

// value converts one TOML value of a typ parameter (one item, for strings)
// to canonical form, reporting it at key when it is not of that type.
func (c *checker) value(key []string, typ string, v any) (value, bool) {
	w := want[wire.ItemType(typ)]
	var text string
	ok := false
	switch x := v.(type) {
	case string:
		switch typ {
		case TypeString:
			text, ok = x, true
		case TypeStrings:
			// Lists travel joined with ',' and are split and trimmed on
			// arrival: an item with a ',' would arrive as two, and an empty
			// or untrimmed one changed.
			if strings.Contains(x, ",") {
				c.errorf(key, "lists travel comma-separated: split it into separate items", "list item %q holds a ','", x)
				return value{}, false
			}
			if x == "" || strings.TrimSpace(x) != x {
				c.errorf(key, "items travel trimmed: remove the white space, or the item", "list item %q is empty or not trimmed", x)
				return value{}, false
			}
			text, ok = x, true
		case TypeDuration:
			// Durations keep the form they are written in.
			if _, isDuration := wire.ParseValue(typ, x); !isDuration {
				c.errorf(key, `write a Go duration such as "10s" or "1m30s"`, "%q is not a duration", x)
				return value{}, false
			}
			text, ok = x, true
		}
	case int64:
		switch typ {
		case TypeInt:
			text, ok = wire.FormatValue(typ, wire.Value{Int: x}), true
		case TypeFloat:
			text, ok = wire.FormatValue(typ, wire.Value{Float: float64(x)}), true
		}
	case float64:
		if typ == TypeFloat {
			if math.IsNaN(x) || math.IsInf(x, 0) {
				c.errorf(key, w.hint, "%v is not a finite number", x)
				return value{}, false
			}
			text, ok = wire.FormatValue(typ, wire.Value{Float: x}), true
		}
	case bool:
		if typ == TypeBool {
			text, ok = wire.FormatValue(typ, wire.Value{Bool: x}), true
		}
	}
	if !ok {
		c.wrongType(key, v, w.what, w.hint)
		return value{}, false
	}
	parsed, _ := wire.ParseValue(typ, text)
	return value{typ: typ, s: text, v: parsed}, true
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

// events checks the [events.*] tables of a plugin of the given kind.
func (c *checker) events(raw map[string]any, kind string) []EventKind {
	hint := `add an [events.<name>] table with fields = { <field> = "<type>" }`
	key := []string{"events"}
	v, present := raw["events"]
	t, ok := c.table(key, v, hint)
	if len(t) == 0 && (ok || !present) {
		// A source with no event kinds can emit nothing, and a sink with none
		// accepts nothing.
		switch kind {
		case "source":
			hint = "a source declares the kinds it emits: " + hint
		case "sink":
			hint = "a sink declares the kinds it accepts: " + hint
		}
		c.errorf(key, hint, "no event kinds declared")
	}
	var evs []EventKind
	var names []named
	c.group(key, nil, t, eventKeys, func(key []string, name string, v any) {
		if ev, ok := c.event(key, name, v); ok {
			evs = append(evs, ev)
			names = append(names, named{key, name, kindNameRE})
		}
	})
	slices.SortFunc(evs, func(a, b EventKind) int { return strings.Compare(a.Name, b.Name) })
	c.collisions("event kind", names)
	return evs
}

// event checks one event kind table, declared at key under name. A kind
// may have no fields: a marker such as a heartbeat carries none.
func (c *checker) event(key []string, name string, v any) (EventKind, bool) {
	hint := fmt.Sprintf(`declare an event kind as a table: [%s] with fields = { <field> = "<type>" }`, toml.Key(key))
	t, ok := c.table(key, v, hint)
	if !ok {
		return EventKind{}, false
	}
	if !kindNameRE.MatchString(name) {
		c.errorf(key, `use lowercase letters, digits, '_', '-' and '.', starting with a letter, such as "user.login" or "span-end"`,
			"%q is not a valid event kind name", name)
	}
	for _, k := range sortedKeys(t) {
		switch _, isTable := t[k].(map[string]any); {
		case slices.Contains(eventKeys, k):
		case isTable:
			dotted := name + "." + k
			c.errorf(join(key, []string{k}), fmt.Sprintf("to declare %q beside %q, quote its name: [%s]", dotted, name, toml.Key{"events", dotted}),
				"a table inside the event kind %q, which holds the kind's own keys", name)
		default:
			c.errorf(join(key, []string{k}), oneOf(k, eventKeys), "unknown key")
		}
	}
	ev := EventKind{Name: name, Line: c.pos.of(key).line}
	ev.Description, _ = c.str(key, t, "description")

	fkey := join(key, []string{"fields"})
	fields, _ := c.table(fkey, t["fields"], `write fields = { <field> = "<type>" }`)
	var names []named
	for _, f := range sortedKeys(fields) {
		at := join(fkey, []string{f})
		if !fieldNameRE.MatchString(f) {
			c.errorf(at, `use letters, digits, '_', '-' and '.', starting with a letter, such as "user_id", "userId" or "http.status"`,
				"%q is not a valid field name", f)
		} else if GoName(f) == "AppendJSON" {
			c.errorf(at, "rename the field", "%q becomes the Go name AppendJSON, which is the event type's encoding method", f)
		}
		typ, ok := fields[f].(string)
		switch {
		case !ok:
			c.wrongType(at, fields[f], "a field type", "write one of "+strings.Join(fieldTypes, ", ")+` in quotes, such as "string"`)
		case !slices.Contains(fieldTypes, typ):
			c.errorf(at, oneOf(typ, fieldTypes), "unknown field type %q", typ)
		}
		ev.Fields = append(ev.Fields, Field{Name: f, Type: typ})
		names = append(names, named{at, f, fieldNameRE})
	}
	// Fields keep the order they are written in: the payload's members
	// come in the order its author chose.
	sort.SliceStable(ev.Fields, func(i, j int) bool {
		return c.pos.of(join(fkey, []string{ev.Fields[i].Name})).before(c.pos.of(join(fkey, []string{ev.Fields[j].Name})))
	})
	c.collisions("field", names)
	return ev, true
}

// named is a name that becomes a Go identifier, with where it is declared
// and the rule it must follow.
type named struct {
	key  []string
	name string
	rule *regexp.Regexp
}

// collisions reports each name whose GoName an earlier name in the file
// already has, naming the line of both. Invalid names are left out: they
// are reported already.
func (c *checker) collisions(what string, names []named) {
	type placed struct {
		named
		at position
	}
	var list []placed
	for _, n := range names {
		if n.rule.MatchString(n.name) {
			list = append(list, placed{n, c.pos.of(n.key)})
		}
	}
	sort.SliceStable(list, func(i, j int) bool { return list[i].at.before(list[j].at) })
	seen := map[string]placed{}
	for _, n := range list {
		g := GoName(n.name)
		first, ok := seen[g]
		if !ok {
			seen[g] = n
			continue
		}
		here, there := toml.Key(n.key).String(), toml.Key(first.key).String()
		switch {
		case n.name == first.name && n.key[0] == first.key[0]:
			// Two spellings of one name: [config.auth.user] and
			// [config."auth.user"] are the same parameter to plugctl,
			// though TOML sees two tables.
			c.errorf(n.key, "remove one of them", "%s %q is declared twice: as %s at line %d and as %s here", what, n.name, there, first.at.line, here)
		case n.name == first.name: // a config and a global parameter
			c.errorf(n.key, "rename one of them", "%ss %s (line %d) and %s both become the Go name %s", what, there, first.at.line, here, g)
		default:
			c.errorf(n.key, "rename one of them", "%ss %q (line %d) and %q both become the Go name %s", what, first.name, first.at.line, n.name, g)
		}
	}
}

func sortedKeys(t map[string]any) []string {
	keys := make([]string, 0, len(t))
	for k := range t {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
