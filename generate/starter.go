package generate

import (
	"fmt"

	"github.com/plugctl/plugctl/manifest"
	"github.com/plugctl/plugctl/templates"
)

// Starter says which starter project plugctl new makes.
type Starter struct {
	Name   string // the plugin's name
	Kind   string // "source" or "sink"
	Shape  string // a source's shape: manifest.ShapePolled (also when empty) or manifest.ShapeCallback
	Module string // the Go module path; empty: manifest.DefaultModule(Name)
}

// StarterManifest returns the commented plugin.toml that plugctl new writes
// for s. It shows every key and rule, and every parameter has a default or
// is optional, so the plugin it describes opens an instance with no
// settings at all. The result is checked with manifest.Parse, so an invalid
// name or module is reported with the loader's message.
func StarterManifest(s Starter) ([]byte, error) {
	if s.Kind != "source" && s.Kind != "sink" {
		return nil, fmt.Errorf("generate: kind %q: want source or sink", s.Kind)
	}
	switch {
	case s.Kind == "sink" && s.Shape != "":
		return nil, fmt.Errorf("generate: shape %q: only a source has a shape", s.Shape)
	case s.Kind == "source" && s.Shape == "":
		s.Shape = manifest.ShapePolled
	case s.Kind == "source" && s.Shape != manifest.ShapePolled && s.Shape != manifest.ShapeCallback:
		return nil, fmt.Errorf("generate: shape %q: want %s or %s", s.Shape, manifest.ShapePolled, manifest.ShapeCallback)
	}
	if s.Module == "" {
		s.Module = manifest.DefaultModule(s.Name)
	}
	data, err := templates.Render("plugin.toml.tmpl", s)
	if err != nil {
		return nil, fmt.Errorf("generate: %w", err)
	}
	if _, err := manifest.Parse(manifest.FileName, data); err != nil {
		return nil, fmt.Errorf("generate: starter manifest for %q: %w", s.Name, err)
	}
	return data, nil
}
