package main

import (
	"io"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/plugctl/plugctl/generate"
	plugmanifest "github.com/plugctl/plugctl/manifest"
)

// BenchmarkNew measures plugctl new for the starter manifest, end to end:
// planning every file and writing the project to a new directory.
func BenchmarkNew(b *testing.B) {
	root := b.TempDir()
	i := 0
	for b.Loop() {
		i++
		dir := filepath.Join(root, strconv.Itoa(i))
		if code := run([]string{"plugctl", "new", "source", "acme", "--dir", dir}, nil, io.Discard, io.Discard); code != 0 {
			b.Fatalf("plugctl new exited with %d", code)
		}
	}
}

// BenchmarkGenerateLarge measures plugctl generate for a manifest of 300
// parameters and 30 event kinds (testdata/large/plugin.toml): "plan" loads
// the manifest and plans the project without touching the disk, "fresh"
// generates into a directory holding only the manifest, "unchanged" over a
// project that is already up to date, where nothing is written.
func BenchmarkGenerateLarge(b *testing.B) {
	path := filepath.Join("testdata", "large", "plugin.toml")
	manifest, err := os.ReadFile(path)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("plan", func(b *testing.B) {
		for b.Loop() {
			m, err := plugmanifest.Load(path)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := generate.Plan(m, packageSources, "(devel)"); err != nil {
				b.Fatal(err)
			}
		}
	})
	generate := func(b *testing.B, dir string) {
		if code := run([]string{"plugctl", "generate", "--dir", dir}, nil, io.Discard, io.Discard); code != 0 {
			b.Fatalf("plugctl generate exited with %d", code)
		}
	}
	b.Run("fresh", func(b *testing.B) {
		root := b.TempDir()
		i := 0
		for b.Loop() {
			b.StopTimer()
			i++
			dir := filepath.Join(root, strconv.Itoa(i))
			if err := os.Mkdir(dir, 0o755); err != nil {
				b.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, "plugin.toml"), manifest, 0o644); err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
			generate(b, dir)
		}
	})
	b.Run("unchanged", func(b *testing.B) {
		dir := b.TempDir()
		if err := os.WriteFile(filepath.Join(dir, "plugin.toml"), manifest, 0o644); err != nil {
			b.Fatal(err)
		}
		generate(b, dir)
		for b.Loop() {
			generate(b, dir)
		}
	})
}
