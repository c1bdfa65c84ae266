package main

import "embed"

// packageSources holds the packages every generated project gets a copy
// of, generate.CopiedPackages (sdk/, sdk/sdktest/ and wire/), so that it
// builds with the standard library alone. The files are named one by one
// because a pattern cannot leave out the packages' tests, which the binary
// has no use for; TestPackagesEmbed keeps the list complete.
//
//go:embed sdk/batch.go sdk/conn.go sdk/dispatch.go sdk/eventsink.go
//go:embed sdk/failures.go sdk/handshake.go sdk/heartbeat.go sdk/instance.go
//go:embed sdk/json.go sdk/main.go sdk/plugin.go sdk/requests.go
//go:embed sdk/ring_other.go sdk/ring_unix.go sdk/ringbatch.go sdk/serve.go
//go:embed sdk/settings.go sdk/shutdown.go sdk/source.go sdk/stdio_bsd.go
//go:embed sdk/stdio_linux.go sdk/stdio_other.go sdk/stdio_unix.go
//go:embed sdk/sdktest/config.go sdk/sdktest/events.go sdk/sdktest/sdktest.go
//go:embed wire/codec.go wire/doc.go wire/env.go wire/events.go wire/frame.go
//go:embed wire/messages.go wire/params.go wire/ring.go wire/spec.go
var packageSources embed.FS
