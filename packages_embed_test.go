package main

import (
	"io/fs"
	"os"
	"path"
	"slices"
	"strings"
	"testing"

	"github.com/plugctl/plugctl/generate"
)

// TestPackagesEmbed checks that the binary embeds every source of the
// packages generated projects get, and none of their tests nor anything
// else.
func TestPackagesEmbed(t *testing.T) {
	var want, got []string
	for _, dir := range generate.CopiedPackages {
		entries, err := os.ReadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			if name := e.Name(); !e.IsDir() && strings.HasSuffix(name, ".go") && !strings.HasSuffix(name, "_test.go") {
				want = append(want, path.Join(dir, name))
			}
		}
	}
	err := fs.WalkDir(packageSources, ".", func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			got = append(got, p)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(want)
	slices.Sort(got)
	if len(want) == 0 || !slices.Equal(got, want) {
		t.Errorf("embedded %v,\nwant the sources of %v: %v", got, generate.CopiedPackages, want)
	}
}
