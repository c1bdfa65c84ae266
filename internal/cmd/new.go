package cmd

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/plugctl/plugctl/generate"
	"github.com/plugctl/plugctl/manifest"
	"github.com/plugctl/plugctl/project"
	"github.com/urfave/cli/v2"
)

// kinds are the plugin kinds new makes, in the order help lists them.
var kinds = []string{"source", "sink"}

func newCommand(b Build) *cli.Command {
	return &cli.Command{
		Name:      "new",
		Usage:     "create a plugin project: a manifest and everything generated from it",
		ArgsUsage: "source|sink NAME",
		UsageText: "plugctl new source|sink NAME [--dir DIR] [--module PATH] [--shape polled|callback]\n\n" +
			"plugctl new source acme                        # a source plugin in ./acme\n" +
			"plugctl new source acme --shape callback       # a source that emits from its own goroutines\n" +
			"plugctl new sink audit-log --dir plugins/audit # a sink plugin in plugins/audit\n" +
			"plugctl new source acme --module github.com/you/acme",
		Description: "new writes a starter plugin.toml for a source (it emits events) or a sink\n" +
			"(it receives them) and generates the project from it, ready to build and to\n" +
			"pass plugctl test. NAME is lowercase letters, digits and '-', starting with\n" +
			"a letter. The directory must be new or empty; for an existing plugin.toml\n" +
			"use plugctl generate instead. Flags may come before or after the arguments.\n\n" +
			"A source comes in two shapes. polled (the default): the SDK calls the\n" +
			"source's NextBatch in a loop, for sources that read when asked. callback:\n" +
			"the source's run function emits through an EventSink from any number of\n" +
			"goroutines, for sources pushed to by a library, a socket or several readers.",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "dir", Usage: "write the project to `DIR` (default: ./NAME)"},
			&cli.StringFlag{Name: "module", Usage: "Go module `PATH` of the project (default: example.com/NAME)"},
			&cli.StringFlag{Name: "shape", Usage: "a source's `SHAPE`: polled (NextBatch, the default) or callback (run emits from goroutines)"},
		},
		OnUsageError: onUsageError,
		// "help" is plugctl's command; here it would shadow an argument.
		HideHelpCommand: true,
		BashComplete: func(c *cli.Context) {
			// The word being completed is a flag: urfave/cli's completer
			// lists the flags (it reads os.Args, as the shell calls us).
			if n := len(os.Args); n > 2 && strings.HasPrefix(os.Args[n-2], "-") {
				cli.DefaultCompleteWithFlags(c.Command)(c)
				return
			}
			if c.NArg() == 0 {
				for _, k := range kinds {
					fmt.Fprintln(c.App.Writer, k)
				}
			}
		},
		Action: func(c *cli.Context) error { return runNew(c, b) },
	}
}

func runNew(c *cli.Context, b Build) error {
	args := c.Args().Slice()
	switch {
	case len(args) == 0:
		return usagef("new", "missing the plugin kind and NAME, as in: plugctl new source acme")
	case !slices.Contains(kinds, args[0]):
		return usagef("new", "unknown plugin kind %q: plugctl new makes a \"source\" (it emits events) or a \"sink\" (it receives them)", args[0])
	case len(args) == 1:
		return usagef("new", "missing the plugin NAME, as in: plugctl new %s acme", args[0])
	case len(args) > 2:
		return usagef("new", "too many arguments: %q (flags go before or after the two arguments)", args[2:])
	}
	kind, name := args[0], args[1]
	if !manifest.ValidName(name) {
		return usagef("new", "invalid plugin name %q: a name is lowercase letters, digits and '-', starting with a letter (for example acme or log-tail)", name)
	}
	shape := c.String("shape")
	switch {
	case shape != "" && kind == "sink":
		return usagef("new", "--shape is for sources: a sink has one shape, Write")
	case shape != "" && shape != manifest.ShapePolled && shape != manifest.ShapeCallback:
		return usagef("new", "unknown --shape %q: a source is %q (the SDK polls NextBatch) or %q (run emits from goroutines)", shape, manifest.ShapePolled, manifest.ShapeCallback)
	}
	dir := c.String("dir")
	if dir == "" {
		dir = name
	}
	mod := c.String("module")
	if mod == "" {
		mod = manifest.DefaultModule(name)
	}
	if err := checkNewDir(dir); err != nil {
		return err
	}

	starter, err := generate.StarterManifest(generate.Starter{Name: name, Kind: kind, Shape: shape, Module: mod})
	if err != nil {
		return err
	}
	// The starter is checked like any manifest before anything is written,
	// under the name it will have on disk.
	manifestPath := filepath.Join(dir, manifest.FileName)
	m, err := manifest.Parse(manifestPath, starter)
	if err != nil {
		return starterError(err, mod)
	}
	files, err := generate.Plan(m, b.Packages, b.Version())
	if err != nil {
		return err
	}
	files = withManifest(files, starter)
	r, err := project.Apply(dir, files, project.Options{Mode: project.Write})
	if err != nil {
		return err
	}

	w := c.App.Writer
	fmt.Fprintf(w, "Created %s plugin %s in %s:\n", kind, name, dir)
	printFiles(w, r, false)
	fmt.Fprintf(w, "\nNext steps:\n")
	fmt.Fprintf(w, "  cd %s\n", dir)
	fmt.Fprintf(w, "  plugctl test          # build the plugin and run the acceptance checks\n")
	if kind == "source" {
		fmt.Fprintf(w, "  plugctl run           # watch it work: its events as JSON lines, until Ctrl+C\n")
	}
	fmt.Fprintf(w, "  $EDITOR plugin.toml   # add parameters and event kinds, then: plugctl generate\n")
	return nil
}

// starterError explains why the starter manifest did not load. The module
// path is the one part of it taken from the command line as written, and the
// manifest's check is the one rule for module paths; anything else is a bug.
func starterError(err error, mod string) error {
	var bad *manifest.Errors
	if errors.As(err, &bad) {
		for _, e := range bad.List {
			if e.Key == "module" {
				return usagef("new", "invalid --module: %s (%s)", e.Msg, e.Hint)
			}
		}
	}
	return fmt.Errorf("the starter manifest is invalid, which is a bug in plugctl: %v", err)
}

// checkNewDir refuses a directory that exists and holds anything: new
// makes projects, and merging one into existing files is generate's job.
// That is a usage error (exit 2): nothing was tried, another --dir works.
func checkNewDir(dir string) error {
	fi, err := os.Stat(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if !fi.IsDir() {
		return usagef("new", "%s exists and is not a directory; choose another --dir", dir)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	if len(entries) > 0 {
		return usagef("new", "directory %s is not empty; choose another --dir, or run plugctl generate --dir %s to generate a project from the plugin.toml there", dir, dir)
	}
	return nil
}

// withManifest returns files with plugin.toml planned as the user's, holding
// the starter manifest, whether or not the plan already lists it.
func withManifest(files []generate.File, starter []byte) []generate.File {
	f := generate.File{Path: manifest.FileName, Data: starter, Owner: generate.User}
	i, found := slices.BinarySearchFunc(files, f.Path, func(f generate.File, p string) int {
		return strings.Compare(f.Path, p)
	})
	if found {
		files[i] = f
		return files
	}
	return slices.Insert(files, i, f)
}
