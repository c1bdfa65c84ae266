package cmd

import (
	"os"
	"strings"
	"time"

	"github.com/plugctl/plugctl/benchrun"
	"github.com/plugctl/plugctl/devhost"
	"github.com/plugctl/plugctl/wire"
	"github.com/urfave/cli/v2"
)

// maxSynthetic bounds --synthetic and --size: one event must fit in a
// frame of the host's default limit, after a WRITE's batch id and event
// count (12 bytes, the larger prefix of EVENTS and WRITE) and the event's
// own header.
const maxSynthetic = wire.DefaultMaxFrame - 12 - wire.EventHeaderSize

// minRound is the shortest measured window of a round: shorter, a single
// batch decides the figures.
const minRound = 100 * time.Millisecond

// benchCommand is `plugctl bench`: how fast one plugin goes.
func benchCommand(b Build) *cli.Command {
	return &cli.Command{
		Name:      "bench",
		Usage:     "measure a plugin: events/s, MB/s, latency, CPU and memory, min/median/max over rounds",
		ArgsUsage: "[DIR]",
		UsageText: "plugctl bench [DIR] [--exec CMD] [--set key=value]... [--duration D] [--rounds N] [--instances N] [--json]\n" +
			"plugctl bench --synthetic SIZE [--sink] ...\n\n" +
			"plugctl bench ./acme --set interval=20ms       # a source: throughput, latency, costs\n" +
			"plugctl bench ./acme-out --size 1024          # a sink fed 1 KiB events\n" +
			"plugctl bench --synthetic 64 --duration 10s  # the protocol and runtime alone, 64-byte events\n" +
			"plugctl bench --synthetic 1024 --sink --json  # the same for a sink, for scripts",
		Description: "bench builds the plugin in DIR (default .) as plugctl test does, or runs\n" +
			"--exec, and measures it over --rounds rounds (default 3) that share\n" +
			"--duration (default 3s). Each round launches the plugin anew, configures\n" +
			"it, opens --instances instances, warms up for a third of the round\n" +
			"(100 ms to 2 s), then measures a window of steady state. Every figure is\n" +
			"printed as min, median and max over the rounds: results vary from run\n" +
			"to run on a shared machine, so one figure would mislead. A parameter\n" +
			"you give no value (--set, --config, --global) takes its example from\n" +
			"DIR/plugin.toml when it has one, as in plugctl test.\n\n" +
			"A source sends as fast as it does; bench reports events/s and MB/s of\n" +
			"payload, the time from launch to its first event, emit → host latency\n" +
			"p50/p99/p99.9, batches/s and mean batch size. Emit → host latency is the\n" +
			"host's receive time minus the event's time, which the plugin stamps when\n" +
			"it emits the event (Unix ns, one machine's clock): a source that stamps\n" +
			"events with another time (when a record was made, say) measures that.\n\n" +
			"A sink is fed generated events of --size bytes (a JSON object) of its\n" +
			"first event kind, in batches of up to 512, one batch in flight per\n" +
			"instance; bench reports events/s written with acknowledgements,\n" +
			"WRITE → RESULT latency p50/p99 per batch, and the retries it asked for.\n\n" +
			"--poll D (default 200µs) is how long the host polls the shared ring\n" +
			"between frames, at most twice the last pause, before it sleeps until\n" +
			"the plugin's doorbell wakes it (host.Options.Poll for a host\n" +
			"application): with a few ms, a source emitting lone events more often\n" +
			"than every D/2 reaches the host in microseconds rather than the tens a\n" +
			"wake-up costs, while a host core stays busy; 0: no polling beyond a\n" +
			"20µs spin.\n\n" +
			"For both: host CPU per event (plugctl bench's own process, getrusage),\n" +
			"plugin CPU per event (/proc/PID/task/*/schedstat) and plugin peak RSS\n" +
			"(VmHWM in /proc/PID/status). Off Linux the plugin figures are n/a, and\n" +
			"--json gives them as null with the reason under \"unavailable\".\n\n" +
			"--synthetic SIZE measures the protocol and the runtime alone: bench\n" +
			"generates a no-op plugin with plugctl's own generator in a temporary\n" +
			"directory and builds it (with Go, offline): a source that emits\n" +
			"SIZE-byte events as fast as the host takes them or, with --sink, a sink\n" +
			"that accepts everything, fed SIZE-byte events.\n\n" +
			"A table for people goes to standard output, or with --json one JSON\n" +
			"object with stable field names. On a terminal, standard error shows a\n" +
			"progress line while bench runs.\n\n" +
			"Exit codes: 0 measured; 1 the plugin failed, or sent nothing to measure;\n" +
			"2 a usage error, a plugin that does not build, or a configuration the\n" +
			"plugin refused.",
		Flags: append(pluginFlags(),
			&cli.DurationFlag{Name: "duration", Value: benchDefaultDuration, Usage: "measured time `D`, over all rounds"},
			&cli.IntFlag{Name: "rounds", Value: 3, Usage: "how many rounds, each with a fresh plugin process"},
			&cli.IntFlag{Name: "size", Value: 64, Usage: "a sink's events: payload of `BYTES`"},
			&cli.IntFlag{Name: "synthetic", Usage: "measure a generated no-op plugin with events of `SIZE` bytes"},
			&cli.BoolFlag{Name: "sink", Usage: "with --synthetic: a sink instead of a source"},
			&cli.BoolFlag{Name: "json", Usage: "print one JSON object instead of a table"},
			pollFlag("the host polls the shared ring for up to `D` between frames before it sleeps"),
		),
		OnUsageError:    onUsageError,
		HideHelpCommand: true,
		Action:          func(c *cli.Context) error { return runBench(c, b) },
	}
}

