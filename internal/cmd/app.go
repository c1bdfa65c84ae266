package cmd

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"strings"
	"syscall"

	"github.com/plugctl/plugctl/devhost"
	"github.com/plugctl/plugctl/manifest"
	"github.com/urfave/cli/v2"
)

// Exit codes. Scripts and CI rely on them, so they are few and stable.
const (
	exitOK      = 0 // success; for generate --check: up to date
	exitFailure = 1 // the command failed, or generate --check found drift
	exitUsage   = 2 // the command line or the manifest is wrong: fix the input
)

// Run is plugctl: it runs the command line args with the given streams and
// returns the exit code. main is a shell around it so that tests and
// benchmarks drive plugctl in-process.
func Run(b Build, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	app := newApp(b, stdin, stdout, stderr)
	err := app.Run(permute(app.Commands, args))
	return exit(stderr, err)
}

// exit prints err, if any, and maps it to an exit code. It is the only
// place that decides exit codes.
func exit(stderr io.Writer, err error) int {
	if err == nil {
		return exitOK
	}
	var (
		usage *usageError
		bad   *manifest.Errors
		help  cli.ExitCoder // urfave/cli's own: an unknown help topic
		// A failed go build or plugin exit also has an exit code, which is
		// not urfave/cli's.
		exitErr *exec.ExitError
	)
	var cannotRun *cannotRunError
	var refused *devhost.ConfigError
	switch {
	case errors.Is(err, errChecksFailed), errors.Is(err, errDrift), errors.Is(err, errRunErrors):
		return exitFailure // the report already names each failed check or entry
	case errors.As(err, &refused):
		fmt.Fprintf(stderr, "plugctl: %v\n", refused)
		return exitUsage
	case errors.As(err, &bad):
		// Each line is already file:line:col: message, the form editors
		// link to, so it is printed as it is.
		fmt.Fprintln(stderr, bad)
		n := len(bad.List)
		outcome := "nothing was written"
		if errors.As(err, &cannotRun) {
			outcome = "no check ran"
		}
		fmt.Fprintf(stderr, "plugctl: %d %s in the manifest; %s\n", n, plural(n, "problem", "problems"), outcome)
		return exitUsage
	case errors.As(err, &cannotRun):
		fmt.Fprintf(stderr, "plugctl: %v\n", err)
		return exitUsage
	case errors.As(err, &usage):
		fmt.Fprintf(stderr, "plugctl: %v\n", usage)
		if strings.Contains(usage.cmd, " ") { // a subcommand: "plugctl help manifest enroll" shows manifest's help
			fmt.Fprintf(stderr, "Run 'plugctl %s --help' for usage.\n", usage.cmd)
		} else if usage.cmd != "" {
			fmt.Fprintf(stderr, "Run 'plugctl help %s' for usage.\n", usage.cmd)
		} else {
			fmt.Fprintln(stderr, "Run 'plugctl help' for usage.")
		}
		return exitUsage
	case errors.As(err, &help) && !errors.As(err, &exitErr):
		fmt.Fprintf(stderr, "plugctl: %v\n", err)
		return exitUsage
	}
	fmt.Fprintf(stderr, "plugctl: %v\n", err)
	return exitFailure
}

// usageError is a mistake in the command line: exit code 2, with a pointer
// to the help of the command it concerns.
type usageError struct {
	cmd string // the command whose help to show; empty: plugctl's
	err error
}

func (e *usageError) Error() string { return e.err.Error() }
func (e *usageError) Unwrap() error { return e.err }

func usagef(cmd, format string, args ...any) error {
	return &usageError{cmd: cmd, err: fmt.Errorf(format, args...)}
}

// onUsageError turns urfave/cli's flag parsing errors into usage errors;
// without it urfave/cli prints the whole help text before the error.
func onUsageError(c *cli.Context, err error, isSubcommand bool) error {
	cmd, flags := "", c.App.VisibleFlags()
	if isSubcommand {
		cmd, flags = commandPath(c), c.Command.VisibleFlags()
	}
	// The flag package names an unknown flag with one dash, however it was
	// written, and suggests nothing.
	if name, ok := strings.CutPrefix(err.Error(), "flag provided but not defined: -"); ok {
		var names []string
		for _, f := range flags {
			names = append(names, f.Names()...)
		}
		err = fmt.Errorf("unknown flag %s", dashed(name))
		if s := manifest.Suggest(name, names); s != "" {
			err = fmt.Errorf("unknown flag %s; did you mean %s?", dashed(name), dashed(s))
		}
	}
	return &usageError{cmd: cmd, err: err}
}

// commandPath names the command c runs with its parents, as
// "manifest enroll".
func commandPath(c *cli.Context) string {
	var names []string
	for _, l := range c.Lineage() {
		if l.Command != nil && l.Command.Name != "" && l.Command.Name != c.App.Name {
			names = append([]string{l.Command.Name}, names...)
		}
	}
	return strings.Join(names, " ")
}

// dashed writes a flag name as help shows it: --json, or -h for one letter.
func dashed(name string) string {
	if len(name) == 1 {
		return "-" + name
	}
	return "--" + name
}

