package cmd

import (
	"fmt"
	"io"
	"io/fs"
	"runtime"
	"runtime/debug"

	"github.com/urfave/cli/v2"
)

// Build is what only the main package can give the commands.
type Build struct {
	// Linked is plugctl's version when set at link time, as in
	//
	//	go build -ldflags "-X main.version=v1.2.3"
	Linked string
	// Packages holds sdk/ and wire/, which every generated project gets
	// a copy of; only a file at the module root can embed them.
	Packages fs.FS
}

// Version is plugctl's version: the one set at link time, else the one
// "go install github.com/plugctl/plugctl@v1.2.3" records in the build
// information, else (devel).
func (b Build) Version() string {
	if b.Linked != "" {
		return b.Linked
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" {
		return bi.Main.Version
	}
	return "(devel)"
}

func versionCommand(b Build) *cli.Command {
	return &cli.Command{
		Name:  "version",
		Usage: "print the version of plugctl and of Go it was built with",
		UsageText: "plugctl version\n\n" +
			"plugctl version    # for example: plugctl v0.3.0 (go1.26.8 linux/amd64)\n" +
			"plugctl --version  # the same",
		Description: "version prints plugctl's version: the one set at link time with\n" +
			"-ldflags \"-X main.version=...\", else the module version go install\n" +
			"recorded, else (devel) for a build from a source tree; then the Go\n" +
			"version and the platform. Include it in bug reports.",
		OnUsageError: onUsageError,
		// "help" is plugctl's command; here it would shadow an argument.
		HideHelpCommand: true,
		Action: func(c *cli.Context) error {
			if c.NArg() > 0 {
				return usagef("version", "unexpected argument %q", c.Args().First())
			}
			printVersion(c.App.Writer, b)
			return nil
		},
	}
}

func printVersion(w io.Writer, b Build) {
	fmt.Fprintf(w, "plugctl %s (%s %s/%s)\n", b.Version(), runtime.Version(), runtime.GOOS, runtime.GOARCH)
}
