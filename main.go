// Command plugctl turns a plugin manifest, plugin.toml, into a complete Go
// plugin project, keeps the generated code in step with the manifest,
// tests, runs and enrolls plugins, and supervises them.
//
//	plugctl new source acme     # a new project in ./acme
//	plugctl generate            # regenerate after editing plugin.toml
//	plugctl test                # build it and run the acceptance checks
//
// Run "plugctl help" for every command. The commands live in internal/cmd;
// this package holds what only the module root can: the embedded SDK and
// wire sources, and the version set at link time.
package main

import (
	"io"
	"os"

	"github.com/plugctl/plugctl/internal/cmd"
)

// version is plugctl's version when set at link time, as in
//
//	go build -ldflags "-X main.version=v1.2.3"
var version string

func main() { os.Exit(run(os.Args, os.Stdin, os.Stdout, os.Stderr)) }

// run is plugctl with the given streams, as tests and benchmarks drive it
// in-process.
func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	return cmd.Run(cmd.Build{Linked: version, Packages: packageSources}, args, stdin, stdout, stderr)
}
