package supervisor

import (
	"maps"
	"strings"
	"testing"

	"github.com/plugctl/plugctl/enroll"
)

func TestParseConfig(t *testing.T) {
	src := `# two instances of acme
[plugins.acme]
instances = 2
settings = { interval = "50ms", retries = 3, ratio = 0.5, verbose = true, tags = ["a", "b"] }

[plugins.acme.global]
workers = 4

[plugins."6f1c0a2e-5b7d-4c1e-9a51-2f0e3c9d8b11"]
settings.url = "https://x.test/"
`
	c, err := ParseConfig("host.toml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	acme := c.For(&enroll.Entry{ID: "other", Name: "acme"})
	wantSettings := map[string]string{"interval": "50ms", "retries": "3", "ratio": "0.5", "verbose": "true", "tags": "a,b"}
	if acme.Instances != 2 || !maps.Equal(acme.Settings, wantSettings) || !maps.Equal(acme.Global, map[string]string{"workers": "4"}) {
		t.Errorf("acme: %+v", acme)
	}
	byID := c.For(&enroll.Entry{ID: "6f1c0a2e-5b7d-4c1e-9a51-2f0e3c9d8b11", Name: "acme"})
	if byID.Instances != 1 || byID.Settings["url"] != "https://x.test/" || byID.Global != nil {
		t.Errorf("the table by id does not win over the one by name: %+v", byID)
	}
	if d := c.For(&enroll.Entry{ID: "x", Name: "beta"}); d.Instances != 1 || d.Settings != nil || d.Global != nil {
		t.Errorf("an unconfigured plugin: %+v, want one instance with its defaults", d)
	}
	var none *Config
	if d := none.For(&enroll.Entry{Name: "acme"}); d.Instances != 1 {
		t.Errorf("no configuration: %+v", d)
	}
}

// TestParseConfigErrors: every problem is reported at once, each with
// file:line:col.
func TestParseConfigErrors(t *testing.T) {
	for _, tc := range []struct {
		name, src string
		want      []string
	}{
		{"syntax", "[plugins.acme]\ninstances = = 2\n", []string{"host.toml:2:13: invalid TOML"}},
		{"unknown keys", `
[plugins.acme]
instances = 2
instnaces = 3
[plugins.beta]
  setting = {}
[server]
port = 1
`, []string{
			"host.toml:4:1: plugins.acme.instnaces: unknown key (want instances, settings or global)",
			"host.toml:6:3: plugins.beta.setting: unknown key",
			"host.toml:7:1: server: unknown key",
		}},
		{"unquoted duration", `
[plugins.acme]
settings = { interval = 5m }
`, []string{"host.toml:3:26: invalid TOML: expected a comma"}},
		{"bad types", `
[plugins.acme]
instances = 0
[plugins.beta]
instances = "two"
global = { when = 2026-12-02T13:25:56Z, list = [1, 2] }
[plugins.gamma]
settings = "interval=1s"
[plugins.delta]
instances = 257
`, []string{
			"host.toml:3:1: plugins.acme.instances: want a whole number from 1 to 256",
			"host.toml:5:1: plugins.beta.instances: want a whole number",
			"host.toml:6:12: plugins.beta.global.when: want a string, number, boolean or list of strings",
			"host.toml:6:41: plugins.beta.global.list: a list must hold strings",
			"host.toml:8:1: plugins.gamma.settings: want a table of parameters",
			"host.toml:10:1: plugins.delta.instances: want a whole number from 1 to 256",
		}},
		{"not tables", "plugins = 3\n", []string{"host.toml:1:1: plugins: want a table of plugins"}},
		{"plugin not a table", "[plugins]\nacme = 2\n", []string{"host.toml:2:1: plugins.acme: want a table"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseConfig("host.toml", []byte(tc.src))
			if err == nil {
				t.Fatal("no error")
			}
			lines := strings.Split(err.Error(), "\n")
			if len(lines) != len(tc.want) {
				t.Errorf("%d problems, want %d:\n%v", len(lines), len(tc.want), err)
			}
			for i, w := range tc.want {
				if i >= len(lines) || !strings.HasPrefix(lines[i], w) {
					t.Errorf("problem %d: want it to start with %q; got\n%v", i+1, w, err)
				}
			}
		})
	}
}
