package acceptance

import (
	"errors"
	"reflect"
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
		{param("string", v(wire.ValidationRequired, "")), "plugctl-acceptance"},
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
	if got, ok := synthesize(param("string", v(wire.ValidationRegex, `^a\bb$`))); ok {
		t.Errorf("synthesize found %q for a pattern nothing matches", got)
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
	c, err := validConfig(spec, map[string]string{"g": "8", "level": "debug"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.global["g"] != "8" || c.instance["level"] != "debug" || c.instance["url"] != "https://example.com" {
		t.Errorf("config %+v", c)
	}
	if _, ok := c.instance["opt"]; ok {
		t.Error("optional parameter without default was set")
	}
	c, err = validConfig(spec, map[string]string{"level": "debug"}, map[string]string{"url": "https://api.test", "level": "warn", "opt": "x"})
	if err != nil || c.instance["url"] != "https://api.test" || c.instance["level"] != "debug" || c.instance["opt"] != "x" {
		t.Errorf("with examples: %+v, %v; want the examples under the user's settings", c, err)
	}
	spec.Params[0].Validations[1].Value = `^a\bb$` // nothing matches
	_, err = validConfig(spec, nil, nil)
	var s *skipped
	if !errors.As(err, &s) || !strings.Contains(err.Error(), "--set url=VALUE") || !slices.Equal(s.missing, []string{"url"}) {
		t.Errorf("err = %v, want a skip for want of url, with a hint to --set url", err)
	}
}

func TestSynthesizeFromPattern(t *testing.T) {
	p := param("string", v(wire.ValidationRequired, ""), v(wire.ValidationRegex, `^acct-[0-9]{6}$`))
	if got, ok := synthesize(p); !ok || got != "acct-000000" {
		t.Errorf("synthesize = %q, %v; want a match built from the pattern", got, ok)
	}
}

// TestRuleProbes: both sides of each rule, every value checked against
// every rule of the parameter.
func TestRuleProbes(t *testing.T) {
	for _, c := range []struct {
		p              wire.Param
		t              wire.ValidationType
		base           string
		reject, accept []string
	}{
		{param("int", v(wire.ValidationGreaterThan, "0")), wire.ValidationGreaterThan, "", []string{"0", "-1", "-1000000"}, []string{"1"}},
		{param("int", v(wire.ValidationGreaterThan, "0"), v(wire.ValidationLessThan, "10")), wire.ValidationLessThan, "", []string{"10", "11", "1000010"}, []string{"9", "5"}},
		{param("duration", v(wire.ValidationGreaterThan, "10ms")), wire.ValidationGreaterThan, "", []string{"10ms", "9.999999ms", "-59m59.99s"}, []string{"10.000001ms"}},
		{param("float", v(wire.ValidationLessThan, "1")), wire.ValidationLessThan, "", []string{"1", "1.0000000000000002", "1.000001e+06"}, []string{"0.9999999999999999"}},
		{param("int", v(wire.ValidationGreaterThan, "-9223372036854775808")), wire.ValidationGreaterThan, "", []string{"-9223372036854775808"}, []string{"-9223372036854775807"}},
		{param("string", v(wire.ValidationInclusion, "", "debug", "info")), wire.ValidationInclusion, "info",
			[]string{"plugctl-not-in-list", "x", "xdebug", "debugx", "debu", "ebug", "xinfo", "infox", "inf", "nfo"}, []string{"debug", "info"}},
		{param("strings", v(wire.ValidationInclusion, "", "a", "b")), wire.ValidationInclusion, "",
			[]string{"plugctl-not-in-list", "x", "xa", "ax", "xb", "bx"}, []string{"a", "b", "a,b"}},
		{param("int", v(wire.ValidationInclusion, "", "10", "20")), wire.ValidationInclusion, "", []string{"21", "1", "0", "2"}, []string{"10", "20"}},
		{param("string", v(wire.ValidationExclusion, "", "legacy")), wire.ValidationExclusion, "", []string{"legacy"}, []string{"xlegacy", "legacyx", "legac", "egacy"}},
		{param("string", v(wire.ValidationExclusion, "", "plugin.jsonl"), v(wire.ValidationRegex, `\.jsonl$`)), wire.ValidationExclusion, "",
			[]string{"plugin.jsonl"}, []string{"xplugin.jsonl", "lugin.jsonl"}},
		{param("string", v(wire.ValidationRegex, `\.jsonl$`)), wire.ValidationRegex, "events.jsonl",
			[]string{"plugctl acceptance: no match!", "a", "0", "-", "http://localhost", "events.jsonlx", "xevents.jsonlx", ".jsonlx", "x.jsonlx"},
			[]string{"events.jsonl", "xevents.jsonl", ".jsonl", "x.jsonl"}},
	} {
		r := rule(c.p, c.t)
		reject, accept := ruleProbes(c.p, r, c.base)
		if !slices.Equal(reject, c.reject) || !slices.Equal(accept, c.accept) {
			t.Errorf("%s %v: reject %q accept %q; want %q and %q", c.p.Type, c.p.Validations, reject, accept, c.reject, c.accept)
		}
		for _, x := range reject {
			if !slices.Contains(problems(c.p, x), c.t.String()) {
				t.Errorf("%s %v: %q does not break %s", c.p.Type, c.p.Validations, x, c.t)
			}
		}
		for _, x := range accept {
			if len(problems(c.p, x)) > 0 {
				t.Errorf("%s %v: %q breaks %v", c.p.Type, c.p.Validations, x, problems(c.p, x))
			}
		}
	}
}

func TestEdgeProbes(t *testing.T) {
	for _, c := range []struct {
		p    wire.Param
		want []string
	}{
		{param("int"), []string{"9223372036854775807", "-9223372036854775808", ""}},
		{param("int", v(wire.ValidationLessThan, "100")), []string{"-9223372036854775808", ""}},
		{param("duration", v(wire.ValidationGreaterThan, "-1m")), []string{"2562047h47m16.854775807s", "-1s", ""}},
		{param("bool", v(wire.ValidationRequired, "")), []string{"true", "false"}},
		{param("strings", v(wire.ValidationRegex, "^[a-z]+$")), []string{"a", "a,uquugbml,derlydku", ""}},
		{wire.Param{Name: "p", Type: "string", Default: "info"}, []string{"info", ""}},
	} {
		got := edgeProbes(c.p, "")
		if !slices.Equal(got[:min(len(got), 1)], c.want[:1]) || len(got) != len(c.want) {
			t.Errorf("edgeProbes(%s %v) = %q, want %q", c.p.Type, c.p.Validations, got, c.want)
		}
		for _, x := range got {
			if len(problems(c.p, x)) > 0 {
				t.Errorf("%s: %q breaks %v", c.p.Type, x, problems(c.p, x))
			}
		}
	}
}

func TestNearby(t *testing.T) {
	for _, c := range []struct {
		p         wire.Param
		cur, want string
	}{
		{param("string", v(wire.ValidationRegex, `\.jsonl$`), v(wire.ValidationExclusion, "", "plugin.jsonl")), "events.jsonl", "events2.jsonl"},
		{param("string", v(wire.ValidationRegex, `^[a-z ]+$`)), "hello", "helloo"},
		{param("string"), "fast", "fast2"},
	} {
		if got := nearby(c.p, c.cur); len(got) == 0 || got[0] != c.want {
			t.Errorf("nearby(%v, %q) = %q, want %q first", c.p.Validations, c.cur, got, c.want)
		}
	}
	if got := nearby(param("string", v(wire.ValidationRegex, "^x$")), "x"); len(got) > 0 {
		t.Errorf("nearby of the only value the pattern allows: %q", got)
	}
}

func TestSecretValue(t *testing.T) {
	const token = "s3cr3t-0123abcd"
	for _, c := range []struct {
		p         wire.Param
		want      bool
		withToken bool // the value must hold the token
	}{
		{param("string"), true, true},
		{param("string", v(wire.ValidationRegex, "^https://")), true, true},
		{param("string", v(wire.ValidationRegex, "^tok_[a-z0-9]{8,}$")), true, false}, // a random match
		{param("string", v(wire.ValidationRegex, "^[0-9]{4}$")), false, false},        // too little room to tell it apart
		// Patterns that fix only a prefix, a suffix or a part take the token beside.
		{param("string", v(wire.ValidationRegex, "^ghp_")), true, true},
		{param("string", v(wire.ValidationRegex, "^sk-")), true, true},
		{param("string", v(wire.ValidationRegex, "^Bearer ")), true, true},
		{param("string", v(wire.ValidationRegex, "tok")), true, true},
		{param("string", v(wire.ValidationRegex, "_key$")), true, true},
	} {
		got, ok := secretValue(c.p, token)
		if ok != c.want || ok && (len(problems(c.p, got)) > 0 || c.withToken && !strings.Contains(got, token)) {
			t.Errorf("secretValue(%v) = %q, %v; want found %v, passing the rules, holding the token %v", c.p.Validations, got, ok, c.want, c.withToken)
		}
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

// TestSecondConfig: instance 2 differs in one value within its rules, never
// in one the user set, a duration or a secret; the user's own
// configuration for it wins.
func TestSecondConfig(t *testing.T) {
	spec := fixtureManifest("sink").Spec()
	base, err := validConfig(&spec, map[string]string{"level": "warn"}, examples(fixtureManifest("sink")))
	if err != nil {
		t.Fatal(err)
	}
	run := &checkRun{env: &env{spec: spec, given: map[string]bool{"level": true}}}
	c2, err := run.secondConfig(base)
	if err != nil {
		t.Fatal(err)
	}
	var changed []string
	for k, v := range c2.instance {
		if base.instance[k] != v {
			changed = append(changed, k)
			if p := findParam(spec.Params, k); len(problems(*p, v)) > 0 {
				t.Errorf("instance 2's %s = %q breaks %v", k, v, problems(*p, v))
			}
		}
	}
	if !slices.Equal(changed, []string{"mode"}) || c2.instance["mode"] != "fast2" {
		t.Errorf("instance 2 changes %v (mode %q), want only mode, to fast2: level is the user's, auth.token a secret", changed, c2.instance["mode"])
	}
	given := config{global: map[string]string{}, instance: map[string]string{"burst": "5"}}
	run.env.second = &given
	if c2, _ := run.secondConfig(base); !reflect.DeepEqual(c2, given) {
		t.Errorf("instance 2 = %+v, want the configuration given for it", c2)
	}
}
