package cmd

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/BurntSushi/toml"
	"github.com/plugctl/plugctl/acceptance"
	"github.com/plugctl/plugctl/manifest"
	"github.com/urfave/cli/v2"
)

// testCommand is `plugctl test`: the acceptance checks, run against the
// built plugin as a separate process.
func testCommand() *cli.Command {
	return &cli.Command{
		Name:  "test",
		Usage: "build a plugin and run the acceptance checks against it over the wire",
		UsageText: "plugctl test [DIR] [--run REGEX] [--skip REGEX] [--set key=value]... [--json] [--junit FILE]\n" +
			"plugctl test --exec \"CMD ARGS...\" [--manifest FILE]\n\n" +
			"plugctl test                          # build the plugin in . and run every check\n" +
			"plugctl test ./acme -v                # show each check's steps and the plugin's stderr\n" +
			"plugctl test --run '^source/'         # only the source checks\n" +
			"plugctl test --set url=https://x.test # configuration for the instances\n" +
			"plugctl test --set-instance 2:path=b.jsonl  # instance 2's own value\n" +
			"plugctl test --json --junit report.xml\n" +
			"plugctl test --exec \"python3 plugin.py\" --manifest plugin.toml",
		Description: "test builds the plugin in DIR (default .) with go build, starts it as a\n" +
			"separate process and runs the acceptance checks over the wire protocol:\n" +
			"handshake, specification, configuration, source or sink behaviour,\n" +
			"instances and lifecycle. Expectations come from DIR/plugin.toml. With\n" +
			"--exec nothing is built: the checks run against any executable that speaks\n" +
			"the protocol, with expectations from --manifest when given, otherwise from\n" +
			"the plugin's own specification. The plugin runs in a scratch directory\n" +
			"either way, so what the checks make it write stays out of yours.\n\n" +
			"Instances are configured with the parameters' defaults, overridden by\n" +
			"their examples in plugin.toml, then by --config FILE (a TOML file of\n" +
			"key = value) and then by --set key=value; a required parameter with none\n" +
			"of these gets a value found from its rules. Checks keep the values you\n" +
			"give, except for the parameter whose rules a check probes. The checks open\n" +
			"instance 1, and instances/isolated also instance 2, which differs from\n" +
			"instance 1 in one string default changed within its rules, unless\n" +
			"--set-instance 2:key=value gives it its own (--set-instance 1:... is\n" +
			"instance 1's).\n\n" +
			"A check that cannot run for want of a parameter's value skips, and the run\n" +
			"then fails, saying which --set to add (or give the parameter an example),\n" +
			"unless --allow-skips is given. Skips for what the plugin is (a sink has no\n" +
			"source checks) or does not do (a source without an end) never fail a run.\n\n" +
			"Exit codes: 0 every check passed; 1 a check failed, or checks skipped for\n" +
			"want of configuration; 2 the checks could not run (bad flags, a bad\n" +
			"manifest, a failed build, not a plugin); --json and --junit then report\n" +
			"one failing entry, manifest, build or start, saying why.",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "exec", Usage: "run the checks against `CMD` (split on spaces) instead of building DIR"},
			&cli.StringFlag{Name: "manifest", Usage: "expectations from this plugin.toml `FILE` (default DIR/plugin.toml; with --exec: the plugin's own spec)"},
			&cli.StringFlag{Name: "run", Usage: "run only the checks whose names match `REGEX`"},
			&cli.StringFlag{Name: "skip", Usage: "skip the checks whose names match `REGEX`"},
			&cli.DurationFlag{Name: "timeout", Value: acceptance.DefaultTimeout, Usage: "bound on each check"},
			&cli.BoolFlag{Name: "verbose", Aliases: []string{"v"}, DisableDefaultText: true, Usage: "show each check's steps and the plugin's stderr"},
			&cli.BoolFlag{Name: "json", DisableDefaultText: true, Usage: "print one JSON object per check instead of text"},
			&cli.StringFlag{Name: "junit", Usage: "also write a JUnit XML report to `FILE`"},
			&cli.StringSliceFlag{Name: "set", Usage: "a configuration value, `key=value` (repeatable)"},
			&cli.StringFlag{Name: "config", Usage: "configuration values from a TOML `FILE` of key = value"},
			&cli.StringSliceFlag{Name: "set-instance", Usage: "a value for one instance only, `N:key=value` with N 1 or 2 (repeatable)"},
			&cli.BoolFlag{Name: "allow-skips", DisableDefaultText: true, Usage: "pass a run in which checks skipped for want of configuration"},
		},
		OnUsageError:    onUsageError,
		HideHelpCommand: true,
		Action:          runTest,
	}
}

