package wire

import (
	"cmp"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// This file holds the rules of parameter values (PROTOCOL.md §4.7): how a
// value of each type is parsed, compared and written, how a strings value
// splits into items, and when a value passes a Validation. They are written
// once here and used by every side that handles values: the SDK checking a
// plugin's settings, the manifest checking defaults and bounds, the
// generator choosing sample values, and the acceptance checks deriving
// configurations.

// Parameter types, the values of Param.Type.
const (
	TypeString   = "string"
	TypeInt      = "int"
	TypeFloat    = "float"
	TypeBool     = "bool"
	TypeDuration = "duration"
	TypeStrings  = "strings" // a list, travelling as items joined with ','
)

// Value is one parsed value of a parameter, one item of a strings
// parameter: Int holds an int and a duration's nanoseconds, Float a float,
// Bool a bool and Text a string. Only the member of the value's type is
// set.
type Value struct {
	Int   int64
	Float float64
	Bool  bool
	Text  string
}

// ItemType is the type of one value of a typ parameter: the items of a
// strings parameter are strings.
func ItemType(typ string) string {
	if typ == TypeStrings {
		return TypeString
	}
	return typ
}

// ParseValue parses text as one value of a typ parameter (one item, for
// strings) in every form a plugin accepts. ok is false when text is not of
// that type; NaN and the infinities are no float. An unknown type takes
// any text, as a string.
func ParseValue(typ, text string) (v Value, ok bool) {
	switch ItemType(typ) {
	case TypeInt:
		n, err := strconv.Atoi(text)
		return Value{Int: int64(n)}, err == nil
	case TypeFloat:
		f, err := strconv.ParseFloat(text, 64)
		return Value{Float: f}, err == nil && !math.IsNaN(f) && !math.IsInf(f, 0)
	case TypeBool:
		b, err := strconv.ParseBool(text)
		return Value{Bool: b}, err == nil
	case TypeDuration:
		d, err := time.ParseDuration(text)
		return Value{Int: int64(d)}, err == nil
	}
	return Value{Text: text}, true
}

// FormatValue writes v, a value of a typ parameter (an item, for strings),
// in canonical form.
func FormatValue(typ string, v Value) string {
	switch ItemType(typ) {
	case TypeInt:
		return strconv.FormatInt(v.Int, 10)
	case TypeFloat:
		return strconv.FormatFloat(v.Float, 'g', -1, 64)
	case TypeBool:
		return strconv.FormatBool(v.Bool)
	case TypeDuration:
		return time.Duration(v.Int).String()
	}
	return v.Text
}

// CompareValues orders two values of a typ parameter: numerically for int
// and float, as durations, and by text for strings. Bools are only equal
// (0) or not (1).
func CompareValues(typ string, a, b Value) int {
	switch ItemType(typ) {
	case TypeInt, TypeDuration:
		return cmp.Compare(a.Int, b.Int)
	case TypeFloat:
		return cmp.Compare(a.Float, b.Float)
	case TypeBool:
		if a.Bool == b.Bool {
			return 0
		}
		return 1
	}
	return strings.Compare(a.Text, b.Text)
}

// SplitList splits the value of a strings parameter at its commas,
// trimming the space around each item and dropping empty ones.
func SplitList(s string) []string {
	var items []string
	for _, item := range strings.Split(s, ",") {
		if item = strings.TrimSpace(item); item != "" {
			items = append(items, item)
		}
	}
	return items
}

// Rule is one validation other than required, parsed for checking values:
// its bound or list converted to the parameter's item type, its pattern
// compiled.
type Rule struct {
	Validation
	Bound  Value          // greater_than, less_than
	Items  []Value        // inclusion, exclusion
	Regexp *regexp.Regexp // regex
}

// Rules are a parameter's validations, parsed: Required, and the other
// rules in the order of Param.Validations.
type Rules struct {
	Type     string
	Required bool
	List     []Rule
}

// ParseRules parses the validations of p. It fails when a rule does not
// apply to p's type, a bound or list item is not of it, or a pattern does
// not compile; a plugin built from a checked manifest has none of these.
// A validation of an unknown type is left out: it cannot be checked, and
// a SPEC that holds one is shown, not rejected.
func ParseRules(p Param) (Rules, error) {
	rs := Rules{Type: p.Type}
	switch p.Type {
	case TypeString, TypeInt, TypeFloat, TypeBool, TypeDuration, TypeStrings:
	default:
		return rs, fmt.Errorf("unknown type %q", p.Type)
	}
	for _, v := range p.Validations {
		r := Rule{Validation: v}
		switch v.Type {
		case ValidationRequired:
			rs.Required = true
			continue
		case ValidationGreaterThan, ValidationLessThan:
			switch p.Type {
			case TypeInt, TypeFloat, TypeDuration:
			default:
				return rs, fmt.Errorf("greater_than and less_than apply to int, float and duration parameters, not %s", p.Type)
			}
			b, ok := ParseValue(p.Type, v.Value)
			if !ok {
				return rs, fmt.Errorf("bound %q is not of type %s", v.Value, p.Type)
			}
			r.Bound = b
		case ValidationInclusion, ValidationExclusion:
			for _, text := range v.Values {
				item, ok := ParseValue(p.Type, text)
				if !ok {
					return rs, fmt.Errorf("value %q is not of type %s", text, ItemType(p.Type))
				}
				r.Items = append(r.Items, item)
			}
		case ValidationRegex:
			re, err := regexp.Compile(v.Value)
			if err != nil {
				return rs, fmt.Errorf("regex: %w", err)
			}
			r.Regexp = re
		default:
			continue
		}
		rs.List = append(rs.List, r)
	}
	return rs, nil
}

// Holds reports whether one value (an item, for strings), given as text
// and parsed as v, passes r: a bound compares the parsed value, a list
// holds parsed values (so 08 equals 8 for an int), a pattern matches the
// text.
func (r *Rule) Holds(typ, text string, v Value) bool {
	in := func() bool {
		for _, x := range r.Items {
			if CompareValues(typ, v, x) == 0 {
				return true
			}
		}
		return false
	}
	switch r.Type {
	case ValidationGreaterThan:
		return CompareValues(typ, v, r.Bound) > 0
	case ValidationLessThan:
		return CompareValues(typ, v, r.Bound) < 0
	case ValidationInclusion:
		return in()
	case ValidationExclusion:
		return !in()
	case ValidationRegex:
		return r.Regexp.MatchString(text)
	}
	return true
}

// Items splits a set value into the values its rules apply to: the
// value itself, or the items of a strings value.
func (rs *Rules) Items(text string) []string {
	if rs.Type == TypeStrings {
		return SplitList(text)
	}
	return []string{text}
}

// Check returns the rules a set (non-empty) value breaks, each once, in
// the order of the rules; ok is false, and nothing else is checked, when
// the value (an item of it) is not of the parameter's type.
func (rs *Rules) Check(text string) (broken []ValidationType, ok bool) {
	for _, item := range rs.Items(text) {
		v, ok := ParseValue(rs.Type, item)
		if !ok {
			return nil, false
		}
		for i := range rs.List {
			r := &rs.List[i]
			if !r.Holds(rs.Type, item, v) && !contains(broken, r.Type) {
				broken = append(broken, r.Type)
			}
		}
	}
	return broken, true
}

func contains(ts []ValidationType, t ValidationType) bool {
	for _, x := range ts {
		if x == t {
			return true
		}
	}
	return false
}

// EditDistance is the optimal string alignment distance between a and b:
// the number of inserted, deleted, replaced or swapped adjacent bytes that
// turns a into b. A swap counts once because "tpye" is one slip of the
// fingers, not two.
func EditDistance(a, b string) int {
	// d[i][j] is the distance between a[:i] and b[:j].
	d := make([][]int, len(a)+1)
	for i := range d {
		d[i] = make([]int, len(b)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(a); i++ {
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(a)][len(b)]
}

// Closest returns the candidate nearest to word (compared in lower case)
// within an edit distance of a third of the candidate's length, at least
// 1, or "" when none is that near: the "did you mean" of an unknown name.
func Closest(word string, candidates []string) string {
	word = strings.ToLower(word)
	best, bestDist := "", 0
	for _, c := range candidates {
		if d := EditDistance(word, c); d <= max(1, len(c)/3) && (best == "" || d < bestDist) {
			best, bestDist = c, d
		}
	}
	return best
}
