package main

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/plugctl/plugctl/generate"
	"github.com/plugctl/plugctl/manifest"
)

func main() {
	kind, out := os.Args[1], os.Args[2]
	data, err := generate.StarterManifest("acme", kind, "")
	if err != nil {
		fmt.Println(err)
		os.Exit(1)
	}
	m, err := manifest.Parse("plugin.toml", data)
	if err != nil {
		fmt.Println(err)
		os.Exit(1)
	}
	files, err := generate.Plan(m, os.DirFS("runtime"))
	if err != nil {
		fmt.Println(err)
		os.Exit(1)
	}
	os.MkdirAll(out, 0o755)
	os.WriteFile(filepath.Join(out, "plugin.toml"), data, 0o644)
	for _, f := range files {
		if f.Data == nil {
			continue
		}
		p := filepath.Join(out, f.Path)
		os.MkdirAll(filepath.Dir(p), 0o755)
		os.WriteFile(p, f.Data, 0o644)
		fmt.Println(f.Owner, f.Path, len(f.Data))
	}
}
