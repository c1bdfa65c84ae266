// Package cmd is plugctl's command line: one file per command, named after
// it (new.go is plugctl new, test.go plugctl test, manifest.go plugctl
// manifest and its subcommands), each parsing flags and calling the
// packages that do the work. app.go wires them together with urfave/cli/v2
// and is the one place that maps errors to exit codes.
package cmd
