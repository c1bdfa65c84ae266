package sdk

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/plugctl/plugctl/wire"
)

// Settings is a settings map checked against a specification's
// parameters: each parameter's value, its default applied and parsed to
// its type. ParseSettings makes one; the generated ParseConfig and
// ParseGlobalConfig read their typed fields from it.
type Settings struct {
	types  map[string]string     // every parameter's type, by name
	values map[string]wire.Value // the parameters with a value, parsed
	items  map[string][]string   // the items of strings parameters
}

// ParseSettings checks settings, the map a host sends in SETUP or OPEN,
// against params, as PROTOCOL.md §4.7 says a plugin checks them: a
// missing or empty setting takes its parameter's default, each value is
// parsed to its parameter's type and checked against every rule, and a
// setting that names no parameter is refused, with the nearest name as a
// suggestion. Every problem found is returned in one *ConfigError, in
// the order of params and then of the unknown names; the value of a
// secret parameter is never part of it. Any other error means params
// holds a rule that does not fit its parameter, which a specification
// generated from a checked plugin.toml does not.
func ParseSettings(params []wire.Param, settings map[string]string) (*Settings, error) {
	s := &Settings{types: map[string]string{}, values: map[string]wire.Value{}, items: map[string][]string{}}
	var problems ConfigError
	known := make([]string, 0, len(params))
	for i := range params {
		p := &params[i]
		rules, err := wire.ParseRules(*p)
		if err != nil {
			return nil, fmt.Errorf("sdk: parameter %q: %w", p.Name, err)
		}
		s.types[p.Name] = p.Type
		known = append(known, p.Name)

		text := settings[p.Name]
		if text == "" {
			text = p.Default
		}
		if text == "" {
			if rules.Required {
				problems.Add(p.Name, "is required")
			}
			continue
		}
		invalid := func(value, problem string) {
			if !p.Secret {
				problem += " (got " + strconv.Quote(value) + ")"
			}
			problems.Add(p.Name, problem)
		}
		prefix := ""
		if p.Type == wire.TypeStrings {
			s.items[p.Name] = wire.SplitList(text)
			prefix = "each item "
		}
		for _, item := range rules.Items(text) {
			v, ok := wire.ParseValue(p.Type, item)
			if !ok {
				invalid(item, typeProblems[p.Type])
				break
			}
			s.values[p.Name] = v
			for j := range rules.List {
				if r := &rules.List[j]; !r.Holds(p.Type, item, v) {
					invalid(item, prefix+ruleProblem(r, p.Secret))
				}
			}
		}
	}
	slices.Sort(known)
	for _, name := range slices.Sorted(maps.Keys(settings)) {
		if _, found := slices.BinarySearch(known, name); found {
			continue
		}
		msg := "unknown parameter"
		if guess := wire.Closest(name, known); guess != "" {
			msg += "; did you mean " + strconv.Quote(guess) + "?"
		}
		problems.Add(name, msg)
	}
	if err := problems.Err(); err != nil {
		return nil, err
	}
	return s, nil
}

// typeProblems say what a value that does not parse is not.
var typeProblems = map[string]string{
	wire.TypeInt:      "not an int",
	wire.TypeFloat:    "not a float",
	wire.TypeBool:     "not a bool (true or false)",
	wire.TypeDuration: "not a duration, such as 10s or 1m30s",
}

// ruleProblem says what a value that breaks r must be. The excluded
// values of a secret parameter are not named: that would tell which one
// the secret is.
func ruleProblem(r *wire.Rule, secret bool) string {
	switch r.Type {
	case wire.ValidationGreaterThan:
		return "must be greater than " + r.Value
	case wire.ValidationLessThan:
		return "must be less than " + r.Value
	case wire.ValidationInclusion:
		return "must be one of " + strings.Join(r.Values, ", ")
	case wire.ValidationExclusion:
		if secret {
			return "must not be one of the excluded values"
		}
		return "must not be one of " + strings.Join(r.Values, ", ")
	}
	return "must match `" + r.Value + "`"
}

// value returns the parsed value of parameter name, which must be of type
// typ: asking for a parameter the specification does not have, or for
// another type, is a bug in the caller, and panics.
func (s *Settings) value(name, typ string) wire.Value {
	if t, ok := s.types[name]; !ok || t != typ {
		panic(fmt.Sprintf("sdk: Settings has no %s parameter %q", typ, name))
	}
	return s.values[name]
}

// String returns the value of the string parameter name; "" when it has none.
func (s *Settings) String(name string) string { return s.value(name, wire.TypeString).Text }

// Int returns the value of the int parameter name; 0 when it has none.
func (s *Settings) Int(name string) int { return int(s.value(name, wire.TypeInt).Int) }

// Float returns the value of the float parameter name; 0 when it has none.
func (s *Settings) Float(name string) float64 { return s.value(name, wire.TypeFloat).Float }

// Bool returns the value of the bool parameter name; false when it has none.
func (s *Settings) Bool(name string) bool { return s.value(name, wire.TypeBool).Bool }

// Duration returns the value of the duration parameter name; 0 when it has
// none.
func (s *Settings) Duration(name string) time.Duration {
	return time.Duration(s.value(name, wire.TypeDuration).Int)
}

// Strings returns the items of the strings parameter name; nil when it has
// none.
func (s *Settings) Strings(name string) []string {
	s.value(name, wire.TypeStrings)
	return s.items[name]
}
