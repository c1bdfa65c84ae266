package main

import (
	"embed"
	"io/fs"
)

// sdkFiles holds the plugin-side SDK, which every generated project gets a
// copy of so that it builds with the standard library alone. The files are
// named one by one because a pattern cannot leave out the SDK's tests,
// which the binary has no use for; TestSDKEmbed keeps the list complete.
//
//go:embed sdk/batch.go sdk/codec.go sdk/conn.go sdk/events.go sdk/eventsink.go
//go:embed sdk/frame.go sdk/instance.go sdk/main.go sdk/messages.go sdk/plugin.go
//go:embed sdk/ring.go sdk/ring_other.go sdk/ring_unix.go sdk/serve.go sdk/source.go
//go:embed sdk/spec.go sdk/stdio_bsd.go sdk/stdio_linux.go sdk/stdio_other.go sdk/stdio_unix.go
var sdkFiles embed.FS

// sdkSources returns the SDK's sources at the top level of an fs.FS, as
// generate.Plan takes them.
func sdkSources() fs.FS {
	sub, err := fs.Sub(sdkFiles, "sdk")
	if err != nil {
		panic(err) // fs.Sub fails only for an invalid path, and "sdk" is valid
	}
	return sub
}