// cannotRunError means the checks never started: exit code 2. step
// names what failed (manifest, build, start) in the report a CI reads.
type cannotRunError struct {
	step string
	err  error
}

// cannotRunExpectations says, per step, what had to work for the checks to
// run.
var cannotRunExpectations = map[string]string{
	"manifest": "plugin.toml loads",
	"build":    "the plugin builds with go build",
	"start":    "the plugin starts, completes the handshake and answers SPEC_REQUEST",
}

// result is the one failing entry a report holds when nothing ran.
func (e *cannotRunError) result() acceptance.Result {
	return acceptance.Result{Name: e.step, Status: acceptance.Fail, Expected: cannotRunExpectations[e.step], Got: e.err.Error()}
}

func (e *cannotRunError) Error() string { return e.err.Error() }
func (e *cannotRunError) Unwrap() error { return e.err }

// errChecksFailed is returned when a check failed; the report already
// says which, so exit prints nothing more.
var errChecksFailed = errors.New("acceptance checks failed")

func runTest(c *cli.Context) error {
	if c.NArg() > 1 {
		return usagef("test", "expected at most one directory, got %d arguments", c.NArg())
	}
	dir := c.Args().First()
	if dir == "" {
		dir = "."
	}
	opts := acceptance.Options{Timeout: c.Duration("timeout"), Verbose: c.Bool("verbose")}
	var err error
	if opts.Run, err = compileFlag(c, "run"); err != nil {
		return err
	}
	if opts.Skip, err = compileFlag(c, "skip"); err != nil {
		return err
	}
	if opts.Settings, err = settingsFrom("test", c.String("config"), c.StringSlice("set")); err != nil {
		return err
	}
	if opts.InstanceSettings, err = instanceSettings(c.StringSlice("set-instance")); err != nil {
		return err
	}

	ctx, stop := interruptible(c)
	defer stop()
	results, err := checkPlugin(ctx, c, dir, opts)
	if ctx.Err() != nil {
		return errors.New("interrupted: the checks did not finish, no report")
	}
	if err != nil {
		// A CI dashboard reading --json or --junit must still see why
		// nothing ran: one failing entry that says so.
		var cr *cannotRunError
		if errors.As(err, &cr) && (c.Bool("json") || c.String("junit") != "") {
			if rerr := report(c, []acceptance.Result{cr.result()}, opts.Verbose); rerr != nil {
				return rerr
			}
		}
		return err
	}
	if err := report(c, results, opts.Verbose); err != nil {
		return err
	}
	for _, r := range results {
		if r.Status == acceptance.Fail {
			return errChecksFailed
		}
	}
	if n, missing := acceptance.WantConfig(results); n > 0 && !c.Bool("allow-skips") {
		var sets []string
		for _, p := range missing {
			sets = append(sets, "--set "+p+"=VALUE")
		}
		fmt.Fprintf(c.App.ErrWriter, "plugctl test: %d %s skipped for want of configuration: add %s, or pass --allow-skips\n",
			n, plural(n, "check", "checks"), strings.Join(sets, " "))
		return errChecksFailed
	}
	return nil
}

