package manifest

import (
	"fmt"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/BurntSushi/toml"

	"github.com/plugctl/plugctl/wire"
)

// The checks of [config.*] and [global.*] parameter tables: their keys,
// types, rules and defaults, with values in canonical form.

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

// param checks one parameter table, declared at key under name.
func (c *checker) param(key []string, name string, v any) (Param, bool) {
	t, ok := c.table(key, v, fmt.Sprintf(`declare a parameter as a table: [%s] with type = "string"`, toml.Key(key)))
	if !ok {
		return Param{}, false
	}
	if !paramNameRE.MatchString(name) {
		c.errorf(key, `use lowercase letters, digits, '_', '-' and '.', starting with a letter, such as "auth.token"`,
			"%q is not a valid parameter name", name)
	}
	c.declarationKeys(key, name, t, paramKeys, "parameter %q, which holds parameter keys")

	p := Param{Name: name, Line: c.pos.of(key).line}
	p.Description = c.description(key, t)
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
		for _, k := range []string{"default", "example", "inclusion", "exclusion"} {
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
	switch {
	case hasGT && hasLT && gt.compare(lt) >= 0:
		c.errorf(at("less_than"), "no value can pass: lower greater_than or raise less_than",
			"less_than %s is not above greater_than %s", lt.s, gt.s)
	case hasGT && hasLT && p.Type == TypeInt && lt.v.Int-gt.v.Int == 1:
		c.errorf(at("less_than"), "no value can pass: both bounds are exclusive; lower greater_than or raise less_than",
			"no integer is above %s and below %s", gt.s, lt.s)
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

	checked := wire.Param{Type: p.Type, Validations: p.validations()}
	if re == nil {
		// A pattern that does not compile is reported already; values are
		// checked against the other rules.
		checked.Validations = slices.DeleteFunc(checked.Validations, func(v wire.Validation) bool { return v.Type == wire.ValidationRegex })
	}
	if p.Secret {
		return
	}
	rules, err := wire.ParseRules(checked)
	if err != nil {
		rules.List = nil // reported already: the values' types are still checked
	}
	c.unreachable(at("inclusion"), p, &rules, inclusion)
	if v, ok := t["default"]; ok {
		if p.Required {
			c.errorf(at("default"), "remove required = true (a parameter with a default is never missing) or remove the default",
				"a required parameter cannot have a default")
		}
		p.HasDefault, p.Default = c.ruledValue(at("default"), p, &rules, v)
	}
	if v, ok := t["example"]; ok {
		p.HasExample, p.Example = c.ruledValue(at("example"), p, &rules, v)
	}
}

// ruledValue checks the value v of p's default or example, at key, like
// any value the plugin will be given: of p's type, and passing p's rules
// as the plugin checks them, so that a plugin configured with it starts.
// It returns the value in canonical form, and whether it is one.
func (c *checker) ruledValue(key []string, p *Param, rules *wire.Rules, v any) (bool, string) {
	items, ok := c.defaultValue(key, p.Type, v)
	if !ok {
		return false, ""
	}
	what := key[len(key)-1]
	for _, d := range items {
		broken := map[wire.ValidationType]bool{}
		for _, r := range rules.List {
			broken[r.Type] = !r.Holds(p.Type, d.s, d.v)
		}
		switch {
		case broken[wire.ValidationGreaterThan]:
			c.errorf(key, "greater_than is exclusive: change the "+what+" or the bound",
				"%s is not greater than %s (greater_than)", d.show(), p.GreaterThan)
		case broken[wire.ValidationLessThan]:
			c.errorf(key, "less_than is exclusive: change the "+what+" or the bound",
				"%s is not less than %s (less_than)", d.show(), p.LessThan)
		case broken[wire.ValidationRegex]:
			c.errorf(key, "change the "+what+" or the regex", "%s does not match regex %q", d.show(), p.Regex)
		case broken[wire.ValidationInclusion]:
			c.errorf(key, "use one of the values listed in inclusion", "%s is not in inclusion", d.show())
		case broken[wire.ValidationExclusion]:
			c.errorf(key, "use a value not listed in exclusion", "%s is in exclusion", d.show())
		}
	}
	return true, strings.Join(canonical(items), ",")
}

// unreachable reports each value of inclusion that p's other rules
// refuse: listed, it can still never be given.
func (c *checker) unreachable(key []string, p *Param, rules *wire.Rules, inclusion []value) {
	for _, d := range inclusion {
		for _, r := range rules.List {
			if r.Type != wire.ValidationInclusion && !r.Holds(d.typ, d.s, d.v) {
				c.errorf(key, "remove it from inclusion, or change the "+r.Type.String()+" rule",
					"%s is listed, but its %s rule refuses it", d.show(), r.Type)
				break
			}
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

// defaultValue returns a default's or example's values: one, or a strings
// list's items.
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
	all := true // every item is checked, so that all their problems are reported
	for _, item := range items {
		val, ok := c.value(key, typ, item)
		all = all && ok
		vals = append(vals, val)
	}
	if !all {
		return nil, false
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
