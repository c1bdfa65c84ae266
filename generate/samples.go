package generate

import (
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

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
	for _, r := range p.rules {
		if t, ok := p.breaking(r.typ); ok {
			out = append(out, badValue{rule: r.typ.String(), text: t})
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
	var lo, hi *value
	for i := range p.rules {
		r := &p.rules[i]
		switch r.typ {
		case wire.ValidationGreaterThan:
			lo = &r.bound
		case wire.ValidationLessThan:
			hi = &r.bound
		}
	}
	if lo != nil && hi != nil {
		cs = append(cs, p.format(p.between(*lo, *hi)))
	}
	for i := range p.rules {
		r := &p.rules[i]
		switch r.typ {
		case wire.ValidationGreaterThan:
			cs = append(cs, p.GreaterThan)
			cs = append(cs, p.format(p.step(r.bound, 1)), p.format(p.step(r.bound, -1)))
		case wire.ValidationLessThan:
			cs = append(cs, p.LessThan)
			cs = append(cs, p.format(p.step(r.bound, 1)), p.format(p.step(r.bound, -1)))
		case wire.ValidationInclusion, wire.ValidationExclusion:
			cs = append(cs, r.texts...)
			for _, v := range r.values {
				cs = append(cs, p.format(p.step(v, 1)), p.format(p.step(v, -1)))
			}
		case wire.ValidationRegex:
			if s, ok := sampleMatch(r.re); ok {
				cs = append(cs, s)
			}
		}
	}
	switch p.itemType() {
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
func (p *param) format(v value) string {
	switch p.itemType() {
	case manifest.TypeInt:
		return strconv.FormatInt(v.i, 10)
	case manifest.TypeFloat:
		return strconv.FormatFloat(v.f, 'g', -1, 64)
	case manifest.TypeBool:
		return strconv.FormatBool(v.b)
	case manifest.TypeDuration:
		return time.Duration(v.i).String()
	}
	return v.s
}

// step moves v a little up (dir 1) or down (dir -1); a string gets a
// suffix or loses its last byte.
func (p *param) step(v value, dir int) value {
	switch p.itemType() {
	case manifest.TypeInt:
		if dir > 0 && v.i < math.MaxInt64 || dir < 0 && v.i > math.MinInt64 {
			v.i += int64(dir)
		}
	case manifest.TypeDuration:
		unit := int64(time.Millisecond)
		if v.i%int64(time.Second) == 0 {
			unit = int64(time.Second)
		}
		if dir > 0 && v.i <= math.MaxInt64-unit || dir < 0 && v.i >= math.MinInt64+unit {
			v.i += int64(dir) * unit
		}
	case manifest.TypeFloat:
		v.f += float64(dir)
	case manifest.TypeBool:
		v.b = !v.b
	default:
		if dir > 0 {
			v.s += "x"
		} else if v.s != "" {
			v.s = v.s[:len(v.s)-1]
		}
	}
	return v
}

// between returns a value between lo and hi, for a parameter with both
// greater_than and less_than.
func (p *param) between(lo, hi value) value {
	if p.itemType() == manifest.TypeFloat {
		return value{f: lo.f/2 + hi.f/2}
	}
	return value{i: lo.i/2 + hi.i/2 + (lo.i%2+hi.i%2)/2}
}

// closestName mirrors the generated closest: the known name nearest to
// name, or "" when none is near enough.
func closestName(name string, known []string) string {
	name = strings.ToLower(name)
	best, bestDist := "", 0
	for _, k := range known {
		if d := editDistance(name, k); d <= max(1, len(k)/3) && (best == "" || d < bestDist) {
			best, bestDist = k, d
		}
	}
	return best
}

// editDistance is the Levenshtein distance between a and b, in bytes.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
