package acceptance

import (
	"fmt"
	"math"
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

// fixtureManifest describes the fixtures: parameters of every type and
// every kind of validation, a global parameter, a required one with an
// example, a secret with a pattern, and one event kind. A source emits
// `burst` events at once (from many goroutines in the SDK fixture), then
// one per `interval` for `ticks` more, then ends.
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
			{Name: "auth.token", Type: "string", Description: "API token.", Secret: true, Regex: "^tok_[a-z0-9]{8,}$"},
			{Name: "burst", Type: "int", Description: "Events emitted at once after OPEN.", HasDefault: true, Default: "1000", HasGreaterThan: true, GreaterThan: "-1", HasLessThan: true, LessThan: "100001"},
			{Name: "interval", Type: "duration", Description: "Time between ticks.", HasDefault: true, Default: "100ms", HasGreaterThan: true, GreaterThan: "0s", HasLessThan: true, LessThan: "1h"},
			{Name: "level", Type: "string", Description: "Log level.", HasDefault: true, Default: "info", Inclusion: []string{"debug", "info", "warn"}},
			{Name: "mode", Type: "string", Description: "Mode of operation.", HasDefault: true, Default: "fast", Exclusion: []string{"legacy"}},
			{Name: "ratio", Type: "float", Description: "Share of events sampled.", HasDefault: true, Default: "0.5", HasGreaterThan: true, GreaterThan: "0", HasLessThan: true, LessThan: "1"},
			{Name: "tags", Type: "strings", Description: "Tags, each starting with a letter.", Regex: "^[a-z]"},
			{Name: "ticks", Type: "int", Description: "Ticks after the burst, then the end.", HasDefault: true, Default: "8", HasGreaterThan: true, GreaterThan: "0", HasLessThan: true, LessThan: "1000"},
			{Name: "url", Type: "string", Description: "Endpoint to poll.", Required: true, Regex: "^https?://", HasExample: true, Example: "https://feed.example.test/ticks"},
			{Name: "verbose", Type: "bool", Description: "Log every event.", HasDefault: true, Default: "false"},
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
// not tested against themselves. knob breaks one rule, or the handling of
// one kind of value.
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
		v, given := settings[p.Name]
		if v == "" && given && knob == "required-presence" { // the key is there, so it counts as set
			continue
		}
		if v == "" && !(given && knob == "empty-set") { // "empty-set" checks an empty value as one
			v = p.Default
		}
		if v == "" && !(given && knob == "empty-set") {
			if slices.ContainsFunc(p.Validations, func(v wire.Validation) bool { return v.Type == wire.ValidationRequired }) && knob != "no-required" {
				ce.Add(p.Name, "required")
			}
			continue
		}
		items := []string{v}
		if p.Type == "strings" {
			items = nil
			for _, item := range strings.Split(v, ",") {
				if item = strings.TrimSpace(item); item != "" {
					items = append(items, item)
				}
			}
		}
		for _, item := range items {
			if problem := checkFixtureValue(p, item, knob); problem != "" {
				ce.Add(p.Name, problem)
				break
			}
		}
	}
	return ce.Err()
}

// checkFixtureValue checks one value (one item, for strings) of p.
func checkFixtureValue(p wire.Param, v, knob string) string {
	n, ok := fixtureNumber(p.Type, v)
	if ok && p.Type == "int" && knob == "int32" { // parsed as 32 bits, as a careless port would
		_, err := strconv.ParseInt(v, 10, 32)
		ok = err == nil
	}
	if !ok && knob != "no-types" {
		return "not a valid " + p.Type
	}
	for _, val := range p.Validations {
		var broken bool
		switch val.Type {
		case wire.ValidationGreaterThan:
			b, _ := fixtureNumber(p.Type, val.Value)
			broken = knob != "no-gt" && n <= b || knob == "gt-tight" && n == fixtureStep(p.Type, b, 1)
		case wire.ValidationLessThan:
			b, _ := fixtureNumber(p.Type, val.Value)
			broken = knob != "no-lt" && n >= b || knob == "lt-tight" && n == fixtureStep(p.Type, b, -1)
		case wire.ValidationInclusion:
			if knob == "inclusion-substring" {
				broken = !strings.Contains(strings.Join(val.Values, ","), v)
			} else {
				broken = knob != "no-inclusion" && !slices.Contains(val.Values, v)
			}
		case wire.ValidationExclusion:
			if knob == "exclusion-substring" {
				broken = slices.ContainsFunc(val.Values, func(x string) bool { return strings.Contains(x, v) || strings.Contains(v, x) })
			} else {
				broken = knob != "no-exclusion" && slices.Contains(val.Values, v)
			}
		case wire.ValidationRegex:
			pattern := val.Value
			if knob == "regex-anchored" && p.Name == "tags" { // matched whole, as Java's matches() does
				pattern = "^(?:" + pattern + ")$"
			}
			broken = knob != "no-regex" && !regexp.MustCompile(pattern).MatchString(v)
		}
		if broken {
			return "must satisfy " + val.Type.String()
		}
	}
	return ""
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

// fixtureStep is the value one step from b (as fixtureNumber gives it):
// 1 for an int, 1ns for a duration, the next float for a float.
func fixtureStep(typ string, b float64, dir float64) float64 {
	if typ == "float" {
		return math.Nextafter(b, dir*math.Inf(1))
	}
	return b + dir
}

// logf writes a fixture's log line to stderr.
func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, format+"\n", args...)
}
