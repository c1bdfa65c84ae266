package sdktest

import (
	"maps"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// Parser is a generated parse function, ParseConfig or ParseGlobalConfig,
// with what its checks start from. Each check works on its own copy of
// Valid.
type Parser[C any] struct {
	Name  string                                      // the function's name, for messages
	Parse func(settings map[string]string) (C, error) // the function
	// Valid gives each required parameter a value it accepts and leaves
	// the others to their defaults.
	Valid map[string]string
	// Skip, when set, is why every check skips: a required parameter
	// plugctl found no accepted value for, which Valid therefore lacks.
	Skip string
}

// Setting is a value for one parameter. An empty Value leaves the
// parameter out.
type Setting struct {
	Param, Value string
}

// Case is a value for one parameter that breaks one of its rules, or
// leaves out a required parameter when empty.
type Case struct {
	Param, Rule, Value string
}

// Defaults checks that Parse takes Valid, giving want: unset parameters
// take their defaults and the settings given are converted to their types.
func (p Parser[C]) Defaults(t *testing.T, want C) {
	t.Helper()
	p.skip(t)
	got, err := p.Parse(p.with())
	if err != nil {
		t.Fatalf("%s(%v): %v", p.Name, p.Valid, err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s(%v) =\n%+v\nwant\n%+v", p.Name, p.Valid, got, want)
	}
}

// Invalid runs a subtest for each case, named parameter/rule: it makes
// that one change to Valid and checks that Parse refuses the settings with
// an error that names that parameter and no other.
func (p Parser[C]) Invalid(t *testing.T, cases []Case) {
	t.Helper()
	p.skip(t)
	for _, tc := range cases {
		t.Run(tc.Param+"/"+tc.Rule, func(t *testing.T) {
			settings := p.with(Setting{tc.Param, tc.Value})
			_, err := p.Parse(settings)
			if err == nil {
				t.Fatalf("%s(%v) accepted it", p.Name, settings)
			}
			if got := params(Problems(t, err)); !slices.Equal(got, []string{tc.Param}) {
				t.Errorf("%s(%v): problems with %q, want with %q only: %v", p.Name, settings, got, tc.Param, err)
			}
		})
	}
}

// AllProblems makes every change to Valid at once and checks that one
// error names each parameter changed, in the order of changes.
func (p Parser[C]) AllProblems(t *testing.T, changes []Setting) {
	t.Helper()
	p.skip(t)
	settings := p.with(changes...)
	want := make([]string, len(changes))
	for i, c := range changes {
		want[i] = c.Param
	}
	_, err := p.Parse(settings)
	if got := params(Problems(t, err)); !slices.Equal(got, want) {
		t.Errorf("%s(%v): problems with %q, want %q: %v", p.Name, settings, got, want, err)
	}
}

// Unknown adds a setting called name, which names no parameter, to Valid
// and checks that the error has one problem, with name and message.
func (p Parser[C]) Unknown(t *testing.T, name, message string) {
	t.Helper()
	p.skip(t)
	settings := p.with(Setting{name, "1"})
	_, err := p.Parse(settings)
	got := Problems(t, err)
	if len(got) != 1 || got[0].Param != name {
		t.Fatalf("%s(%v): problems %v, want one with %q", p.Name, settings, got, name)
	}
	if got[0].Message != message {
		t.Errorf("message %q, want %q", got[0].Message, message)
	}
}

// Secrets gives each secret parameter its value in secrets, adds a setting
// called unknown, which names no parameter, so that there is an error, and
// checks that the error shows none of the values.
func (p Parser[C]) Secrets(t *testing.T, secrets []Setting, unknown string) {
	t.Helper()
	p.skip(t)
	settings := p.with(append(slices.Clip(secrets), Setting{unknown, "1"})...)
	_, err := p.Parse(settings)
	if err == nil {
		t.Fatalf("%s(%v) accepted an unknown setting", p.Name, settings)
	}
	for _, s := range secrets {
		if strings.Contains(err.Error(), s.Value) {
			t.Errorf("the error shows the secret value %q: %v", s.Value, err)
		}
	}
}

// skip skips the test when p says the checks cannot run.
func (p Parser[C]) skip(t *testing.T) {
	t.Helper()
	if p.Skip != "" {
		t.Skip(p.Skip)
	}
}

// with returns a copy of Valid with changes made, in order.
func (p Parser[C]) with(changes ...Setting) map[string]string {
	settings := maps.Clone(p.Valid)
	if settings == nil {
		settings = map[string]string{}
	}
	for _, c := range changes {
		if c.Value == "" {
			delete(settings, c.Param)
		} else {
			settings[c.Param] = c.Value
		}
	}
	return settings
}
