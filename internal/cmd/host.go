package cmd

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/plugctl/plugctl/enroll"
	"github.com/plugctl/plugctl/supervisor"
	"github.com/urfave/cli/v2"
)

// hostCommand is `plugctl host`: a supervisor of enrolled source plugins.
func hostCommand() *cli.Command {
	def := supervisor.DefaultPolicy()
	return &cli.Command{
		Name:  "host",
		Usage: "run the registry's auto-launch source plugins: restarts, durable output, metrics",
		UsageText: "plugctl host [--registry DIR] [--listen SOCKET] [--out FILE|-] [--state DIR] [--metrics ADDR] [--config FILE]\n\n" +
			"plugctl host --out events.jsonl --state state              # exactly once into events.jsonl\n" +
			"plugctl host --listen /run/plugctl.sock --metrics 127.0.0.1:9464\n" +
			"plugctl host --config host.toml                            # instances and settings per plugin",
		Description: "host launches every auto_launch source entry of the registry and accepts\n" +
			"enrolled plugins that connect to --listen; others are rejected with their\n" +
			"reason. A plugin that exits is restarted with exponential backoff; one that\n" +
			"fails --crash-loop times within --crash-window is parked until its entry\n" +
			"changes. Revoking, removing or updating an entry takes effect live.\n\n" +
			"Events are appended to --out as JSON lines and acknowledged only once\n" +
			"synced to disk; a restart of a plugin or of the host resumes every\n" +
			"instance after its last event in the output, so each event is in it once\n" +
			"(--state saves reading the whole output at start).\n" +
			"SIGINT or SIGTERM drains every plugin and exits 0; a second one exits at once.\n" +
			"docs/HOST.md has the guarantee, the configuration file and the metrics.\n\n" +
			"Exit codes: 0 clean shutdown; 1 failure; 2 a usage error or a bad configuration.",
		Flags: []cli.Flag{
			registryFlag,
			&cli.StringFlag{Name: "listen", Usage: "also accept enrolled plugins on the Unix `SOCKET`"},
			&cli.StringFlag{Name: "out", Value: "-", Usage: "append events to `FILE` as JSON lines; - for standard output (no exactly-once across restarts)"},
			&cli.StringFlag{Name: "state", Usage: "keep each instance's acknowledged position in `DIR`"},
			&cli.StringFlag{Name: "metrics", Usage: "serve Prometheus metrics at http://`ADDR`/metrics, a loopback address such as 127.0.0.1:9464"},
			&cli.BoolFlag{Name: "metrics-public", DisableDefaultText: true, Usage: "allow --metrics on an address other than loopback"},
			&cli.StringFlag{Name: "config", Usage: "instances and settings per plugin, from the TOML `FILE`"},
			&cli.DurationFlag{Name: "drain", Value: supervisor.DefaultDrain, Usage: "bound `D` of each plugin's graceful stop"},
			pollFlag("poll each launched plugin's shared ring for up to `D` between frames before sleeping; a few ms bring lone events in microseconds and keep a core busy while they come"),
			&cli.DurationFlag{Name: "backoff-min", Value: def.Min, Usage: "delay `D` before the first restart of a failed plugin"},
			&cli.DurationFlag{Name: "backoff-max", Value: def.Max, Usage: "cap `D` of the restart delay, which doubles with each failure in a row"},
			&cli.IntFlag{Name: "crash-loop", Value: def.CrashLoop, Usage: "`N` failures within --crash-window park a plugin"},
			&cli.DurationFlag{Name: "crash-window", Value: def.CrashWindow, Usage: "the window `D` of --crash-loop"},
		},
		OnUsageError:    onUsageError,
		HideHelpCommand: true,
		Action:          runHost,
	}
}

func runHost(c *cli.Context) error {
	if c.NArg() > 0 {
		return usagef("host", "unexpected argument %q: host takes flags only", c.Args().First())
	}
	p := supervisor.DefaultPolicy()
	p.Min, p.Max, p.CrashLoop, p.CrashWindow = c.Duration("backoff-min"), c.Duration("backoff-max"), c.Int("crash-loop"), c.Duration("crash-window")
	switch {
	case p.Min <= 0 || p.Max < p.Min:
		return usagef("host", "--backoff-min %v --backoff-max %v: want 0 < min <= max", p.Min, p.Max)
	case p.CrashLoop < 1 || p.CrashWindow <= 0:
		return usagef("host", "--crash-loop %d --crash-window %v: want at least 1 failure within a positive window", p.CrashLoop, p.CrashWindow)
	case c.Duration("drain") <= 0:
		return usagef("host", "--drain %v: want a positive duration", c.Duration("drain"))
	case c.String("out") == "":
		return usagef("host", "--out: want a file, or - for standard output")
	}
	if addr := c.String("metrics"); addr != "" {
		if err := supervisor.CheckMetricsAddr(addr, c.Bool("metrics-public")); err != nil {
			return usagef("host", "%v", err)
		}
	}
	poll, err := pollOption(c, "host")
	if err != nil {
		return err
	}
	dir, err := enroll.ResolveDir(c.String("registry"))
	if err != nil {
		return err
	}
	o := supervisor.Options{Registry: dir, Listen: c.String("listen"), Out: c.String("out"), Stdout: c.App.Writer,
		State: c.String("state"), Metrics: c.String("metrics"), Policy: p, Drain: c.Duration("drain"), Poll: poll,
		Log: slog.New(slog.NewTextHandler(c.App.ErrWriter, nil))}
	if path := c.String("config"); path != "" {
		if o.Config, err = supervisor.LoadConfig(path); err != nil {
			return usagef("host", "%v", err)
		}
	}
	return superviseUntilSignal(ctxOf(c), o)
}

// errSecondSignal: a second SIGINT or SIGTERM cut the drain short.
var errSecondSignal = errors.New("second signal: exiting without draining the plugins (the output keeps every event written so far; the next start resumes after them)")

// superviseUntilSignal runs the supervisor until SIGINT or SIGTERM, then
// lets it drain; a second signal returns at once, and the process exit
// that follows takes the plugins down with it (they die with their host).
func superviseUntilSignal(ctx context.Context, o supervisor.Options) error {
	signals := make(chan os.Signal, 2)
	signal.Notify(signals, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(signals)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- supervisor.Run(ctx, o) }()
	select {
	case err := <-done:
		return err
	case sig := <-signals:
		o.Log.Info("signal: shutting down", "signal", sig.String())
		cancel()
	}
	select {
	case err := <-done:
		return err
	case <-signals:
		return errSecondSignal
	case <-time.After(o.Drain + time.Minute): // Run bounds itself well within this; never hang regardless
		return errors.New("shutdown did not finish in time")
	}
}
