package generate

import (
	"math"
	"slices"
	"strings"
	"time"

	"github.com/plugctl/plugctl/internal/regexsample"
	"github.com/plugctl/plugctl/manifest"
	"github.com/plugctl/plugctl/wire"
)

// The generated tests need values that a parameter accepts and values that
// break each of its rules. They are found by trying candidates against
// param.check, which mirrors the generated parsing; the generated tests
// then confirm that the generated code agrees.

// badValue is a setting that a parameter must refuse.
type badValue struct {
	rule string // what it breaks: "required", "type" or a validation name
	text string // empty: the setting is left out
}

// validValue returns a value p accepts, preferring its default.
func (p *param) validValue() (string, bool) {
	for _, c := range p.candidates() {
		if c != "" && len(p.check(c)) == 0 {
			return c, true
		}
	}
	return "", false
}

// badValues returns a setting breaking each of p's rules, where one can be
// found, each breaking no other rule when possible.
func (p *param) badValues() []badValue {
	var out []badValue
	if p.Required {
		out = append(out, badValue{rule: "required"})
	}
	if t := p.wrongType(); t != "" {
		out = append(out, badValue{rule: "type", text: t})
	}
	for _, r := range p.rules.List {
		if t, ok := p.breaking(r.Type); ok {
			out = append(out, badValue{rule: r.Type.String(), text: t})
		}
	}
	return out
}

// breaking returns a value that breaks rule t.
func (p *param) breaking(t wire.ValidationType) (string, bool) {
	fallback := ""
	for _, c := range p.candidates() {
		if c == "" {
			continue
		}
		bad := p.check(c)
		if !slices.Contains(bad, t) {
			continue
		}
		if len(bad) == 1 {
			return c, true
		}
		if fallback == "" {
			fallback = c
		}
	}
	return fallback, fallback != ""
}

// wrongType is a plausible mistake that does not convert to p's type, or
// "" for string types, which take anything.
func (p *param) wrongType() string {
	switch p.Type {
	case manifest.TypeInt:
		return "1.5"
	case manifest.TypeFloat:
		return "1,5"
	case manifest.TypeBool:
		return "yes"
	case manifest.TypeDuration:
		return "10" // a number without its unit
	}
	return ""
}

// secretProbe is the value set for a secret parameter in the test that its
// value never shows in an error: a distinctive value that breaks one of the
// parameter's rules where one can, so that its problem is reported and the
// message checked.
func (p *param) secretProbe() string {
	name := strings.ReplaceAll(p.Name, ".", "-")
	probes := []string{"s3cr3t-" + name, "S3CR3T " + name + "!", "s3cr3t" + strings.ReplaceAll(name, "-", "")}
	for _, probe := range probes {
		if len(p.check(probe)) > 0 {
			return probe
		}
	}
	return probes[0]
}

// candidates are values worth trying: the default, values at and around
// each rule's bounds and lists, and a few ordinary ones of the type.
func (p *param) candidates() []string {
	var cs []string
	if p.def != "" {
		cs = append(cs, p.def)
	}
	var lo, hi *wire.Value
	for i := range p.rules.List {
		r := &p.rules.List[i]
		switch r.Type {
		case wire.ValidationGreaterThan:
			lo = &r.Bound
		case wire.ValidationLessThan:
			hi = &r.Bound
		}
	}
	if lo != nil && hi != nil {
		cs = append(cs, p.format(p.between(*lo, *hi)))
	}
	for i := range p.rules.List {
		r := &p.rules.List[i]
		switch r.Type {
		case wire.ValidationGreaterThan, wire.ValidationLessThan:
			cs = append(cs, r.Value)
			cs = append(cs, p.format(p.step(r.Bound, 1)), p.format(p.step(r.Bound, -1)))
		case wire.ValidationInclusion, wire.ValidationExclusion:
			cs = append(cs, r.Values...)
			for _, v := range r.Items {
				cs = append(cs, p.format(p.step(v, 1)), p.format(p.step(v, -1)))
			}
		case wire.ValidationRegex:
			if s, ok := regexsample.Match(r.Regexp); ok {
				cs = append(cs, s)
			}
		}
	}
	switch wire.ItemType(p.Type) {
	case manifest.TypeInt:
		cs = append(cs, "1", "0", "10", "100", "-1")
	case manifest.TypeFloat:
		cs = append(cs, "1", "0.5", "0", "100", "-1")
	case manifest.TypeBool:
		cs = append(cs, "true", "false")
	case manifest.TypeDuration:
		cs = append(cs, "1s", "1ms", "1m", "1h", "0s")
	default:
		cs = append(cs, "example", "https://example.com", "a", "x", "0", "other", "!", "~")
	}
	return cs
}

// format writes v of p's item type as a setting would hold it.
func (p *param) format(v wire.Value) string { return wire.FormatValue(p.Type, v) }

// step moves v a little up (dir 1) or down (dir -1); a string gets a
// suffix or loses its last byte.
func (p *param) step(v wire.Value, dir int) wire.Value {
	switch wire.ItemType(p.Type) {
	case manifest.TypeInt:
		if dir > 0 && v.Int < math.MaxInt64 || dir < 0 && v.Int > math.MinInt64 {
			v.Int += int64(dir)
		}
	case manifest.TypeDuration:
		unit := int64(time.Millisecond)
		if v.Int%int64(time.Second) == 0 {
			unit = int64(time.Second)
		}
		if dir > 0 && v.Int <= math.MaxInt64-unit || dir < 0 && v.Int >= math.MinInt64+unit {
			v.Int += int64(dir) * unit
		}
	case manifest.TypeFloat:
		v.Float += float64(dir)
	case manifest.TypeBool:
		v.Bool = !v.Bool
	default:
		if dir > 0 {
			v.Text += "x"
		} else if v.Text != "" {
			v.Text = v.Text[:len(v.Text)-1]
		}
	}
	return v
}

// between returns a value between lo and hi, for a parameter with both
// greater_than and less_than.
func (p *param) between(lo, hi wire.Value) wire.Value {
	if wire.ItemType(p.Type) == manifest.TypeFloat {
		return wire.Value{Float: lo.Float/2 + hi.Float/2}
	}
	return wire.Value{Int: lo.Int/2 + hi.Int/2 + (lo.Int%2+hi.Int%2)/2}
}
