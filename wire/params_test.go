package wire

import (
	"slices"
	"testing"
	"time"
)

func TestParseValue(t *testing.T) {
	for _, c := range []struct {
		typ, text string
		want      Value
		ok        bool
	}{
		{TypeInt, "08", Value{Int: 8}, true},
		{TypeInt, "+3", Value{Int: 3}, true},
		{TypeInt, "1.5", Value{}, false},
		{TypeFloat, "1.5E3", Value{Float: 1500}, true},
		{TypeFloat, "NaN", Value{}, false},
		{TypeFloat, "-Inf", Value{}, false},
		{TypeBool, "T", Value{Bool: true}, true},
		{TypeBool, "yes", Value{}, false},
		{TypeDuration, "1m30s", Value{Int: int64(90 * time.Second)}, true},
		{TypeDuration, "10", Value{}, false},
		{TypeStrings, "a b", Value{Text: "a b"}, true},
		{TypeString, "", Value{}, true},
	} {
		got, ok := ParseValue(c.typ, c.text)
		if ok != c.ok || ok && got != c.want {
			t.Errorf("ParseValue(%s, %q) = %+v, %v; want %+v, %v", c.typ, c.text, got, ok, c.want, c.ok)
		}
	}
	if got := FormatValue(TypeDuration, Value{Int: int64(90 * time.Second)}); got != "1m30s" {
		t.Errorf("FormatValue(90s) = %q", got)
	}
	if got := FormatValue(TypeFloat, Value{Float: 1e6}); got != "1e+06" {
		t.Errorf("FormatValue(1e6) = %q", got)
	}
}

func TestRulesCheck(t *testing.T) {
	rs, err := ParseRules(Param{Name: "n", Type: TypeInt, Validations: []Validation{
		{Type: ValidationRequired},
		{Type: ValidationGreaterThan, Value: "0"},
		{Type: ValidationLessThan, Value: "10"},
		{Type: ValidationExclusion, Values: []string{"7"}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	if !rs.Required {
		t.Error("required is lost")
	}
	for text, want := range map[string][]ValidationType{
		"5":  nil,
		"0":  {ValidationGreaterThan},
		"10": {ValidationLessThan},
		"07": {ValidationExclusion},
	} {
		if got, ok := rs.Check(text); !ok || !slices.Equal(got, want) {
			t.Errorf("Check(%q) = %v, %v; want %v", text, got, ok, want)
		}
	}
	if _, ok := rs.Check("1.5"); ok {
		t.Error("1.5 passes as an int")
	}

	list, err := ParseRules(Param{Type: TypeStrings, Validations: []Validation{
		{Type: ValidationInclusion, Values: []string{"a", "b"}},
		{Type: ValidationRegex, Value: "^[a-z]$"},
	}})
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := list.Check(" a , b ,, "); len(got) != 0 {
		t.Errorf("a valid list breaks %v", got)
	}
	if got, _ := list.Check("a,zz,zz"); !slices.Equal(got, []ValidationType{ValidationInclusion, ValidationRegex}) {
		t.Errorf("Check(a,zz,zz) = %v", got)
	}

	for _, p := range []Param{
		{Type: "text"},
		{Type: TypeString, Validations: []Validation{{Type: ValidationGreaterThan, Value: "a"}}},
		{Type: TypeInt, Validations: []Validation{{Type: ValidationLessThan, Value: "1s"}}},
		{Type: TypeDuration, Validations: []Validation{{Type: ValidationInclusion, Values: []string{"1"}}}},
		{Type: TypeString, Validations: []Validation{{Type: ValidationRegex, Value: "("}}},
	} {
		if _, err := ParseRules(p); err == nil {
			t.Errorf("ParseRules(%+v) accepted it", p)
		}
	}
}

func TestSplitList(t *testing.T) {
	if got := SplitList(" a, b ,,c "); !slices.Equal(got, []string{"a", "b", "c"}) {
		t.Errorf("SplitList = %q", got)
	}
	if got := SplitList(" , "); got != nil {
		t.Errorf("SplitList of nothing = %q", got)
	}
}

func TestClosest(t *testing.T) {
	known := []string{"interval", "level", "url"}
	for name, want := range map[string]string{"intervall": "interval", "LEVEL": "level", "ulr": "url", "urls": "url", "x": "", "mode": ""} {
		if got := Closest(name, known); got != want {
			t.Errorf("Closest(%q) = %q, want %q", name, got, want)
		}
	}
	for _, c := range []struct {
		a, b string
		want int
	}{{"kitten", "sitting", 3}, {"tpye", "type", 1}, {"", "abc", 3}} {
		if d := EditDistance(c.a, c.b); d != c.want {
			t.Errorf("EditDistance(%s, %s) = %d, want %d", c.a, c.b, d, c.want)
		}
	}
}
