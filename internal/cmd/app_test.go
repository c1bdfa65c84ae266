package cmd

import (
	"strings"
	"testing"
)

func TestPermute(t *testing.T) {
	cmds := newApp(Build{}, nil, nil, nil).Commands
	for _, tc := range []struct{ in, want string }{
		// Flags after the arguments move in front, with their values.
		{"plugctl new source acme --dir x --module m", "plugctl new --dir x --module m source acme"},
		{"plugctl new source --dir=x acme", "plugctl new --dir=x source acme"},
		{"plugctl generate --check --dir d", "plugctl generate --check --dir d"},
		{"plugctl generate extra --force", "plugctl generate --force extra"},
		// Bool flags take no value; unknown flags are left for the parser.
		{"plugctl generate x --check y", "plugctl generate --check x y"},
		{"plugctl new source acme --bogus", "plugctl new --bogus source acme"},
		// After "--" everything is an argument.
		{"plugctl new source -- -acme --dir", "plugctl new -- source -acme --dir"},
		// No command, or a completion request: unchanged.
		{"plugctl frob --dir x", "plugctl frob --dir x"},
		{"plugctl new --d --generate-bash-completion", "plugctl new --d --generate-bash-completion"},
		{"plugctl", "plugctl"},
	} {
		got := strings.Join(permute(cmds, strings.Fields(tc.in)), " ")
		if got != tc.want {
			t.Errorf("permute(%s)\n got %s\nwant %s", tc.in, got, tc.want)
		}
	}
}

func TestSuggest(t *testing.T) {
	cmds := newApp(Build{}, nil, nil, nil).Commands
	for name, want := range map[string]string{
		"generat": "generate", "nwe": "new", "verison": "version", "frobnicate": "",
		"gen": "generate", "comp": "completion", "man": "manifest", "te": "",
	} {
		if got := suggest(name, cmds); got != want {
			t.Errorf("suggest(%q) = %q, want %q", name, got, want)
		}
	}
}
