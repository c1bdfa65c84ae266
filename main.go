// Command plugctl turns a plugin manifest, plugin.toml, into a complete Go
// plugin project, and keeps the generated code in step with the manifest.
//
//	plugctl new source acme     # a new project in ./acme
//	plugctl generate            # regenerate after editing plugin.toml
//	plugctl generate --check    # CI: exit 1, with a diff, when stale
//
// Run "plugctl help" for every command.
package main

import "os"

func main() { os.Exit(run(os.Args, os.Stdin, os.Stdout, os.Stderr)) }
