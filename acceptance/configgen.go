package acceptance

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
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
// is one, else values around its bounds, else typical values of its type.
func candidates(p wire.Param) []string {
	for _, v := range p.Validations {
		if v.Type == wire.ValidationInclusion {
			return v.Values
		}
	}
	gt, lt := bound(p, wire.ValidationGreaterThan), bound(p, wire.ValidationLessThan)
	switch p.Type {
	case "int":
		var cs []string
		if n, err := strconv.ParseInt(gt, 10, 64); err == nil {
			cs = append(cs, strconv.FormatInt(n+1, 10))
		}
		if n, err := strconv.ParseInt(lt, 10, 64); err == nil {
			cs = append(cs, strconv.FormatInt(n-1, 10))
		}
		return append(cs, "1", "0", "10", "100")
	case "float":
		g, gerr := strconv.ParseFloat(gt, 64)
		l, lerr := strconv.ParseFloat(lt, 64)
		var cs []string
		if gerr == nil && lerr == nil {
			cs = append(cs, fmtFloat((g+l)/2))
		}
		if gerr == nil {
			cs = append(cs, fmtFloat(g+1))
		}
		if lerr == nil {
			cs = append(cs, fmtFloat(l-1))
		}
		return append(cs, "1", "0.5", "0")
	case "duration":
		g, gerr := time.ParseDuration(gt)
		l, lerr := time.ParseDuration(lt)
		var cs []string
		if gerr == nil && lerr == nil {
			cs = append(cs, ((g + l) / 2).String())
		}
		if gerr == nil {
			cs = append(cs, (g + time.Second).String())
		}
		if lerr == nil {
			cs = append(cs, (l / 2).String())
		}
		return append(cs, "1s", "1m", "1ms")
	case "bool":
		return []string{"true", "false"}
	}
	return regexCandidates
}

func fmtFloat(f float64) string { return strconv.FormatFloat(f, 'g', -1, 64) }

// bound returns the value of p's validation of type t, or "".
func bound(p wire.Param, t wire.ValidationType) string {
	for _, v := range p.Validations {
		if v.Type == t {
			return v.Value
		}
	}
	return ""
}

// problems lists the rules a set value breaks, as PROTOCOL.md §4.7 has a
// plugin check them. It is how the checks know a synthesized value is
// valid and a derived one invalid.
func problems(p wire.Param, value string) []string {
	var out []string
	if err := typeError(p.Type, value); err != nil {
		return []string{err.Error()}
	}
	// inclusion, exclusion and regex apply to each item of a list.
	items := []string{value}
	if p.Type == "strings" {
		items = strings.Split(value, ",")
	}
	for _, v := range p.Validations {
		ok := true
		switch v.Type {
		case wire.ValidationRequired:
			ok = value != ""
		case wire.ValidationGreaterThan:
			ok = compare(p.Type, value, v.Value) > 0
		case wire.ValidationLessThan:
			ok = compare(p.Type, value, v.Value) < 0
		case wire.ValidationInclusion, wire.ValidationExclusion, wire.ValidationRegex:
			re, err := regexp.Compile(v.Value)
			for _, it := range items {
				switch v.Type {
				case wire.ValidationInclusion:
					ok = ok && slices.Contains(v.Values, it)
				case wire.ValidationExclusion:
					ok = ok && !slices.Contains(v.Values, it)
				default:
					ok = ok && err == nil && re.MatchString(it)
				}
			}
		}
		if !ok {
			out = append(out, v.Type.String())
		}
	}
	return out
}

// typeError says why value is not of type typ.
func typeError(typ, value string) error {
	var err error
	switch typ {
	case "int":
		_, err = strconv.ParseInt(value, 10, 64)
	case "float":
		_, err = strconv.ParseFloat(value, 64)
	case "bool":
		if value != "true" && value != "false" {
			err = fmt.Errorf("%q is not true or false", value)
		}
	case "duration":
		_, err = time.ParseDuration(value)
	}
	return err
}

// compare orders a and b as values of typ; values that do not parse
// compare equal, so they never count as passing a bound.
func compare(typ, a, b string) int {
	switch typ {
	case "int":
		x, err1 := strconv.ParseInt(a, 10, 64)
		y, err2 := strconv.ParseInt(b, 10, 64)
		if err1 == nil && err2 == nil {
			return cmpOrdered(x, y)
		}
	case "duration":
		x, err1 := time.ParseDuration(a)
		y, err2 := time.ParseDuration(b)
		if err1 == nil && err2 == nil {
			return cmpOrdered(x, y)
		}
	}
	x, err1 := strconv.ParseFloat(a, 64)
	y, err2 := strconv.ParseFloat(b, 64)
	if err1 == nil && err2 == nil {
		return cmpOrdered(x, y)
	}
	return 0
}

func cmpOrdered[T int64 | float64 | time.Duration](x, y T) int {
	switch {
	case x < y:
		return -1
	case x > y:
		return 1
	}
	return 0
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
		if typeError(p.Type, v) == nil && slices.Contains(problems(p, v), t.String()) {
			return v, true
		}
	}
	return "", false
}

// outside returns values of type typ that are not in list.
func outside(typ string, list []string) []string {
	switch typ {
	case "int", "float", "duration":
		max := list[0]
		for _, v := range list[1:] {
			if compare(typ, v, max) > 0 {
				max = v
			}
		}
		switch typ {
		case "int":
			n, _ := strconv.ParseInt(max, 10, 64)
			return []string{strconv.FormatInt(n+1, 10)}
		case "float":
			f, _ := strconv.ParseFloat(max, 64)
			return []string{fmtFloat(f + 1)}
		default:
			d, _ := time.ParseDuration(max)
			return []string{(d + time.Second).String()}
		}
	case "bool":
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
