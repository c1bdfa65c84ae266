package acceptance

import (
	"slices"
	"strings"
	"testing"

	"github.com/plugctl/plugctl/wire"
)

func param(typ string, vs ...wire.Validation) wire.Param {
	return wire.Param{Name: "p", Type: typ, Validations: vs}
}

func v(t wire.ValidationType, value string, values ...string) wire.Validation {
	return wire.Validation{Type: t, Value: value, Values: values}
}

func TestSynthesize(t *testing.T) {
	for _, c := range []struct {
		p    wire.Param
		want string
	}{
		{param("string", v(wire.ValidationRegex, "^https?://")), "http://localhost"},
		{param("string", v(wire.ValidationRegex, `^[^@]+@[^@]+\.[a-z]+$`)), "x@y.z"},
		{param("string", v(wire.ValidationInclusion, "", "b", "c"), v(wire.ValidationExclusion, "", "b")), "c"},
		{param("int", v(wire.ValidationGreaterThan, "10"), v(wire.ValidationLessThan, "20")), "11"},
		{param("int", v(wire.ValidationLessThan, "-5")), "-6"},
		{param("float", v(wire.ValidationGreaterThan, "0"), v(wire.ValidationLessThan, "1")), "0.5"},
		{param("duration", v(wire.ValidationGreaterThan, "1s"), v(wire.ValidationLessThan, "3s")), "2s"},
		{param("bool"), "true"},
		{param("strings", v(wire.ValidationRegex, "^[a-z]+$")), "a"},
	} {
		got, ok := synthesize(c.p)
		if !ok || got != c.want {
			t.Errorf("synthesize(%v) = %q, %v; want %q", c.p.Validations, got, ok, c.want)
		}
		if len(problems(c.p, got)) > 0 {
			t.Errorf("synthesized %q breaks %v", got, problems(c.p, got))
		}
	}
	if got, ok := synthesize(param("string", v(wire.ValidationRegex, "^zz[0-9]{40}$"))); ok {
		t.Errorf("synthesize found %q for an unguessable pattern", got)
	}
}

func TestValidConfig(t *testing.T) {
	spec := &wire.Spec{
		Global: []wire.Param{{Name: "g", Type: "int", Default: "4"}},
		Params: []wire.Param{
			{Name: "url", Type: "string", Validations: []wire.Validation{v(wire.ValidationRequired, ""), v(wire.ValidationRegex, "^https://")}},
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
		p    wire.Param
		t    wire.ValidationType
		want string
	}{
		{param("int", v(wire.ValidationGreaterThan, "0")), wire.ValidationGreaterThan, "0"},
		{param("duration", v(wire.ValidationLessThan, "1h")), wire.ValidationLessThan, "1h"},
		{param("int", v(wire.ValidationInclusion, "", "1", "5")), wire.ValidationInclusion, "6"},
		{param("string", v(wire.ValidationInclusion, "", "a")), wire.ValidationInclusion, "plugctl-not-in-list"},
		{param("string", v(wire.ValidationExclusion, "", "legacy")), wire.ValidationExclusion, "legacy"},
		{param("string", v(wire.ValidationRegex, "^https?://")), wire.ValidationRegex, "plugctl acceptance: no match!"},
	} {
		got, ok := violation(c.p, c.t)
		if !ok || got != c.want {
			t.Errorf("violation(%v, %s) = %q, %v; want %q", c.p.Validations, c.t, got, ok, c.want)
		}
	}
	if _, ok := violation(param("int"), wire.ValidationGreaterThan); ok {
		t.Error("violation of a rule the parameter does not have")
	}
}

func TestProblems(t *testing.T) {
	list := param("strings", v(wire.ValidationInclusion, "", "a", "b"))
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
