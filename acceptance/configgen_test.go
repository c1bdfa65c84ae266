package acceptance

import (
	"slices"
	"strings"
	"testing"

	"github.com/plugctl/plugctl/sdk"
)

func param(typ string, vs ...sdk.Validation) sdk.Param {
	return sdk.Param{Name: "p", Type: typ, Validations: vs}
}

func v(t sdk.ValidationType, value string, values ...string) sdk.Validation {
	return sdk.Validation{Type: t, Value: value, Values: values}
}

func TestSynthesize(t *testing.T) {
	for _, c := range []struct {
		p    sdk.Param
		want string
	}{
		{param("string", v(sdk.ValidationRegex, "^https?://")), "http://localhost"},
		{param("string", v(sdk.ValidationRegex, `^[^@]+@[^@]+\.[a-z]+$`)), "x@y.z"},
		{param("string", v(sdk.ValidationInclusion, "", "b", "c"), v(sdk.ValidationExclusion, "", "b")), "c"},
		{param("int", v(sdk.ValidationGreaterThan, "10"), v(sdk.ValidationLessThan, "20")), "11"},
		{param("int", v(sdk.ValidationLessThan, "-5")), "-6"},
		{param("float", v(sdk.ValidationGreaterThan, "0"), v(sdk.ValidationLessThan, "1")), "0.5"},
		{param("duration", v(sdk.ValidationGreaterThan, "1s"), v(sdk.ValidationLessThan, "3s")), "2s"},
		{param("bool"), "true"},
		{param("strings", v(sdk.ValidationRegex, "^[a-z]+$")), "a"},
	} {
		got, ok := synthesize(c.p)
		if !ok || got != c.want {
			t.Errorf("synthesize(%v) = %q, %v; want %q", c.p.Validations, got, ok, c.want)
		}
		if len(problems(c.p, got)) > 0 {
			t.Errorf("synthesized %q breaks %v", got, problems(c.p, got))
		}
	}
	if got, ok := synthesize(param("string", v(sdk.ValidationRegex, "^zz[0-9]{40}$"))); ok {
		t.Errorf("synthesize found %q for an unguessable pattern", got)
	}
}

func TestValidConfig(t *testing.T) {
	spec := &sdk.Spec{
		Global: []sdk.Param{{Name: "g", Type: "int", Default: "4"}},
		Params: []sdk.Param{
			{Name: "url", Type: "string", Validations: []sdk.Validation{v(sdk.ValidationRequired, ""), v(sdk.ValidationRegex, "^https://")}},
			{Name: "level", Type: "string", Default: "info"},
			{Name: "opt", Type: "string"},
		},
	}
	c, err := validConfig(spec, map[string]string{"g": "8", "level": "debug"})
	if err != nil {
		t.Fatal(err)
	}
	if c.global["g"] != "8" || c.instance["level"] != "debug" || c.instance["url"] != "https://example.com" {
		t.Errorf("config %+v", c)
	}
	if _, ok := c.instance["opt"]; ok {
		t.Error("optional parameter without default was set")
	}
	spec.Params[0].Validations[1].Value = "^zz[0-9]{40}$"
	if _, err := validConfig(spec, nil); err == nil || !strings.Contains(err.Error(), "--set url=") {
		t.Errorf("err = %v, want a hint to --set url", err)
	}
}

func TestViolation(t *testing.T) {
	for _, c := range []struct {
		p    sdk.Param
		t    sdk.ValidationType
		want string
	}{
		{param("int", v(sdk.ValidationGreaterThan, "0")), sdk.ValidationGreaterThan, "0"},
		{param("duration", v(sdk.ValidationLessThan, "1h")), sdk.ValidationLessThan, "1h"},
		{param("int", v(sdk.ValidationInclusion, "", "1", "5")), sdk.ValidationInclusion, "6"},
		{param("string", v(sdk.ValidationInclusion, "", "a")), sdk.ValidationInclusion, "plugctl-not-in-list"},
		{param("string", v(sdk.ValidationExclusion, "", "legacy")), sdk.ValidationExclusion, "legacy"},
		{param("string", v(sdk.ValidationRegex, "^https?://")), sdk.ValidationRegex, "plugctl acceptance: no match!"},
	} {
		got, ok := violation(c.p, c.t)
		if !ok || got != c.want {
			t.Errorf("violation(%v, %s) = %q, %v; want %q", c.p.Validations, c.t, got, ok, c.want)
		}
	}
	if _, ok := violation(param("int"), sdk.ValidationGreaterThan); ok {
		t.Error("violation of a rule the parameter does not have")
	}
}

func TestProblems(t *testing.T) {
	list := param("strings", v(sdk.ValidationInclusion, "", "a", "b"))
	if got := problems(list, "a,b"); len(got) > 0 {
		t.Errorf("a,b: %v", got)
	}
	if got := problems(list, "a,c"); !slices.Equal(got, []string{"inclusion"}) {
		t.Errorf("a,c: %v", got)
	}
	if got := problems(param("bool"), "TRUE"); len(got) == 0 {
		t.Error("TRUE accepted as a bool; the canonical form is true")
	}
}
