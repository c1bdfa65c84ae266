package acceptance

import (
	"fmt"
	"math"
	"math/rand/v2"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/plugctl/plugctl/internal/regexsample"
	"github.com/plugctl/plugctl/manifest"
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

// examples are the example values of the manifest's parameters, by name.
func examples(m *manifest.Manifest) map[string]string {
	out := map[string]string{}
	if m == nil {
		return out
	}
	for _, ps := range [][]manifest.Param{m.Global, m.Config} {
		for _, p := range ps {
			if p.HasExample {
				out[p.Name] = p.Example
			}
		}
	}
	return out
}

// userSettings are the user's settings for instance n: Options.Settings,
// with Options.InstanceSettings[n] over them. Instance settings cannot
// name a global parameter: the instances of one process share it.
func userSettings(spec *wire.Spec, o *Options, n uint16) (map[string]string, error) {
	out := cloneMap(o.Settings)
	for k, v := range o.InstanceSettings[n] {
		if findParam(spec.Global, k) != nil {
			return nil, fmt.Errorf("instance %d's setting %s: a global parameter is set once for the process's instances; give it to all of them (--set %s=%s)", n, k, k, v)
		}
		out[k] = v
	}
	return out, nil
}

// validConfig is the user's settings merged over the examples and the
// defaults, with a synthesized value for each required parameter left
// without one. It fails with a skip naming the parameters when no value
// passing every validation can be found: the user must give one.
func validConfig(spec *wire.Spec, user, examples map[string]string) (config, error) {
	c := splitSettings(spec, user)
	var missing []wire.Param
	for _, sc := range []struct {
		params []wire.Param
		into   map[string]string
	}{{spec.Global, c.global}, {spec.Params, c.instance}} {
		for _, p := range sc.params {
			if _, ok := sc.into[p.Name]; ok {
				continue
			}
			ex, hasExample := examples[p.Name]
			switch {
			case hasExample:
				sc.into[p.Name] = ex
			case p.Default != "":
				sc.into[p.Name] = p.Default
			case required(p):
				v, ok := synthesize(p)
				if !ok {
					missing = append(missing, p)
					continue
				}
				sc.into[p.Name] = v
			}
		}
	}
	if len(missing) > 0 {
		return config{}, needf(missing, "no value found for required %s that passes the validations", paramList(missing))
	}
	return c, nil
}

// paramList names parameters in a sentence: parameter "a", parameters "a" and "b".
func paramList(ps []wire.Param) string {
	q := make([]string, len(ps))
	for i, p := range ps {
		q[i] = fmt.Sprintf("%q", p.Name)
	}
	if len(q) == 1 {
		return "parameter " + q[0]
	}
	return "parameters " + strings.Join(q[:len(q)-1], ", ") + " and " + q[len(q)-1]
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

// synthesize returns a value for p that passes all its validations: a
// plausible one, else a match built from its pattern.
func synthesize(p wire.Param) (string, bool) {
	cs := candidates(p)
	if re := rule(p, wire.ValidationRegex); re.Type != 0 {
		if rules, err := wire.ParseRules(wire.Param{Type: p.Type, Validations: []wire.Validation{re}}); err == nil {
			if s, ok := regexsample.Match(rules.List[0].Regexp); ok {
				cs = append(cs, s)
			}
		}
	}
	for _, v := range cs {
		if len(problems(p, v)) == 0 {
			return v, true
		}
	}
	return "", false
}

// candidates lists plausible values for p: the inclusion list when there
// is one, else values near its default and around its bounds, else
// typical values of its type; for a string, values most patterns accept.
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
	if rule(p, wire.ValidationRegex).Type == 0 {
		// Nothing says what the text is: a word, which also works as a
		// file name, a label or a host.
		return []string{"plugctl-acceptance"}
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

// rule returns p's validation of type t; its Type is 0 when p has none.
func rule(p wire.Param, t wire.ValidationType) wire.Validation {
	for _, v := range p.Validations {
		if v.Type == t {
			return v
		}
	}
	return wire.Validation{}
}

// problems lists the rules a value breaks, as a plugin checks them
// (wire.ParseRules, PROTOCOL.md §4.7). An empty value is no value: it
// takes the default, if any. It is how the checks know a synthesized
// value is valid and a derived one invalid.
func problems(p wire.Param, value string) []string {
	rules, err := wire.ParseRules(p)
	if err != nil {
		return []string{err.Error()}
	}
	if value == "" {
		value = p.Default
	}
	if value == "" {
		if rules.Required {
			return []string{wire.ValidationRequired.String()}
		}
		return nil
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

// valid keeps the values of vs that pass every rule of p, once each.
func valid(p wire.Param, vs []string) []string {
	var out []string
	for _, v := range vs {
		if v != "" && len(problems(p, v)) == 0 && !slices.Contains(out, v) {
			out = append(out, v)
		}
	}
	return out
}

// breaking keeps the values of vs that break rule t of p and, when only is
// set, nothing else: a value that also breaks another rule would be
// rejected even by a plugin that gets t wrong.
func breaking(p wire.Param, t wire.ValidationType, only bool, vs []string) []string {
	var out []string
	for _, v := range vs {
		if v == "" || !ofType(p, v) || slices.Contains(out, v) {
			continue
		}
		broken := problems(p, v)
		if slices.Contains(broken, t.String()) && (!only || len(broken) == 1) {
			out = append(out, v)
		}
	}
	return out
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
			tries = noMatch
		}
	}
	if bad := breaking(p, t, false, tries); len(bad) > 0 {
		return bad[0], true
	}
	return "", false
}

// noMatch are values that few patterns match.
var noMatch = []string{"plugctl acceptance: no match!", "a", "0", "-", "http://localhost"}

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

// Probe values: for each rule, values just beyond it that a plugin must
// reject and values just within it (and within every other rule) that it
// must accept. A plugin that gets a rule wrong in either direction (a
// bound one step too tight, a list compared as text containing the value)
// meets one of them.

// ruleProbes returns, for p's rule v, values that must be rejected and
// values that must be accepted; base is p's value in the valid
// configuration ("" when it has none).
func ruleProbes(p wire.Param, v wire.Validation, base string) (reject, accept []string) {
	t := v.Type
	switch t {
	case wire.ValidationGreaterThan, wire.ValidationLessThan:
		b, ok := wire.ParseValue(p.Type, v.Value)
		if !ok {
			return nil, nil
		}
		up := t == wire.ValidationGreaterThan // the side values must be on
		var beyond, within []string
		beyond = append(beyond, v.Value)
		if x, ok := step(p.Type, b, !up, 1); ok {
			beyond = append(beyond, wire.FormatValue(p.Type, x))
		}
		if x, ok := step(p.Type, b, !up, far); ok {
			beyond = append(beyond, wire.FormatValue(p.Type, x))
		}
		if x, ok := step(p.Type, b, up, 1); ok {
			within = append(within, wire.FormatValue(p.Type, x))
		}
		if m, ok := midpoint(p); ok {
			within = append(within, m)
		}
		return breaking(p, t, false, beyond), valid(p, within)
	case wire.ValidationInclusion:
		var parts []string
		for _, item := range v.Values {
			parts = append(parts, around(item)...)
		}
		reject = append(breaking(p, t, false, outside(p.Type, v.Values)), breaking(p, t, true, parts)...)
		accept = valid(p, v.Values)
		if p.Type == wire.TypeStrings && len(accept) > 1 {
			accept = append(accept, strings.Join(accept, ","))
		}
		return reject, accept
	case wire.ValidationExclusion:
		var parts []string
		for _, item := range v.Values {
			parts = append(parts, around(item)...)
		}
		return breaking(p, t, false, v.Values), valid(p, parts)
	case wire.ValidationRegex:
		rules, err := wire.ParseRules(wire.Param{Type: p.Type, Validations: []wire.Validation{v}})
		if err != nil {
			return nil, nil
		}
		re := rules.List[0].Regexp
		var matches []string
		for _, s := range append(items(p, base), sample(re, probeRand())...) {
			matches = append(matches, s, "x"+s, s+"x", "x"+s+"x")
		}
		return breaking(p, t, false, append(slices.Clone(noMatch), matches...)), valid(p, matches)
	}
	return nil, nil
}

// far is how many steps of a type a value far beyond a bound is.
const far = 1_000_000

// step moves v n steps of typ up or down: n units for an int, n
// nanoseconds for a duration, n times to the next float for a float, or,
// for far, a million units (an hour for a duration). It fails when that
// leaves the type's range.
func step(typ string, v wire.Value, up bool, n int64) (wire.Value, bool) {
	sign := int64(1)
	if !up {
		sign = -1
	}
	switch typ {
	case wire.TypeInt, wire.TypeDuration:
		if typ == wire.TypeDuration && n == far {
			n = int64(time.Hour)
		}
		d := sign * n
		if d > 0 && v.Int > math.MaxInt64-d || d < 0 && v.Int < math.MinInt64-d {
			return v, false
		}
		v.Int += d
	case wire.TypeFloat:
		if n == far {
			v.Float += float64(sign) * far
		} else {
			for range n {
				v.Float = math.Nextafter(v.Float, float64(sign)*math.Inf(1))
			}
		}
		if math.IsInf(v.Float, 0) {
			return v, false
		}
	default:
		return v, false
	}
	return v, true
}

// midpoint is the value halfway between p's bounds, when it has both.
func midpoint(p wire.Param) (string, bool) {
	lo, okLo := bound(p, wire.ValidationGreaterThan)
	hi, okHi := bound(p, wire.ValidationLessThan)
	if !okLo || !okHi {
		return "", false
	}
	if p.Type == wire.TypeFloat {
		return wire.FormatValue(p.Type, wire.Value{Float: lo.Float/2 + hi.Float/2}), true
	}
	return wire.FormatValue(p.Type, wire.Value{Int: lo.Int/2 + hi.Int/2 + (lo.Int%2+hi.Int%2)/2}), true
}

// around returns texts that are a part of s or hold it: what a plugin
// comparing lists as text (a substring or a prefix) confuses with s.
func around(s string) []string {
	out := []string{"x" + s, s + "x"}
	if len(s) > 1 {
		out = append(out, s[:len(s)-1], s[1:])
	}
	return out
}

// sample returns matches of re: the shortest the sampler builds, and a
// longer one drawn with rnd.
func sample(re *regexp.Regexp, rnd *rand.Rand) []string {
	var out []string
	if s, ok := regexsample.Match(re); ok {
		out = append(out, s)
	}
	if s, ok := regexsample.Random(re, rnd, 8); ok {
		out = append(out, s)
	}
	return out
}

// probeRand draws probe values: the same ones in every run, so that a
// failure shows again when the run is repeated.
func probeRand() *rand.Rand { return rand.New(rand.NewPCG(1, 2)) }

// items are the values p's rules apply to in value: the value, or a
// strings value's items.
func items(p wire.Param, value string) []string {
	if p.Type == wire.TypeStrings {
		return wire.SplitList(value)
	}
	if value == "" {
		return nil
	}
	return []string{value}
}

// edgeProbes returns values at the edges of p's type that its rules allow
// and a plugin must accept: its default, sent explicitly, and an empty
// value, which takes it (or is no value, for a parameter that is not
// required); the largest and smallest int64 and float64, a negative
// duration; both bools; a strings list of one and of several items.
func edgeProbes(p wire.Param, base string) []string {
	var vs []string
	if p.Default != "" {
		vs = append(vs, p.Default)
	}
	switch p.Type {
	case wire.TypeInt:
		vs = append(vs, "9223372036854775807", "-9223372036854775808")
	case wire.TypeFloat:
		vs = append(vs, wire.FormatValue(p.Type, wire.Value{Float: math.MaxFloat64}), wire.FormatValue(p.Type, wire.Value{Float: -math.MaxFloat64}))
	case wire.TypeDuration:
		vs = append(vs, time.Duration(math.MaxInt64).String(), time.Duration(math.MinInt64).String(), "-1s")
	case wire.TypeBool:
		vs = append(vs, "true", "false")
	case wire.TypeStrings:
		pool := valid(p, append(items(p, base), itemPool(p)...))
		if len(pool) > 0 {
			vs = append(vs, pool[0])
		}
		if len(pool) > 1 {
			vs = append(vs, strings.Join(pool[:min(len(pool), 3)], ","))
		}
	}
	vs = valid(p, vs)
	if !required(p) {
		vs = append(vs, "") // no value: §4.7's first step, not a value checked against the rules
	}
	return vs
}

// itemPool are items to build a strings list from: the allowed values,
// matches of the pattern, and ordinary words.
func itemPool(p wire.Param) []string {
	var pool []string
	if inc := rule(p, wire.ValidationInclusion); inc.Type != 0 {
		pool = append(pool, inc.Values...)
	}
	if rs, err := wire.ParseRules(p); err == nil {
		rnd := probeRand()
		for _, r := range rs.List {
			if r.Type == wire.ValidationRegex {
				for range 3 {
					pool = append(pool, sample(r.Regexp, rnd)...)
				}
			}
		}
	}
	return append(pool, "a", "b", "c", "plugctl", "acceptance")
}

// nearby returns texts close to cur that p's rules allow, for a second
// instance's string: with a "2" before the extension or at the end, or
// its last character doubled.
func nearby(p wire.Param, cur string) []string {
	var vs []string
	if i := strings.LastIndexByte(cur, '.'); i > 0 {
		vs = append(vs, cur[:i]+"2"+cur[i:])
	}
	vs = append(vs, cur+"2", cur+"-2", cur+"_2", cur+cur[len(cur)-1:])
	return slices.DeleteFunc(valid(p, vs), func(v string) bool { return v == cur })
}