const benchDefaultDuration = 3 * time.Second

func runBench(c *cli.Context, b Build) error {
	o := benchrun.Options{Instances: c.Int("instances"), Duration: c.Duration("duration"), Rounds: c.Int("rounds"),
		PayloadBytes: c.Int("size"), Stderr: c.App.ErrWriter}
	switch {
	case c.NArg() > 1:
		return usagef("bench", "expected at most one directory, got %d arguments", c.NArg())
	case o.Instances < 1:
		return usagef("bench", "--instances %d: want 1 or more", o.Instances)
	case o.Rounds < 1:
		return usagef("bench", "--rounds %d: want 1 or more", o.Rounds)
	case o.Duration/time.Duration(o.Rounds) < minRound:
		return usagef("bench", "--duration %v over %d %s: want at least %v a round", o.Duration, o.Rounds, plural(o.Rounds, "round", "rounds"), minRound)
	case o.PayloadBytes < 1 || o.PayloadBytes > maxSynthetic:
		return usagef("bench", "--size %d: want 1 to %d", o.PayloadBytes, maxSynthetic)
	case c.Bool("sink") && !c.IsSet("synthetic"):
		return usagef("bench", "--sink goes with --synthetic SIZE")
	}
	var err error
	if o.Poll, err = pollOption(c, "bench"); err != nil {
		return err
	}
	if o.Settings, o.Global, err = pluginSettings(c, "bench"); err != nil {
		return err
	}
	if isTerminal(c.App.ErrWriter) {
		o.Progress = c.App.ErrWriter
	}
	ctx, stop := interruptible(c)
	defer stop()

	exe, dir := c.String("exec"), c.Args().First()
	switch {
	case c.IsSet("synthetic"):
		size := c.Int("synthetic")
		if size < 1 || size > maxSynthetic {
			return usagef("bench", "--synthetic %d: want a payload size of 1 to %d bytes", size, maxSynthetic)
		}
		if exe != "" || dir != "" {
			return usagef("bench", "--synthetic measures a generated plugin: give no directory or --exec with it")
		}
		role := "source"
		if c.Bool("sink") {
			role = "sink"
		}
		tmp, err := os.MkdirTemp("", "plugctl-synthetic-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(tmp)
		if err := benchrun.WriteSynthetic(tmp, role, size, b.Packages, b.Version()); err != nil {
			return err
		}
		dir, o.PayloadBytes = tmp, size
	case exe != "":
		if dir != "" {
			return usagef("bench", "give a directory or --exec, not both")
		}
		o.Command = strings.Fields(exe)
	case dir == "":
		dir = "."
	}
	if o.Command == nil {
		command, cleanup, err := buildPlugin(ctx, dir, o.Settings, o.Global)
		if err != nil {
			return err
		}
		defer cleanup()
		o.Command = command
	}

	res, err := benchrun.Run(ctx, o)
	if res == nil {
		return devhost.AsConfigError(err)
	}
	// Interrupted after some rounds: their figures, then the error.
	if c.Bool("json") {
		if werr := writeJSON(c.App.Writer, res); werr != nil {
			return werr
		}
	} else if werr := res.WriteTable(c.App.Writer); werr != nil {
		return werr
	}
	return err
}
