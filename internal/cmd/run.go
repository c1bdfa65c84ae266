package cmd

import (
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"

	"github.com/plugctl/plugctl/devhost"
	"github.com/urfave/cli/v2"
	"golang.org/x/term"
)

// runCommand is `plugctl run`: a development host that shows what a plugin
// does.
func runCommand() *cli.Command {
	return &cli.Command{
		Name:      "run",
		Usage:     "run a plugin and watch it work: a source's events as JSON lines, a sink fed JSON lines",
		ArgsUsage: "[DIR]",
		UsageText: "plugctl run [DIR] [--set key=value]... [--instances N] [--resume POS] [--max-events N] [--duration D]\n" +
			"plugctl run --exec \"CMD ARGS...\" ...\n\n" +
			"plugctl run ./acme | jq .payload             # every event, live\n" +
			"plugctl run ./acme --set interval=100ms --max-events 10\n" +
			"plugctl run ./acme --resume 41                # continue after position 41\n" +
			"plugctl run ./acme | plugctl run ./acme-out   # a source into a sink\n" +
			"plugctl run ./acme-out --input events.jsonl   # a sink fed from a file",
		Description: "run builds the plugin in DIR (default .) as plugctl test does, or runs\n" +
			"--exec, configures it and opens its instances. A parameter you give no\n" +
			"value (--set, --config, --global) takes its example from DIR/plugin.toml\n" +
			"when it has one, as in plugctl test.\n\n" +
			"A source's events go to standard output, one JSON line each, flushed as\n" +
			"they arrive: instance, position, time (RFC 3339 with nanoseconds), kind,\n" +
			"and the payload (as JSON, or payload_base64 when it is not JSON). On a\n" +
			"terminal, standard error shows a live status line above which the\n" +
			"plugin's log lines appear; elsewhere it gets the log lines only.\n\n" +
			"A sink reads such lines from standard input (or --input FILE), writes\n" +
			"them in batches and reports each batch it had to retry or that failed.\n" +
			"Positions are given anew, 1, 2, ... in input order.\n\n" +
			"Ctrl+C (or SIGTERM) stops with a drain and prints a summary with the\n" +
			"--resume value that continues from there; a second Ctrl+C kills at once.\n\n" +
			"An instance that fails is reported (plugctl run: instance N failed: ...)\n" +
			"while the others go on.\n\n" +
			"Exit codes: 0 a clean stop; 1 the plugin or one of its instances failed,\n" +
			"or a sink refused a batch or got a bad line; 2 a usage error or a\n" +
			"configuration the plugin refused (each bad parameter on its own line).",
		Flags: append(pluginFlags(),
			&cli.StringSliceFlag{Name: "resume", Usage: "continue after position `POS`, or N=POS for instance N only"},
			&cli.Int64Flag{Name: "max-events", Usage: "stop after `N` events"},
			&cli.DurationFlag{Name: "duration", Usage: "stop after `D`, such as 30s"},
			&cli.StringFlag{Name: "format", Value: "json", Usage: "events as `json` lines or as text for people"},
			&cli.StringFlag{Name: "input", Usage: "a sink's input: JSON lines from `FILE` instead of standard input"},
		),
		OnUsageError:    onUsageError,
		HideHelpCommand: true,
		Action:          runRun,
	}
}

func runRun(c *cli.Context) error {
	if c.NArg() > 1 {
		return usagef("run", "expected at most one directory, got %d arguments", c.NArg())
	}
	o := devhost.Options{Instances: c.Int("instances"), MaxEvents: c.Int64("max-events"), Duration: c.Duration("duration"),
		Input: c.App.Reader, Stdout: c.App.Writer, Stderr: c.App.ErrWriter}
	var err error
	if o.Instances < 1 {
		return usagef("run", "--instances %d: want 1 or more", o.Instances)
	}
	switch f := c.String("format"); f {
	case "json":
	case "text":
		o.Text = true
	default:
		return usagef("run", "--format %q: want json or text", f)
	}
	if o.Settings, o.Global, err = pluginSettings(c, "run"); err != nil {
		return err
	}
	if o.Resume, err = resumeFlags(c.StringSlice("resume"), o.Instances); err != nil {
		return err
	}
	if in := c.String("input"); in != "" {
		f, err := os.Open(in)
		if err != nil {
			return usagef("run", "--input: %v", err)
		}
		defer f.Close()
		o.Input = f
	}
	o.Status = isTerminal(c.App.ErrWriter)

	ctx := ctxOf(c)
	if exe := c.String("exec"); exe != "" {
		if c.NArg() > 0 {
			return usagef("run", "give a directory or --exec, not both")
		}
		o.Command = strings.Fields(exe)
	} else {
		dir := c.Args().First()
		if dir == "" {
			dir = "."
		}
		command, cleanup, err := buildPlugin(ctx, dir, o.Settings, o.Global)
		if err != nil {
			return err
		}
		defer cleanup()
		o.Command = command
	}

	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	// A reader that goes away (plugctl run | head) makes writes fail with
	// EPIPE, which the run reports with its summary, rather than kill it.
	// Notify, not Ignore: an ignored signal stays ignored in the plugin.
	signal.Notify(make(chan os.Signal, 1), syscall.SIGPIPE)
	defer signal.Stop(sigs)
	o.Interrupt = sigs
	sum, err := devhost.Run(ctx, o)
	if sum != nil {
		sum.Write(c.App.ErrWriter)
		if err == nil && (sum.Errors > 0 || sum.Failed > 0) {
			return errRunErrors
		}
	}
	return err
}

// errRunErrors: a sink refused batches or got bad lines, or source
// instances failed; the summary and the lines before it already say which.
var errRunErrors = fmt.Errorf("the run had errors")

// resumeFlags parses --resume POS and --resume N=POS.
func resumeFlags(values []string, instances int) (map[int]uint64, error) {
	out := map[int]uint64{}
	for _, v := range values {
		inst, pos := "0", v
		if a, b, ok := strings.Cut(v, "="); ok {
			inst, pos = a, b
		}
		n, err := strconv.Atoi(inst)
		if err != nil || n < 0 || n > instances {
			return nil, usagef("run", "--resume %s: the instance must be 1 to %d", v, instances)
		}
		p, err := strconv.ParseUint(pos, 10, 64)
		if err != nil {
			return nil, usagef("run", "--resume %s: want a position (an unsigned integer)", v)
		}
		out[n] = p
	}
	return out, nil
}

// isTerminal reports whether w is a terminal, where a live status line
// belongs.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}
