package generate

import (
	"slices"
	"strings"
	"testing"

	"github.com/plugctl/plugctl/manifest"
)

// TestStarterManifest checks that the starter parses, shows every rule (in
// a parameter, or commented out: required and secret, which a plugin that
// starts with no settings and writes its values to its log cannot use),
// and describes a plugin that needs no settings: nothing is required.
func TestStarterManifest(t *testing.T) {
	for _, kind := range []string{"source", "sink"} {
		t.Run(kind, func(t *testing.T) {
			data, err := StarterManifest(Starter{Name: "acme", Kind: kind})
			if err != nil {
				t.Fatal(err)
			}
			m, err := manifest.Parse("plugin.toml", data)
			if err != nil {
				t.Fatal(err)
			}
			if m.Name != "acme" || m.Kind != kind || m.Module != "example.com/acme" {
				t.Errorf("name %q, kind %q, module %q", m.Name, m.Kind, m.Module)
			}
			seen := map[string]bool{}
			for _, p := range append(append([]manifest.Param(nil), m.Config...), m.Global...) {
				if p.Required {
					t.Errorf("%s is required: a plugin from the starter must open with no settings", p.Name)
				}
				seen["greater_than"] = seen["greater_than"] || p.HasGreaterThan
				seen["less_than"] = seen["less_than"] || p.HasLessThan
				seen["inclusion"] = seen["inclusion"] || len(p.Inclusion) > 0
				seen["exclusion"] = seen["exclusion"] || len(p.Exclusion) > 0
				seen["regex"] = seen["regex"] || p.Regex != ""
			}
			for _, rule := range []string{"greater_than", "less_than", "inclusion", "exclusion", "regex"} {
				if !seen[rule] {
					t.Errorf("no parameter shows %s", rule)
				}
			}
			for _, rule := range []string{"# required = true", "# secret = true"} {
				if !strings.Contains(string(data), rule) {
					t.Errorf("%s is not shown", rule)
				}
			}
			if len(m.Global) == 0 || len(m.Events) != 1 || len(m.Events[0].Fields) != 4 {
				t.Errorf("want a global parameter and one event kind of four fields: %+v", m)
			}
			for _, line := range strings.Split(string(data), "\n") {
				// Every key is explained, on its line or in the comments
				// above its table.
				if k, _, ok := strings.Cut(line, " = "); ok && !strings.HasPrefix(line, "#") && !strings.Contains(line, "#") &&
					!slices.Contains([]string{"type", "description", "default", "fields", "summary"}, k) {
					t.Errorf("key %q has no comment", k)
				}
			}
		})
	}
	if _, err := StarterManifest(Starter{Name: "acme", Kind: "sink", Module: "example.org/team/acme"}); err != nil {
		t.Errorf("module given: %v", err)
	}
	for _, c := range []struct{ name, kind, module, want string }{
		{"acme", "filter", "", `kind "filter"`},
		{"Acme", "source", "", "not a valid plugin name"},
		{"acme", "source", "not a module", "not a Go module path"},
	} {
		if _, err := StarterManifest(Starter{Name: c.name, Kind: c.kind, Module: c.module}); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("StarterManifest(%q, %q, %q): %v, want an error with %q", c.name, c.kind, c.module, err, c.want)
		}
	}
}
