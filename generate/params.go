package generate

import (
	"fmt"
	"slices"
	"strings"

	"github.com/plugctl/plugctl/manifest"
	"github.com/plugctl/plugctl/wire"
)

// param is one parameter with its default and rules parsed, so that the
// generated code, its tests and the README are built from one reading.
type param struct {
	manifest.Param
	scope  string // "config" or "global", as in plugin.toml
	goName string
	def    string     // the default; empty when there is none
	rules  wire.Rules // parsed from the Spec's validations, as the SDK parses them
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

// parse parses the rules as the SDK does, refusing what the generated
// plugin could not check.
func (p *param) parse() error {
	if p.HasDefault {
		p.def = p.Default
	}
	if p.Required && p.def != "" {
		return fmt.Errorf("required and default are both set")
	}
	var err error
	if p.rules, err = wire.ParseRules(p.Spec()); err != nil {
		return err
	}
	if p.def != "" {
		if bad := p.check(p.def); len(bad) > 0 {
			return fmt.Errorf("default %q breaks its own rule %s", p.def, ruleName(bad[0]))
		}
	}
	return nil
}

// convert converts one value (an item, for strings) as the SDK does.
func (p *param) convert(text string) (wire.Value, bool) { return wire.ParseValue(p.Type, text) }

// check returns the rules a set value breaks, as the SDK checks it:
// typeWrong alone when it does not convert.
func (p *param) check(text string) []wire.ValidationType {
	bad, ok := p.rules.Check(text)
	if !ok {
		return []wire.ValidationType{typeWrong}
	}
	return bad
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
func describe(r *wire.Rule, p *param, code func(string) string) string {
	switch r.Type {
	case wire.ValidationGreaterThan:
		return "greater than " + p.GreaterThan
	case wire.ValidationLessThan:
		return "less than " + p.LessThan
	case wire.ValidationInclusion:
		return "one of " + strings.Join(r.Values, ", ")
	case wire.ValidationExclusion:
		return "not one of " + strings.Join(r.Values, ", ")
	}
	return "matching " + code(p.Regex)
}

// ruleTexts describes each of p's rules but required, for doc comments and
// the README. code quotes a regular expression.
func (p *param) ruleTexts(code func(string) string) []string {
	var texts []string
	for i := range p.rules.List {
		d := describe(&p.rules.List[i], p, code)
		if p.Type == manifest.TypeStrings {
			d = "each item " + d
		}
		texts = append(texts, d)
	}
	return texts
}
