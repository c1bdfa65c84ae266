package main

import (
	"io/fs"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestPackagesEmbed checks that the binary embeds every source of the
// packages generated projects get, and none of their tests.
func TestPackagesEmbed(t *testing.T) {
	for _, dir := range []string{"sdk", "wire"} {
		paths, err := filepath.Glob(filepath.Join(dir, "*.go"))
		if err != nil {
			t.Fatal(err)
		}
		var want []string
		for _, p := range paths {
			if !strings.HasSuffix(p, "_test.go") {
				want = append(want, filepath.ToSlash(p))
			}
		}
		got, err := fs.Glob(packageSources, dir+"/*")
		if err != nil {
			t.Fatal(err)
		}
		if len(want) == 0 || !slices.Equal(got, want) {
			t.Errorf("embedded %v, want the sources of %s/: %v", got, dir, want)
		}
	}
}
