// Package acceptance holds the checks behind `plugctl test`: rules every
// plugctl plugin must follow, checked against the plugin as a separate
// process over the wire protocol, so they hold for a plugin written in any
// language. Each check launches its own plugin processes, misbehaves as a
// host where that is the point, and reports what it expected and what it
// got.
package acceptance

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/plugctl/plugctl/manifest"
	"github.com/plugctl/plugctl/wire"
)

// Options says what to check and how.
type Options struct {
	Command  []string           // the plugin executable and its arguments
	Manifest *manifest.Manifest // expectations; nil: the plugin's own SPEC
	// Settings is the user's configuration (--set, --config). Keys naming
	// a global parameter go to SETUP, all others to OPEN. Checks keep
	// these values, except for a parameter whose rules a check probes.
	// Parameters left out take the manifest's example, else the default;
	// a required one without either gets a value found from its rules.
	Settings map[string]string
	// InstanceSettings are settings for one instance, over Settings: the
	// checks open instance 1, and instances/isolated also instance 2,
	// which otherwise differs from instance 1 in one derived value. They
	// cannot name a global parameter.
	InstanceSettings map[uint16]map[string]string
	Run, Skip        *regexp.Regexp // select checks by name; nil selects all, skips none
	Timeout          time.Duration  // per check; 0 means DefaultTimeout
	Verbose          bool           // keep every check's steps and the plugin's stderr
	Env              []string       // added to the plugin's environment
	// SpecHint, when set, follows spec/matches-manifest's differences: the
	// likely cause and its fix, such as generated code older than the
	// manifest.
	SpecHint string
}

// DefaultTimeout bounds one check when Options.Timeout is zero.
const DefaultTimeout = 10 * time.Second

// parallel is how many checks run at once. Checks mostly wait on a plugin,
// so this is above the core count; it is bounded so that timing checks
// (heartbeats, exits) are not starved on a small machine.
const parallel = 12

// stderrTail is how many of the plugin's last stderr lines a failure shows.
const stderrTail = 10

// Status is a check's outcome.
type Status string

const (
	Pass Status = "pass"
	Fail Status = "fail"
	Skip Status = "skip"
)

// Result is one check's outcome.
type Result struct {
	Name     string
	Status   Status
	Duration time.Duration
	Expected string   // on failure: the rule
	Got      string   // on failure: what the plugin did
	Stderr   []string // on failure, or with Verbose: the plugin's last stderr lines
	Steps    []string // with Verbose: what the check did
	Reason   string   // on skip: why
	// Missing names, on a skip for want of configuration, the parameters
	// the user must give values for (--set, or an example in the
	// manifest) for the check to run; empty for a skip the plugin's own
	// nature or declarations cause.
	Missing []string
}

// env is what every check of one run shares.
type env struct {
	opts   Options
	dir    string          // the plugins' working directory, so files they write stay out of the user's project
	spec   wire.Spec       // expectations: the manifest's, else the plugin's SPEC
	hello  wire.Hello      // what the plugin said first: its versions and kind table
	secret map[string]bool // names of secret parameters
	cfg    config          // the valid configuration, instance 1's
	cfgErr error           // why there is none: a skip
	// second is instance 2's configuration when the user gave settings
	// for it, or why there is none; both nil: derived from cfg.
	second    *config
	secondErr error
	given     map[string]bool // parameters the user set: derived configurations keep them
	hide      []string        // the user's secret values, kept out of reports
	// faultSlots bounds the fault plugins running at once (faultParallel).
	faultSlots chan struct{}
	// blocker is the check whose failure every check that needs the
	// valid configuration would repeat, found while probing; nil if none.
	blocker *blocker
}

// blocker is a failure found while probing that keeps the plugin from
// being configured: its SPEC is not the manifest's, or it refuses the
// valid configuration. The check that owns the cause reports it; the
// checks that need a configured plugin skip, naming that check, so one
// cause is reported once.
type blocker struct {
	check string // the check that reports the cause
	needs string // what the skipping checks needed, for their reason
}

// Run runs the selected checks against the plugin and returns their
// results in registry order. It fails only when the checks cannot run at
// all: the command does not start, or does not complete a handshake and
// answer SPEC_REQUEST.
func Run(ctx context.Context, opts Options) ([]Result, error) {
	if len(opts.Command) == 0 {
		return nil, errors.New("acceptance: no plugin command to run")
	}
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultTimeout
	}
	opts.Command = absCommand(opts.Command)
	// The plugins run in a scratch directory, so that what the checks
	// make them write stays out of the user's.
	dir, err := os.MkdirTemp("", "plugctl-test-work-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	e, err := probe(ctx, opts, dir)
	if err != nil {
		return nil, err
	}
	var selected []check
	for _, c := range registry {
		if (opts.Run == nil || opts.Run.MatchString(c.name)) && (opts.Skip == nil || !opts.Skip.MatchString(c.name)) {
			selected = append(selected, c)
		}
	}
	results := make([]Result, len(selected))
	sem := make(chan struct{}, parallel)
	var wg sync.WaitGroup
	for i, c := range selected {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			results[i] = e.run(ctx, c)
		})
	}
	wg.Wait()
	return results, nil
}

