// Package sdktest holds the checks that a plugin project's generated tests
// run on its generated code, much as net/http/httptest serves the tests of
// HTTP code. config_gen_test.go and events_gen_test.go keep what depends
// on the manifest (the cases, the values wanted, the sample events) and
// call these checks for the rest, so that nothing but tests is declared in
// the project's package main by them.
//
// plugctl copies the package into every project, as it does the SDK; it
// uses the standard library only.
package sdktest

import (
	"errors"
	"testing"

	"github.com/plugctl/plugctl/sdk"
	"github.com/plugctl/plugctl/wire"
)

// Problems returns the problems in err, failing the test when err is not a
// *sdk.ConfigError.
func Problems(t testing.TB, err error) []wire.Problem {
	t.Helper()
	var ce *sdk.ConfigError
	if !errors.As(err, &ce) {
		t.Fatalf("error %v is a %T, want a *sdk.ConfigError", err, err)
	}
	return ce.Problems
}

// params returns the parameters that problems name, in order, each once.
func params(problems []wire.Problem) []string {
	var names []string
	for _, p := range problems {
		if len(names) == 0 || names[len(names)-1] != p.Param {
			names = append(names, p.Param)
		}
	}
	return names
}
