package main

import (
	"embed"
	"io/fs"
)

// runtimeFiles holds the plugin-side runtime, which every generated project
// gets a copy of so that it builds with the standard library alone.
//
//go:embed runtime/*.go
var runtimeFiles embed.FS

// runtimeSources returns the runtime's sources at the top level of an
// fs.FS, as generate.Plan takes them.
func runtimeSources() fs.FS {
	sub, err := fs.Sub(runtimeFiles, "runtime")
	if err != nil {
		panic(err) // fs.Sub fails only for an invalid path, and "runtime" is valid
	}
	return sub
}
