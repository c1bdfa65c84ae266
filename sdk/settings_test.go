package sdk

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/plugctl/plugctl/wire"
)

var testParams = []wire.Param{
	{Name: "interval", Type: wire.TypeDuration, Default: "1s", Validations: []wire.Validation{
		{Type: wire.ValidationGreaterThan, Value: "10ms"}, {Type: wire.ValidationLessThan, Value: "1h"}}},
	{Name: "level", Type: wire.TypeString, Default: "info", Validations: []wire.Validation{
		{Type: wire.ValidationInclusion, Values: []string{"debug", "info"}}}},
	{Name: "mode", Type: wire.TypeString, Validations: []wire.Validation{
		{Type: wire.ValidationExclusion, Values: []string{"off"}}}},
	{Name: "ratio", Type: wire.TypeFloat, Default: "0.5", Validations: []wire.Validation{{Type: wire.ValidationLessThan, Value: "1"}}},
	{Name: "tags", Type: wire.TypeStrings, Validations: []wire.Validation{{Type: wire.ValidationInclusion, Values: []string{"a", "b"}}}},
	{Name: "token", Type: wire.TypeString, Secret: true, Validations: []wire.Validation{
		{Type: wire.ValidationRequired}, {Type: wire.ValidationRegex, Value: "^[a-z]+$"},
		{Type: wire.ValidationExclusion, Values: []string{"guest"}}}},
	{Name: "verbose", Type: wire.TypeBool},
	{Name: "workers", Type: wire.TypeInt, Default: "4", Validations: []wire.Validation{{Type: wire.ValidationGreaterThan, Value: "0"}}},
}

func TestParseSettings(t *testing.T) {
	s, err := ParseSettings(testParams, map[string]string{"token": "abc", "tags": " a, b,,", "verbose": "T", "mode": ""})
	if err != nil {
		t.Fatal(err)
	}
	got := []any{s.Duration("interval"), s.String("level"), s.String("mode"), s.Float("ratio"), s.Strings("tags"), s.String("token"), s.Bool("verbose"), s.Int("workers")}
	want := []any{time.Second, "info", "", 0.5, []string{"a", "b"}, "abc", true, 4}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("values %v, want %v", got, want)
	}
}

func TestParseSettingsProblems(t *testing.T) {
	_, err := ParseSettings(testParams, map[string]string{
		"interval": "10ms", "level": "trace", "mode": "off", "ratio": "x", "tags": "a,c",
		"token": "Guest!", "verbose": "yes", "workers": "1.5", "intervall": "1s", "zzz": "1",
	})
	var ce *ConfigError
	if !errors.As(err, &ce) {
		t.Fatalf("error %v, want a *ConfigError", err)
	}
	want := []wire.Problem{
		{Param: "interval", Message: `must be greater than 10ms (got "10ms")`},
		{Param: "level", Message: `must be one of debug, info (got "trace")`},
		{Param: "mode", Message: `must not be one of off (got "off")`},
		{Param: "ratio", Message: `not a float (got "x")`},
		{Param: "tags", Message: `each item must be one of a, b (got "c")`},
		{Param: "token", Message: "must match `^[a-z]+$`"},
		{Param: "verbose", Message: `not a bool (true or false) (got "yes")`},
		{Param: "workers", Message: `not an int (got "1.5")`},
		{Param: "intervall", Message: `unknown parameter; did you mean "interval"?`},
		{Param: "zzz", Message: "unknown parameter"},
	}
	if !reflect.DeepEqual(ce.Problems, want) {
		t.Errorf("problems\n%q\nwant\n%q", ce.Problems, want)
	}

	_, err = ParseSettings(testParams, map[string]string{"token": "guest"})
	if err == nil || !strings.Contains(err.Error(), "token: must not be one of the excluded values") || strings.Contains(err.Error(), "guest") {
		t.Errorf("a secret's exclusion: %v", err)
	}
	_, err = ParseSettings(testParams, nil)
	if err == nil || err.Error() != "invalid configuration: token: is required" {
		t.Errorf("a required parameter left out: %v", err)
	}
	if _, err := ParseSettings([]wire.Param{{Name: "n", Type: wire.TypeInt, Validations: []wire.Validation{{Type: wire.ValidationRegex, Value: "("}}}}, nil); err == nil || errors.As(err, &ce) {
		t.Errorf("a rule that does not fit: %v", err)
	}
}

func TestSettingsWrongGetter(t *testing.T) {
	s, err := ParseSettings(testParams, map[string]string{"token": "abc"})
	if err != nil {
		t.Fatal(err)
	}
	for _, get := range []func(){func() { s.Int("level") }, func() { s.String("nope") }} {
		func() {
			defer func() {
				if recover() == nil {
					t.Error("no panic")
				}
			}()
			get()
		}()
	}
}
