package generate

import (
	"cmp"
	"fmt"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/plugctl/plugctl/manifest"
	"github.com/plugctl/plugctl/wire"
)

// param is one parameter with its default and rules parsed, so that the
// generated code, its tests and the README are built from one reading.
type param struct {
	manifest.Param
	scope  string // "config" or "global", as in plugin.toml
	goName string
	def    string // the default; empty when there is none
	rules  []rule // in wire.ValidationType order, required left out
}

// rule is one validation other than required.
type rule struct {
	typ    wire.ValidationType
	bound  value          // greater_than, less_than
	values []value        // inclusion, exclusion
	texts  []string       // inclusion, exclusion as written
	re     *regexp.Regexp // regex
}

// value is a parameter value (an item, for a strings parameter) converted
// to its type; only the member of that type is set.
type value struct {
	i int64 // int, duration
	f float64
	b bool
	s string
}

// typeWrong marks a value that does not convert to the parameter's type in
// the results of param.check.
const typeWrong wire.ValidationType = 0

// newParams parses the parameters of one scope and sorts them by name.
func newParams(scope string, ps []manifest.Param) ([]*param, error) {
	out := make([]*param, 0, len(ps))
	names := map[string]string{}
	for _, mp := range ps {
		p := &param{Param: mp, scope: scope, goName: manifest.GoName(mp.Name)}
		if other, dup := names[p.goName]; dup {
			return nil, fmt.Errorf("%s.%s and %s.%s both give the Go name %s", scope, other, scope, p.Name, p.goName)
		}
		names[p.goName] = p.Name
		if err := p.parse(); err != nil {
			return nil, fmt.Errorf("%s.%s: %w", scope, p.Name, err)
		}
		out = append(out, p)
	}
	slices.SortStableFunc(out, func(a, b *param) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

// parse converts the default, bounds and lists to values and compiles the
// regex, refusing what the generated code could not hold.
func (p *param) parse() error {
	switch p.Type {
	case manifest.TypeString, manifest.TypeInt, manifest.TypeFloat, manifest.TypeBool, manifest.TypeDuration, manifest.TypeStrings:
	default:
		return fmt.Errorf("unknown type %q", p.Type)
	}
	if p.HasDefault {
		p.def = p.Default
	}
	if p.Required && p.def != "" {
		return fmt.Errorf("required and default are both set")
	}
	bound := func(text string) (value, error) {
		switch p.Type {
		case manifest.TypeInt, manifest.TypeFloat, manifest.TypeDuration:
		default:
			return value{}, fmt.Errorf("greater_than and less_than apply to int, float and duration parameters, not %s", p.Type)
		}
		v, ok := p.convert(text)
		if !ok {
			return value{}, fmt.Errorf("bound %q is not of type %s", text, p.Type)
		}
		return v, nil
	}
	list := func(texts []string) ([]value, error) {
		vs := make([]value, len(texts))
		for i, t := range texts {
			v, ok := p.convert(t)
			if !ok {
				return nil, fmt.Errorf("value %q is not of type %s", t, p.itemType())
			}
			vs[i] = v
		}
		return vs, nil
	}
	if p.HasGreaterThan {
		v, err := bound(p.GreaterThan)
		if err != nil {
			return err
		}
		p.rules = append(p.rules, rule{typ: wire.ValidationGreaterThan, bound: v})
	}
	if p.HasLessThan {
		v, err := bound(p.LessThan)
		if err != nil {
			return err
		}
		p.rules = append(p.rules, rule{typ: wire.ValidationLessThan, bound: v})
	}
	if len(p.Inclusion) > 0 {
		vs, err := list(p.Inclusion)
		if err != nil {
			return err
		}
		p.rules = append(p.rules, rule{typ: wire.ValidationInclusion, values: vs, texts: p.Inclusion})
	}
	if len(p.Exclusion) > 0 {
		vs, err := list(p.Exclusion)
		if err != nil {
			return err
		}
		p.rules = append(p.rules, rule{typ: wire.ValidationExclusion, values: vs, texts: p.Exclusion})
	}
	if p.Regex != "" {
		re, err := regexp.Compile(p.Regex)
		if err != nil {
			return fmt.Errorf("regex: %w", err)
		}
		p.rules = append(p.rules, rule{typ: wire.ValidationRegex, re: re})
	}
	if p.def != "" {
		if bad := p.check(p.def); len(bad) > 0 {
			return fmt.Errorf("default %q breaks its own rule %s", p.def, ruleName(bad[0]))
		}
	}
	return nil
}

// itemType is the type each value of p converts to: a strings parameter
// holds strings.
func (p *param) itemType() string {
	if p.Type == manifest.TypeStrings {
		return manifest.TypeString
	}
	return p.Type
}

// convert converts one value (an item, for strings) as the generated
// ParseConfig does.
func (p *param) convert(text string) (value, bool) {
	switch p.itemType() {
	case manifest.TypeInt:
		n, err := strconv.Atoi(text)
		return value{i: int64(n)}, err == nil
	case manifest.TypeFloat:
		f, err := strconv.ParseFloat(text, 64)
		return value{f: f}, err == nil && !math.IsNaN(f) && !math.IsInf(f, 0)
	case manifest.TypeBool:
		b, err := strconv.ParseBool(text)
		return value{b: b}, err == nil
	case manifest.TypeDuration:
		d, err := time.ParseDuration(text)
		return value{i: int64(d)}, err == nil
	}
	return value{s: text}, true
}

// compare orders two values of p's item type; bools are only equal or not.
func (p *param) compare(a, b value) int {
	switch p.itemType() {
	case manifest.TypeInt, manifest.TypeDuration:
		return cmp.Compare(a.i, b.i)
	case manifest.TypeFloat:
		return cmp.Compare(a.f, b.f)
	case manifest.TypeBool:
		if a.b == b.b {
			return 0
		}
		return 1
	}
	return strings.Compare(a.s, b.s)
}

// check mirrors the generated parsing of a set value: it returns the rules
// text breaks, typeWrong first when it does not convert.
func (p *param) check(text string) []wire.ValidationType {
	items := []string{text}
	if p.Type == manifest.TypeStrings {
		items = splitList(text)
	}
	var bad []wire.ValidationType
	for _, item := range items {
		v, ok := p.convert(item)
		if !ok {
			return []wire.ValidationType{typeWrong}
		}
		for _, r := range p.rules {
			if !r.holds(p, item, v) && !slices.Contains(bad, r.typ) {
				bad = append(bad, r.typ)
			}
		}
	}
	return bad
}

func (r *rule) holds(p *param, text string, v value) bool {
	switch r.typ {
	case wire.ValidationGreaterThan:
		return p.compare(v, r.bound) > 0
	case wire.ValidationLessThan:
		return p.compare(v, r.bound) < 0
	case wire.ValidationInclusion:
		return slices.ContainsFunc(r.values, func(x value) bool { return p.compare(v, x) == 0 })
	case wire.ValidationExclusion:
		return !slices.ContainsFunc(r.values, func(x value) bool { return p.compare(v, x) == 0 })
	case wire.ValidationRegex:
		return r.re.MatchString(text)
	}
	return true
}

// splitList splits a strings value as the generated splitList does.
func splitList(s string) []string {
	var items []string
	for _, item := range strings.Split(s, ",") {
		if item = strings.TrimSpace(item); item != "" {
			items = append(items, item)
		}
	}
	return items
}

// ruleName names a rule as plugin.toml does, or "type" for typeWrong.
func ruleName(t wire.ValidationType) string {
	if t == typeWrong {
		return "type"
	}
	return t.String()
}

// describe says what r demands, for messages, doc comments and the README.
// code quotes a regular expression the way the reader expects it.
func (r *rule) describe(p *param, code func(string) string) string {
	switch r.typ {
	case wire.ValidationGreaterThan:
		return "greater than " + p.GreaterThan
	case wire.ValidationLessThan:
		return "less than " + p.LessThan
	case wire.ValidationInclusion:
		return "one of " + strings.Join(r.texts, ", ")
	case wire.ValidationExclusion:
		return "not one of " + strings.Join(r.texts, ", ")
	}
	return "matching " + code(p.Regex)
}

// ruleTexts describes each of p's rules but required, for doc comments and
// the README. code quotes a regular expression.
func (p *param) ruleTexts(code func(string) string) []string {
	var texts []string
	for i := range p.rules {
		d := p.rules[i].describe(p, code)
		if p.Type == manifest.TypeStrings {
			d = "each item " + d
		}
		texts = append(texts, d)
	}
	return texts
}