// checkPlugin loads the expectations, builds the plugin unless --exec
// names it, and runs the checks. An error that kept the checks from
// running is a *cannotRunError naming the step.
func checkPlugin(ctx context.Context, c *cli.Context, dir string, opts acceptance.Options) ([]acceptance.Result, error) {
	manifestPath := c.String("manifest")
	exe := c.String("exec")
	if exe == "" && manifestPath == "" {
		manifestPath = filepath.Join(dir, manifest.FileName)
	}
	if manifestPath != "" {
		m, err := manifest.Load(manifestPath)
		if errors.Is(err, fs.ErrNotExist) {
			return nil, usagef("test", "no %s: run plugctl test in a plugin project, or give --exec and --manifest", manifestPath)
		}
		if err != nil {
			return nil, &cannotRunError{step: "manifest", err: err}
		}
		opts.Manifest = m
	}

	if exe != "" {
		opts.Command = strings.Fields(exe)
	} else {
		bin, cleanup, err := acceptance.Build(ctx, dir)
		if err != nil {
			return nil, &cannotRunError{step: "build", err: err}
		}
		defer cleanup()
		opts.Command = []string{bin}
		opts.SpecHint = "(the generated code is older than " + manifest.FileName + "? run plugctl generate)"
	}

	results, err := acceptance.Run(ctx, opts)
	if err != nil {
		return nil, &cannotRunError{step: "start", err: err}
	}
	return results, nil
}

// report writes the results as --json and --junit ask, else as text.
func report(c *cli.Context, results []acceptance.Result, verbose bool) error {
	if junit := c.String("junit"); junit != "" {
		if err := writeJUnit(junit, results); err != nil {
			return err
		}
	}
	if c.Bool("json") {
		return acceptance.WriteJSON(c.App.Writer, results)
	}
	acceptance.WriteText(c.App.Writer, results, verbose)
	return nil
}

// instanceSettings parses --set-instance N:key=value: settings by
// instance, for the instances the checks open.
func instanceSettings(values []string) (map[uint16]map[string]string, error) {
	out := map[uint16]map[string]string{}
	for _, v := range values {
		n, kv, ok := strings.Cut(v, ":")
		k, val, okKV := strings.Cut(kv, "=")
		if !ok || !okKV || k == "" || (n != "1" && n != "2") {
			return nil, usagef("test", "--set-instance %q: want N:key=value with N 1 or 2, the instances the checks open", v)
		}
		inst := uint16(n[0] - '0')
		if out[inst] == nil {
			out[inst] = map[string]string{}
		}
		out[inst][k] = val
	}
	return out, nil
}

func compileFlag(c *cli.Context, name string) (*regexp.Regexp, error) {
	s := c.String(name)
	if s == "" {
		return nil, nil
	}
	re, err := regexp.Compile(s)
	if err != nil {
		return nil, usagef("test", "--%s: %v", name, err)
	}
	return re, nil
}

// settingsFrom merges --config FILE and then --set values, later winning,
// for command cmd's messages.
func settingsFrom(cmd, file string, sets []string) (map[string]string, error) {
	settings := map[string]string{}
	if file != "" {
		var raw map[string]any
		if _, err := toml.DecodeFile(file, &raw); err != nil {
			return nil, usagef(cmd, "--config %s: %v", file, err)
		}
		for k, v := range raw {
			switch v := v.(type) {
			case []any:
				items := make([]string, len(v))
				for i, item := range v {
					items[i] = fmt.Sprint(item)
				}
				settings[k] = strings.Join(items, ",")
			case map[string]any:
				return nil, usagef(cmd, "--config %s: %s is a table; write parameters as key = value (quote dotted names: \"auth.token\" = ...)", file, k)
			default:
				settings[k] = fmt.Sprint(v)
			}
		}
	}
	for _, s := range sets {
		k, v, ok := strings.Cut(s, "=")
		if !ok || k == "" {
			return nil, usagef(cmd, "--set %q: want key=value", s)
		}
		settings[k] = v
	}
	return settings, nil
}

func writeJUnit(path string, results []acceptance.Result) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := acceptance.WriteJUnit(f, "plugctl test", results); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
