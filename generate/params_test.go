package generate

import (
	"slices"
	"strings"
	"testing"
	"time"
	"unicode"

	"github.com/dave/jennifer/jen"

	"github.com/plugctl/plugctl/manifest"
	"github.com/plugctl/plugctl/wire"
)

func newParam(t *testing.T, mp manifest.Param) *param {
	t.Helper()
	ps, err := newParams("config", []manifest.Param{mp})
	if err != nil {
		t.Fatal(err)
	}
	return ps[0]
}

func TestParamCheck(t *testing.T) {
	p := newParam(t, manifest.Param{Name: "n", Type: manifest.TypeInt,
		HasGreaterThan: true, GreaterThan: "0", HasLessThan: true, LessThan: "10", Exclusion: []string{"7"}})
	for text, want := range map[string][]wire.ValidationType{
		"5":   nil,
		"0":   {wire.ValidationGreaterThan},
		"10":  {wire.ValidationLessThan},
		"7":   {wire.ValidationExclusion},
		"1.5": {typeWrong},
	} {
		if got := p.check(text); !slices.Equal(got, want) {
			t.Errorf("check(%q) = %v, want %v", text, got, want)
		}
	}

	list := newParam(t, manifest.Param{Name: "l", Type: manifest.TypeStrings, Inclusion: []string{"a", "b"}, Regex: "^[a-z]$"})
	if got := list.check(" a , b ,, "); len(got) != 0 {
		t.Errorf("check of a valid list = %v", got)
	}
	if got := list.check("a,zz"); !slices.Equal(got, []wire.ValidationType{wire.ValidationInclusion, wire.ValidationRegex}) {
		t.Errorf("check(a,zz) = %v", got)
	}

	d := newParam(t, manifest.Param{Name: "d", Type: manifest.TypeDuration, Inclusion: []string{"1m30s"}})
	if got := d.check("90s"); len(got) != 0 {
		t.Errorf("90s is not 1m30s: %v", got)
	}
	f := newParam(t, manifest.Param{Name: "f", Type: manifest.TypeFloat})
	if got := f.check("NaN"); !slices.Equal(got, []wire.ValidationType{typeWrong}) {
		t.Errorf("NaN is accepted as a float: %v", got)
	}
}