func newApp(b Build, stdin io.Reader, stdout, stderr io.Writer) *cli.App {
	return &cli.App{
		Name:  "plugctl",
		Usage: "make and maintain out-of-process event plugins",
		UsageText: "plugctl command [command options] [arguments...]\n\n" +
			"plugctl new source acme         # a complete plugin project in ./acme\n" +
			"cd acme && $EDITOR plugin.toml  # add parameters and event kinds\n" +
			"plugctl generate                # refresh generated code; your code is untouched\n" +
			"plugctl generate --check        # CI: exit 1, with a diff, when generated code is stale\n" +
			"plugctl manifest enroll ./acme  # let hosts run it: its path and hash in their allow-list",
		Description: "plugctl reads a plugin manifest, plugin.toml, and generates a Go plugin\n" +
			"project from it: typed configuration with validation, typed event kinds,\n" +
			"the wire protocol runtime, a README, a Makefile and a CI workflow.\n" +
			"Files marked \"Code generated by plugctl. DO NOT EDIT.\" belong to plugctl;\n" +
			"the others (source.go or sink.go with the plugin's logic, go.mod, the\n" +
			"Makefile) are yours: generate makes them when missing and overwrites them\n" +
			"only with --force. plugin.toml it only reads.\n\n" +
			"Exit codes: 0 success; 1 failure, or generate --check found stale files;\n" +
			"2 a usage error or an invalid manifest.",
		Commands: []*cli.Command{
			newCommand(b),
			generateCommand(b),
			testCommand(),
			runCommand(),
			benchCommand(b),
			manifestCommand(),
			hostCommand(),
			versionCommand(b),
			completionCommand(),
		},
		Flags: []cli.Flag{
			// A flag of its own rather than urfave/cli's, whose output
			// differs from the version command's.
			&cli.BoolFlag{Name: "version", DisableDefaultText: true, Usage: "print the version of plugctl and exit"},
		},
		Action:               func(c *cli.Context) error { return rootAction(c, b) },
		HideVersion:          true,
		HideHelpCommand:      false,
		EnableBashCompletion: true,
		OnUsageError:         onUsageError,
		Reader:               stdin,
		Writer:               stdout,
		ErrWriter:            stderr,
		// Errors are printed and mapped to exit codes by exit, once;
		// the default handler would print them and call os.Exit.
		ExitErrHandler: func(*cli.Context, error) {},
	}
}

// rootAction runs when no command matched: it prints the help, the
// version, or an unknown-command error.
func rootAction(c *cli.Context, b Build) error {
	if c.Bool("version") {
		printVersion(c.App.Writer, b)
		return nil
	}
	if !c.Args().Present() {
		return cli.ShowAppHelp(c)
	}
	name := c.Args().First()
	if s := suggest(name, c.App.VisibleCommands()); s != "" {
		return usagef("", "unknown command %q; did you mean %q?", name, s)
	}
	return usagef("", "unknown command %q", name)
}

// suggest returns the name of the command closest to name, if one is close
// enough to be a typo of it.
func suggest(name string, cmds []*cli.Command) string {
	var names []string
	for _, c := range cmds {
		names = append(names, c.Names()...)
	}
	return manifest.Suggest(name, names)
}

// completionFlag is the flag urfave/cli's shell completion appends.
const completionFlag = "--generate-bash-completion"

// permute moves the flags of the command that args select in front of its
// positional arguments. urfave/cli/v2, like the flag package, stops parsing
// flags at the first positional argument, so "plugctl new source acme
// --dir x" would otherwise take "--dir" and "x" as more arguments. A "--"
// still ends the flags.
func permute(cmds []*cli.Command, args []string) []string {
	if len(args) == 0 || args[len(args)-1] == completionFlag {
		return args // completion needs its flag last, where it was put
	}
	i := 1
	var cmd *cli.Command
	for ; i < len(args); i++ {
		c := findCommand(cmds, args[i])
		if c == nil {
			break
		}
		cmd, cmds = c, c.Subcommands
	}
	if cmd == nil {
		return args
	}
	var flags, positional []string
	rest := args[i:]
	for j := 0; j < len(rest); j++ {
		a := rest[j]
		switch {
		case a == "--":
			positional = append([]string{"--"}, append(positional, rest[j+1:]...)...)
			j = len(rest)
		case len(a) > 1 && a[0] == '-':
			flags = append(flags, a)
			if takesValue(cmd, a) && j+1 < len(rest) {
				j++
				flags = append(flags, rest[j])
			}
		default:
			positional = append(positional, a)
		}
	}
	out := append([]string{}, args[:i]...)
	out = append(out, flags...)
	return append(out, positional...)
}

func findCommand(cmds []*cli.Command, name string) *cli.Command {
	for _, c := range cmds {
		if c.HasName(name) {
			return c
		}
	}
	return nil
}

// takesValue reports whether the flag written as arg, without an "=value",
// consumes the next argument as its value.
func takesValue(cmd *cli.Command, arg string) bool {
	name := strings.TrimLeft(arg, "-")
	if strings.Contains(name, "=") {
		return false
	}
	for _, f := range cmd.Flags {
		for _, n := range f.Names() {
			if n == name {
				v, ok := f.(cli.DocGenerationFlag)
				return ok && v.TakesValue()
			}
		}
	}
	return false
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// interruptible is the command's context, cancelled by Ctrl-C or SIGTERM:
// the command then stops its plugins and removes its temporary files
// instead of dying with them in place. A second signal during that
// clean-up kills the process, as if it had never been caught.
func interruptible(c *cli.Context) (context.Context, context.CancelFunc) {
	ctx, stop := signal.NotifyContext(ctxOf(c), os.Interrupt, syscall.SIGTERM)
	context.AfterFunc(ctx, stop)
	return ctx, stop
}

// ctxOf is the command's context, background when urfave/cli gives none.
func ctxOf(c *cli.Context) context.Context {
	if c.Context != nil {
		return c.Context
	}
	return context.Background()
}

// writeJSON prints v as indented JSON, the form of manifest and bench --json.
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
