package cmd

import (
	"time"

	"github.com/plugctl/plugctl/wire"
	"github.com/urfave/cli/v2"
)

// pollFlag is --poll of plugctl bench and plugctl host, for
// host.Options.Poll; usage says what it does for the command.
func pollFlag(usage string) cli.Flag {
	return &cli.DurationFlag{Name: "poll", Value: wire.DefaultRingPoll, Usage: usage + "; 0: no polling beyond a 20µs spin (host.Options.Poll)"}
}

// pollOption checks --poll for command cmd's messages and turns it into
// host.Options.Poll, whose zero means its default: --poll 0 is no
// polling.
func pollOption(c *cli.Context, cmd string) (time.Duration, error) {
	switch d := c.Duration("poll"); {
	case d < 0:
		return 0, usagef(cmd, "--poll %v: want 0 or more", d)
	case d == 0:
		return -1, nil
	default:
		return d, nil
	}
}