// TestTestValues checks the values the generated tests are built on: a
// valid one is valid, and each bad one breaks the rule it is meant to.
func TestTestValues(t *testing.T) {
	for _, mp := range []manifest.Param{
		{Name: "url", Type: manifest.TypeString, Required: true, Regex: `^https?://[a-z.]+(:\d+)?/$`},
		{Name: "token", Type: manifest.TypeString, Required: true, Secret: true, Regex: `^[A-Za-z0-9]{8,}$`},
		{Name: "n", Type: manifest.TypeInt, Required: true, HasGreaterThan: true, GreaterThan: "10", HasLessThan: true, LessThan: "12"},
		{Name: "f", Type: manifest.TypeFloat, Required: true, HasGreaterThan: true, GreaterThan: "0", HasLessThan: true, LessThan: "0.001"},
		{Name: "d", Type: manifest.TypeDuration, Required: true, HasGreaterThan: true, GreaterThan: "1h", Exclusion: []string{"2h"}},
		{Name: "level", Type: manifest.TypeString, Required: true, Inclusion: []string{"debug", "info"}},
		{Name: "b", Type: manifest.TypeBool, Required: true},
		{Name: "tags", Type: manifest.TypeStrings, Required: true, Regex: "^[a-z]+$", Exclusion: []string{"x"}},
	} {
		p := newParam(t, mp)
		v, ok := p.validValue()
		if !ok || len(p.check(v)) > 0 {
			t.Errorf("%s: validValue = %q, %v; check gives %v", p.Name, v, ok, p.check(v))
		}
		bad := p.badValues()
		if len(bad) == 0 || bad[0].rule != "required" || bad[0].text != "" {
			t.Errorf("%s: the first bad value should leave the parameter out: %v", p.Name, bad)
		}
		for _, b := range bad[1:] {
			broken := p.check(b.text)
			if len(broken) == 0 || ruleName(broken[0]) != b.rule && !slices.ContainsFunc(broken, func(v wire.ValidationType) bool { return v.String() == b.rule }) {
				t.Errorf("%s: bad value %q for %s breaks %v", p.Name, b.text, b.rule, broken)
			}
		}
		if got := len(bad) - 1; got != len(p.rules.List)+btoi(p.wrongType() != "") {
			t.Errorf("%s: %d bad values for %d rules: %v", p.Name, got, len(p.rules.List), bad)
		}
		if p.Secret && len(p.check(p.secretProbe())) == 0 {
			t.Errorf("%s: secret probe %q is accepted", p.Name, p.secretProbe())
		}
	}
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

func TestDurationCode(t *testing.T) {
	for d, want := range map[time.Duration]string{
		0:                       "0",
		time.Hour:               "time.Hour",
		90 * time.Second:        "90 * time.Second",
		-5 * time.Millisecond:   "-5 * time.Millisecond",
		1500 * time.Microsecond: "1500 * time.Microsecond",
		7:                       "7 * time.Nanosecond",
	} {
		if got := jen.Add(durationCode(d)).GoString(); got != want {
			t.Errorf("durationCode(%v) = %s, want %s", d, got, want)
		}
	}
}

func TestWrap(t *testing.T) {
	got := wrap("one two three four\n\nfive  six", 9)
	want := []string{"one two", "three", "four", "", "five six"}
	if !slices.Equal(got, want) {
		t.Errorf("wrap = %q, want %q", got, want)
	}
}

func TestGroupImports(t *testing.T) {
	src := "package main\n\nimport (\n\t\"example.com/x/internal/sdk\"\n\t\"strconv\"\n\t\"time\"\n)\n\nfunc f() {}\n"
	want := "package main\n\nimport (\n\t\"strconv\"\n\t\"time\"\n\n\t\"example.com/x/internal/sdk\"\n)\n\nfunc f() {}\n"
	if got := string(groupImports([]byte(src))); got != want {
		t.Errorf("groupImports =\n%s\nwant\n%s", got, want)
	}
	single := "package main\n\nimport \"time\"\n"
	if got := string(groupImports([]byte(single))); got != single {
		t.Errorf("groupImports changed a single import: %q", got)
	}
}

func TestStringCode(t *testing.T) {
	for s, want := range map[string]string{
		`^\d+$`:    "`^\\d+$`",
		"^[a-z]+$": `"^[a-z]+$"`,
		"a`b\\":    "\"a`b\\\\\"",
	} {
		if got := jen.Add(stringCode(s)).GoString(); got != want {
			t.Errorf("stringCode(%q) = %s, want %s", s, got, want)
		}
	}
	for _, c := range []string{"\x00", "\t", "\ufeff", "\u00a0", "\u202e", "\u2028"} {
		if strings.Contains(jen.Add(stringCode(`\`+c)).GoString(), "`") {
			t.Errorf("%q went into a raw string", c)
		}
	}
}

// hiddenChars are characters a manifest's text may hold that Go source
// may not (NUL, a byte order mark) or that would hide in it: C0 controls,
// DEL, C1 controls, format characters (a zero-width space, bidirectional
// overrides, a soft hyphen, tags) and the Unicode line separators, each as
// a TOML escape.
var hiddenChars = []string{`\u0000`, `\u0001`, `\b`, `\u001b`, `\u001f`, `\u007f`, `\u0085`, `\u009f`,
	`\u00ad`, `\u200b`, `\u200e`, `\u202e`, `\u2066`, `\u2028`, `\u2029`, `\ufeff`, `\U000e0001`}

// TestHiddenCharsInComments plans a project from a manifest whose every
// text, in comments and in strings, holds each of hiddenChars, and checks
// that every Go file formats and holds none of them but as an escape.
func TestHiddenCharsInComments(t *testing.T) {
	for _, c := range hiddenChars {
		t.Run(c, func(t *testing.T) {
			text := "a" + c + "b " + c + " c" + c
			src := strings.ReplaceAll(`name = "acme"
kind = "source"
version = "0.1.0"
summary = "S TEXT"
description = "TEXT\n\nTEXT"
author = "TEXT"
[config.level]
type = "string"
description = "TEXT"
default = "x TEXT"
inclusion = ["x TEXT", "y"]
regex = '\w'
[config.pattern]
type = "string"
regex = "\\d TEXT"
[events.tick]
description = "TEXT"
fields = { seq = "int" }
`, "TEXT", text)
			m, err := manifest.Parse("plugin.toml", []byte(src))
			if err != nil {
				t.Fatal(err)
			}
			for _, f := range plan(t, m) {
				if !strings.HasSuffix(f.Path, ".go") || isCopy(f) {
					continue
				}
				for _, r := range string(f.Data) {
					if r != '\n' && r != '\t' && hidden(r) || unicode.IsSpace(r) && r > unicode.MaxASCII {
						t.Errorf("%s holds %U", f.Path, r)
						break
					}
				}
			}
		})
	}
}