// probe starts the plugin once to learn its specification, which the
// checks derive configurations and expectations from.
func probe(ctx context.Context, opts Options, dir string) (*env, error) {
	ctx, cancel := context.WithTimeout(ctx, opts.Timeout)
	defer cancel()
	e := &env{opts: opts, dir: dir, faultSlots: make(chan struct{}, faultParallel)}
	t := &checkRun{ctx: ctx, env: e}
	defer t.cleanup()
	p, err := t.start(defaultHeartbeat)
	var s *wire.Spec
	if err == nil {
		s, err = p.spec(ctx)
	}
	if err != nil {
		msg := fmt.Sprintf("%s does not work as a plugctl plugin: %v", strings.Join(opts.Command, " "), err)
		if len(t.logs) > 0 {
			if lines := tail(t.logs[0].Lines(), stderrTail); len(lines) > 0 {
				msg += "\nits stderr ends with:\n\t" + strings.Join(lines, "\n\t")
			}
		}
		return nil, errors.New(msg)
	}
	h, _ := p.hello(ctx)
	e.hello, e.spec = *h, *s
	if opts.Manifest != nil {
		e.spec = opts.Manifest.Spec()
	}
	e.secret = map[string]bool{}
	for _, ps := range [][]wire.Param{e.spec.Global, e.spec.Params} {
		for _, p := range ps {
			if p.Secret {
				e.secret[p.Name] = true
			}
		}
	}
	// Instance 1's configuration serves every check; instance 2's, given
	// by the user, instances/isolated.
	ex := examples(opts.Manifest)
	e.given = map[string]bool{}
	for n := uint16(1); n <= 2; n++ {
		if n == 2 && len(opts.InstanceSettings[2]) == 0 {
			break
		}
		user, err := userSettings(&e.spec, &opts, n)
		if err != nil {
			return nil, err
		}
		c, err := validConfig(&e.spec, user, ex)
		if n == 1 {
			e.cfg, e.cfgErr = c, err
		} else {
			e.second, e.secondErr = &c, err
		}
		for k, v := range user {
			if n == 1 {
				e.given[k] = true
			}
			if e.secret[k] && v != "" {
				e.hide = append(e.hide, v)
			}
		}
	}
	switch {
	case opts.Manifest != nil && len(diffSpec(configurable(&e.spec), configurable(s))) > 0:
		e.blocker = &blocker{"spec/matches-manifest", "a plugin whose SPEC is the manifest's"}
	case e.cfgErr == nil:
		t.name = "config/valid"
		if t.setup(p, e.cfg) != nil || t.open(p, 1, e.cfg, nil) != nil {
			e.blocker = &blocker{"config/valid", "a plugin that accepts the valid configuration"}
		}
	}
	return e, nil
}

// configurable is the part of s that decides which configurations are
// valid: the role and the parameters without their descriptions.
func configurable(s *wire.Spec) *wire.Spec {
	c := &wire.Spec{Role: s.Role}
	for _, ps := range []struct{ from, to *[]wire.Param }{{&s.Global, &c.Global}, {&s.Params, &c.Params}} {
		for _, p := range *ps.from {
			p.Description = ""
			*ps.to = append(*ps.to, p)
		}
	}
	return c
}

// run runs one check within its time bound and turns its verdict into a
// Result.
func (e *env) run(ctx context.Context, c check) (r Result) {
	ctx, cancel := context.WithTimeoutCause(ctx, e.opts.Timeout, fmt.Errorf("check timed out after %s", e.opts.Timeout))
	defer cancel()
	t := &checkRun{ctx: ctx, env: e, name: c.name}
	r.Name = c.name
	start := time.Now()
	err := func() (err error) {
		defer func() {
			if v := recover(); v != nil {
				err = fmt.Errorf("check panicked: %v", v)
			}
		}()
		if c.role != 0 && e.spec.Role != c.role {
			return skipf("the plugin is a %s; this check is for a %s", e.spec.Role, c.role)
		}
		return c.run(t)
	}()
	t.cleanup()
	r.Duration = time.Since(start)
	var f *failure
	var s *skipped
	switch {
	case err == nil:
		r.Status = Pass
	case errors.As(err, &s):
		r.Status, r.Reason, r.Missing = Skip, s.reason, s.missing
	case errors.As(err, &f):
		r.Status, r.Expected, r.Got = Fail, f.expected, f.got
	default:
		r.Status, r.Expected, r.Got = Fail, c.want, err.Error()
	}
	var stderr []string
	for _, l := range t.logs {
		stderr = append(stderr, l.Lines()...)
	}
	for _, x := range e.hide {
		for _, lines := range [][]string{stderr, t.steps} {
			for i := range lines {
				lines[i] = strings.ReplaceAll(lines[i], x, "<secret>")
			}
		}
		r.Expected = strings.ReplaceAll(r.Expected, x, "<secret>")
		r.Got = strings.ReplaceAll(r.Got, x, "<secret>")
	}
	if e.opts.Verbose {
		r.Steps, r.Stderr = t.steps, stderr
	} else if r.Status == Fail {
		r.Stderr = tail(stderr, stderrTail)
	}
	return r
}

// cleanup kills every process the check started, and anything they left.
func (t *checkRun) cleanup() {
	for _, p := range t.procs {
		p.kill()
		p.stderr.Settle(100 * time.Millisecond)
	}
	for _, p := range t.hosted {
		p.Kill() // reaps the plugin, and so has forwarded all its stderr
	}
}

func tail(lines []string, n int) []string {
	if len(lines) > n {
		return lines[len(lines)-n:]
	}
	return lines
}

// absCommand returns command with the paths in it relative to the
// caller's working directory made absolute, since the plugins run in
// another: the program when it names one ("./plugin"), and each argument
// that names an existing file ("python3 plugin.py").
func absCommand(command []string) []string {
	out := append([]string(nil), command...)
	for i, a := range out {
		if filepath.IsAbs(a) {
			continue
		}
		if i == 0 && !strings.ContainsRune(a, filepath.Separator) {
			continue // looked up in PATH
		}
		if _, err := os.Stat(a); i > 0 && err != nil {
			continue
		}
		if abs, err := filepath.Abs(a); err == nil {
			out[i] = abs
		}
	}
	return out
}
