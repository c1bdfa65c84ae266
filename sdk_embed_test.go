package main

import (
	"io/fs"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestSDKEmbed checks that the binary embeds every source of the SDK and
// none of its tests.
func TestSDKEmbed(t *testing.T) {
	paths, err := filepath.Glob(filepath.Join("sdk", "*.go"))
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, p := range paths {
		if name := filepath.Base(p); !strings.HasSuffix(name, "_test.go") {
			want = append(want, name)
		}
	}
	got, err := fs.Glob(sdkSources(), "*")
	if err != nil {
		t.Fatal(err)
	}
	if len(want) == 0 || !slices.Equal(got, want) {
		t.Errorf("embedded %v, want the SDK's sources %v", got, want)
	}
}
