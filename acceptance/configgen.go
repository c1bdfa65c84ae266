package acceptance

import (
	"fmt"
	"slices"
	"time"

	"github.com/plugctl/plugctl/wire"
)

// config is one configuration: SETUP's global settings and OPEN's.
type config struct {
	global, instance map[string]string
}

// clone copies c so a check can change one value.
func (c config) clone() config {
	return config{global: cloneMap(c.global), instance: cloneMap(c.instance)}
}

func cloneMap(m map[string]string) map[string]string {
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// scope returns the settings of c a parameter lives in.
func (c config) scope(global bool) map[string]string {
	if global {
		return c.global
	}
	return c.instance
}

// splitSettings sends the user's settings where they belong: keys naming a
// global parameter go to SETUP, every other key to OPEN (an unknown key is
// the plugin's to reject, as it would be in production).
func splitSettings(spec *wire.Spec, user map[string]string) config {
	c := config{global: map[string]string{}, instance: map[string]string{}}
	for k, v := range user {
		if findParam(spec.Global, k) != nil {
			c.global[k] = v
		} else {
			c.instance[k] = v
		}
	}
	return c
}

func findParam(ps []wire.Param, name string) *wire.Param {
	for i := range ps {
		if ps[i].Name == name {
			return &ps[i]
		}
	}
	return nil
}

// validConfig is the user's settings merged over the defaults, with a
// synthesized value for each required parameter the user left out. It
// fails, naming the parameter, when no value passing every validation
// can be found: the user must give one with --set.
func validConfig(spec *wire.Spec, user map[string]string) (config, error) {
	c := splitSettings(spec, user)
	for _, sc := range []struct {
		params []wire.Param
		into   map[string]string
	}{{spec.Global, c.global}, {spec.Params, c.instance}} {
		for _, p := range sc.params {
			if _, ok := sc.into[p.Name]; ok {
				continue
			}
			switch {
			case p.Default != "":
				sc.into[p.Name] = p.Default
			case required(p):
				v, ok := synthesize(p)
				if !ok {
					return config{}, fmt.Errorf("no value found for required parameter %q that passes its validations; give one with --set %s=VALUE", p.Name, p.Name)
				}
				sc.into[p.Name] = v
			}
		}
	}
	return c, nil
}

func required(p wire.Param) bool {
	return slices.ContainsFunc(p.Validations, func(v wire.Validation) bool {
		return v.Type == wire.ValidationRequired
	})
}

// regexCandidates are tried, in order, for a string that must match a
// pattern: values most real patterns (URLs, hosts, words) accept.
var regexCandidates = []string{
	"http://localhost", "https://example.com", "a", "0", "x@y.z",
	"localhost:8080", "example", "/tmp", "A", "1", "plugctl-acceptance",
}

// synthesize returns a value for p that passes all its validations.
func synthesize(p wire.Param) (string, bool) {
	for _, v := range candidates(p) {
		if len(problems(p, v)) == 0 {
			return v, true
		}
	}
	return "", false
}

// candidates lists plausible values for p: the inclusion list when there
// is one, else values near its default (so that a second configuration
// differs little from the first: half the default of a duration, such as
// an interval) and around its bounds, else typical values of its type.
func candidates(p wire.Param) []string {
	for _, v := range p.Validations {
		if v.Type == wire.ValidationInclusion {
			return v.Values
		}
	}
	gt, hasGT := bound(p, wire.ValidationGreaterThan)
	lt, hasLT := bound(p, wire.ValidationLessThan)
	var cs []string
	add := func(v wire.Value) { cs = append(cs, wire.FormatValue(p.Type, v)) }
	if d, ok := wire.ParseValue(p.Type, p.Default); ok && p.Default != "" {
		switch p.Type {
		case wire.TypeInt:
			add(wire.Value{Int: d.Int + 1})
		case wire.TypeFloat:
			add(wire.Value{Float: d.Float + 1})
		case wire.TypeDuration:
			add(wire.Value{Int: d.Int / 2})
		}
	}
	switch p.Type {
	case wire.TypeInt:
		if hasGT {
			add(wire.Value{Int: gt.Int + 1})
		}
		if hasLT {
			add(wire.Value{Int: lt.Int - 1})
		}
		return append(cs, "1", "0", "10", "100")
	case wire.TypeFloat:
		if hasGT && hasLT {
			add(wire.Value{Float: (gt.Float + lt.Float) / 2})
		}
		if hasGT {
			add(wire.Value{Float: gt.Float + 1})
		}
		if hasLT {
			add(wire.Value{Float: lt.Float - 1})
		}
		return append(cs, "1", "0.5", "0")
	case wire.TypeDuration:
		if hasGT && hasLT {
			add(wire.Value{Int: (gt.Int + lt.Int) / 2})
		}
		if hasGT {
			add(wire.Value{Int: gt.Int + int64(time.Second)})
		}
		if hasLT {
			add(wire.Value{Int: lt.Int / 2})
		}
		return append(cs, "1s", "1m", "1ms")
	case wire.TypeBool:
		return []string{"true", "false"}
	}
	return regexCandidates
}

// bound returns the bound of p's validation of type t, parsed.
func bound(p wire.Param, t wire.ValidationType) (wire.Value, bool) {
	for _, v := range p.Validations {
		if v.Type == t {
			return wire.ParseValue(p.Type, v.Value)
		}
	}
	return wire.Value{}, false
}

// problems lists the rules a set value breaks, as a plugin checks them
// (wire.ParseRules, PROTOCOL.md §4.7). It is how the checks know a
// synthesized value is valid and a derived one invalid.
func problems(p wire.Param, value string) []string {
	rules, err := wire.ParseRules(p)
	if err != nil {
		return []string{err.Error()}
	}
	if rules.Required && value == "" {
		return []string{wire.ValidationRequired.String()}
	}
	broken, ok := rules.Check(value)
	if !ok || !ofType(p, value) {
		return []string{fmt.Sprintf("%q is not of type %s", value, p.Type)}
	}
	var out []string
	for _, t := range broken {
		out = append(out, t.String())
	}
	return out
}

// ofType reports whether value is of p's type. The checks send what
// senders should (PROTOCOL.md §4.7), so a bool is true or false, not one
// of the other forms a plugin accepts.
func ofType(p wire.Param, value string) bool {
	v, ok := wire.ParseValue(p.Type, value)
	return ok && (p.Type != wire.TypeBool || value == wire.FormatValue(p.Type, v))
}

// violation returns a value of p's own type that breaks rule t and so must
// be rejected, or false when p has no such rule or no such value exists.
func violation(p wire.Param, t wire.ValidationType) (string, bool) {
	var tries []string
	for _, v := range p.Validations {
		if v.Type != t {
			continue
		}
		switch t {
		case wire.ValidationGreaterThan, wire.ValidationLessThan:
			tries = []string{v.Value} // the bound itself is not strictly beyond it
		case wire.ValidationInclusion:
			tries = outside(p.Type, v.Values)
		case wire.ValidationExclusion:
			tries = v.Values
		case wire.ValidationRegex:
			tries = []string{"plugctl acceptance: no match!", "a", "0", "-", "http://localhost"}
		}
	}
	for _, v := range tries {
		if ofType(p, v) && slices.Contains(problems(p, v), t.String()) {
			return v, true
		}
	}
	return "", false
}

// outside returns values of type typ that are not in list.
func outside(typ string, list []string) []string {
	switch typ {
	case wire.TypeInt, wire.TypeFloat, wire.TypeDuration:
		var top wire.Value
		for i, text := range list {
			if v, _ := wire.ParseValue(typ, text); i == 0 || wire.CompareValues(typ, v, top) > 0 {
				top = v
			}
		}
		switch typ {
		case wire.TypeInt:
			top.Int++
		case wire.TypeFloat:
			top.Float++
		default:
			top.Int += int64(time.Second)
		}
		return []string{wire.FormatValue(typ, top)}
	case wire.TypeBool:
		return []string{"true", "false"}
	}
	return []string{"plugctl-not-in-list", "x"}
}

// wrongType returns a value that is not of p's type, or false for string
// types, which take any value.
func wrongType(p wire.Param) (string, bool) {
	switch p.Type {
	case "int", "float", "bool", "duration":
		return "plugctl-not-a-" + p.Type, true
	}
	return "", false
}
