package generate

import (
	"fmt"

	"github.com/plugctl/plugctl/manifest"
	"github.com/plugctl/plugctl/templates"
)

// StarterManifest returns the commented plugin.toml that plugctl new writes
// for a plugin called name of the given kind ("source" or "sink") in Go
// module module (manifest.DefaultModule(name) when empty). It shows every key and
// rule, and every parameter has a default or is optional, so the plugin it
// describes opens an instance with no settings at all. The result is
// checked with manifest.Parse, so an invalid name or module is reported
// with the loader's message.
func StarterManifest(name, kind, module string) ([]byte, error) {
	if kind != "source" && kind != "sink" {
		return nil, fmt.Errorf("generate: kind %q: want source or sink", kind)
	}
	if module == "" {
		module = manifest.DefaultModule(name)
	}
	data, err := templates.Render("plugin.toml.tmpl", struct{ Name, Kind, Module string }{name, kind, module})
	if err != nil {
		return nil, fmt.Errorf("generate: %w", err)
	}
	if _, err := manifest.Parse(manifest.FileName, data); err != nil {
		return nil, fmt.Errorf("generate: starter manifest for %q: %w", name, err)
	}
	return data, nil
}
