package cmd

import (
	"context"
	"errors"
	"io/fs"
	"path/filepath"

	"github.com/plugctl/plugctl/acceptance"
	"github.com/plugctl/plugctl/manifest"
	"github.com/urfave/cli/v2"
)

// pluginFlags are the flags of the commands that host a plugin, plugctl
// run and plugctl bench: what to run and how to configure it.
func pluginFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "exec", Usage: "run `CMD` (split on spaces) instead of building DIR"},
		&cli.StringSliceFlag{Name: "set", Usage: "an instance setting, `key=value` (repeatable)"},
		&cli.StringFlag{Name: "config", Usage: "instance settings from a TOML `FILE` of key = value"},
		&cli.StringSliceFlag{Name: "global", Usage: "a process-wide setting, `key=value` (repeatable)"},
		&cli.IntFlag{Name: "instances", Value: 1, Usage: "how many instances to open"},
	}
}

// pluginSettings reads --config and --set (instance settings) and --global
// (process-wide ones) for command cmd's messages.
func pluginSettings(c *cli.Context, cmd string) (settings, global map[string]string, err error) {
	if settings, err = settingsFrom(cmd, c.String("config"), c.StringSlice("set")); err != nil {
		return nil, nil, err
	}
	if global, err = settingsFrom(cmd, "", c.StringSlice("global")); err != nil {
		return nil, nil, err
	}
	return settings, global, nil
}

// buildPlugin builds the project in dir for a hosting command, after
// filling in its manifest's examples where settings and global have no
// value. cleanup removes the binary.
func buildPlugin(ctx context.Context, dir string, settings, global map[string]string) (command []string, cleanup func(), err error) {
	if err := withExamples(dir, settings, global); err != nil {
		return nil, nil, err
	}
	bin, cleanup, err := acceptance.Build(ctx, dir)
	if err != nil {
		return nil, nil, &cannotRunError{step: "build", err: err}
	}
	return []string{bin}, cleanup, nil
}

// withExamples gives each parameter of the manifest in dir that has an
// example and no value in settings (instance parameters) or global its
// example, as plugctl test does. Without a manifest there is none.
func withExamples(dir string, settings, global map[string]string) error {
	m, err := manifest.Load(filepath.Join(dir, manifest.FileName))
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	for _, sc := range []struct {
		params []manifest.Param
		into   map[string]string
	}{{m.Config, settings}, {m.Global, global}} {
		for _, p := range sc.params {
			if _, set := sc.into[p.Name]; p.HasExample && !set {
				sc.into[p.Name] = p.Example
			}
		}
	}
	return nil
}
