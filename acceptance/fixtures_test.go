package acceptance

import (
	"fmt"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/plugctl/plugctl/manifest"
	"github.com/plugctl/plugctl/sdk"
	"github.com/plugctl/plugctl/wire"
)

// fixtureManifest describes the fixtures: a parameter for each kind of
// validation, a global parameter, a secret, and one event kind. A source
// emits `burst` events at once (from many goroutines in the SDK
// fixture), then one per `interval` for `ticks` more, then ends.
func fixtureManifest(kind string) *manifest.Manifest {
	return &manifest.Manifest{
		Name:        "fixture",
		Kind:        kind,
		Version:     "1.2.3",
		Summary:     "Acceptance test fixture.",
		Description: "A plugin the acceptance tests run as a separate process.",
		Author:      "plugctl",
		Global: []manifest.Param{
			{Name: "workers", Type: "int", Description: "Worker goroutines.", HasDefault: true, Default: "2", HasGreaterThan: true, GreaterThan: "0"},
		},
		Config: []manifest.Param{
			{Name: "burst", Type: "int", Description: "Events emitted at once after OPEN.", HasDefault: true, Default: "1000", HasGreaterThan: true, GreaterThan: "-1", HasLessThan: true, LessThan: "100001"},
			{Name: "interval", Type: "duration", Description: "Time between ticks.", HasDefault: true, Default: "100ms", HasGreaterThan: true, GreaterThan: "0s", HasLessThan: true, LessThan: "1h"},
			{Name: "level", Type: "string", Description: "Log level.", HasDefault: true, Default: "info", Inclusion: []string{"debug", "info", "warn"}},
			{Name: "mode", Type: "string", Description: "Mode of operation.", HasDefault: true, Default: "fast", Exclusion: []string{"legacy"}},
			{Name: "ticks", Type: "int", Description: "Ticks after the burst, then the end.", HasDefault: true, Default: "8", HasGreaterThan: true, GreaterThan: "0", HasLessThan: true, LessThan: "1000"},
			{Name: "token", Type: "string", Description: "API token.", Secret: true},
			{Name: "url", Type: "string", Description: "Endpoint to poll.", Required: true, Regex: "^https?://"},
		},
		Events: []manifest.EventKind{
			{Name: "tick", Description: "A tick.", Fields: []manifest.Field{{Name: "seq", Type: "int"}}},
		},
	}
}

// fixtureSettings are a source fixture's parsed instance settings.
type fixtureSettings struct {
	burst, ticks uint64
	interval     time.Duration
}

func parseFixtureSettings(s map[string]string) fixtureSettings {
	get := func(k, def string) string {
		if v := s[k]; v != "" {
			return v
		}
		return def
	}
	burst, _ := strconv.ParseUint(get("burst", "1000"), 10, 64)
	ticks, _ := strconv.ParseUint(get("ticks", "8"), 10, 64)
	interval, _ := time.ParseDuration(get("interval", "100ms"))
	return fixtureSettings{burst: burst, ticks: ticks, interval: interval}
}

// validateFixture checks settings against params as PROTOCOL.md §4.7
// says, written apart from the package's own rules so that the checks are
// not tested against themselves. knob turns one rule off.
func validateFixture(params []wire.Param, settings map[string]string, knob string) error {
	var ce sdk.ConfigError
	keys := make([]string, 0, len(settings))
	for k := range settings {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		if !slices.ContainsFunc(params, func(p wire.Param) bool { return p.Name == k }) && knob != "allow-unknown" {
			ce.Add(k, "unknown parameter")
		}
	}
	for _, p := range params {
		v := settings[p.Name]
		if v == "" {
			if slices.ContainsFunc(p.Validations, func(v wire.Validation) bool { return v.Type == wire.ValidationRequired }) && knob != "no-required" {
				ce.Add(p.Name, "required")
			}
			continue
		}
		n, ok := fixtureNumber(p.Type, v)
		if !ok && knob != "no-types" {
			ce.Add(p.Name, "not a valid "+p.Type)
			continue
		}
		for _, val := range p.Validations {
			var broken bool
			switch val.Type {
			case wire.ValidationGreaterThan:
				b, _ := fixtureNumber(p.Type, val.Value)
				broken = knob != "no-gt" && n <= b
			case wire.ValidationLessThan:
				b, _ := fixtureNumber(p.Type, val.Value)
				broken = knob != "no-lt" && n >= b
			case wire.ValidationInclusion:
				broken = knob != "no-inclusion" && !slices.Contains(val.Values, v)
			case wire.ValidationExclusion:
				broken = knob != "no-exclusion" && slices.Contains(val.Values, v)
			case wire.ValidationRegex:
				broken = knob != "no-regex" && !regexp.MustCompile(val.Value).MatchString(v)
			}
			if broken {
				ce.Add(p.Name, "must satisfy "+val.Type.String())
			}
		}
	}
	return ce.Err()
}

// fixtureNumber parses a value of a numeric type as a float64 to compare
// (durations in nanoseconds); other types are always fine.
func fixtureNumber(typ, v string) (float64, bool) {
	switch typ {
	case "int", "float":
		f, err := strconv.ParseFloat(v, 64)
		return f, err == nil && (typ == "float" || !strings.ContainsAny(v, ".eE"))
	case "duration":
		d, err := time.ParseDuration(v)
		return float64(d), err == nil
	case "bool":
		return 0, v == "true" || v == "false"
	}
	return 0, true
}

// logf writes a fixture's log line to stderr.
func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, format+"\n", args...)
}
