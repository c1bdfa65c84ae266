// Package manifest loads and checks plugin.toml, the file that describes a
// plugin: its identity, its parameters and the event kinds it handles.
//
// Loading is strict: unknown keys, values of the wrong type and values that
// break their own parameter's rules are all errors, and every error in a file
// is reported at once, each at file:line:col. docs/MANIFEST.md is the
// reference for plugin authors.
package manifest

import "github.com/plugctl/plugctl/wire"

// FileName is the manifest's name inside a plugin project.
const FileName = "plugin.toml"

// Manifest is a loaded, checked plugin.toml. Parameters and event kinds
// are sorted by name and fields kept in the order they are written, so
// that everything generated from a manifest is deterministic.
type Manifest struct {
	Path        string // the file it was loaded from, for messages
	Name        string // lowercase letters, digits and '-', starting with a letter
	Kind        string // "source" or "sink"
	Shape       string // a source's: ShapePolled (the default) or ShapeCallback; empty for a sink
	Version     string // semver, without a leading "v"
	Summary     string // one line
	Description string // optional, may span lines
	Author      string // optional
	Module      string // Go module path of the project; empty: example.com/<name>, see ModulePath

	Config []Param     // per-instance parameters ([config.*])
	Global []Param     // process-wide parameters ([global.*])
	Events []EventKind // [events.*]
}

// The shapes of a source, the values of shape: how its code hands events
// to the SDK.
const (
	ShapePolled   = "polled"   // the SDK calls NextBatch in a loop (sdk.Plugin.Source)
	ShapeCallback = "callback" // the plugin's run emits from its own goroutines (sdk.Plugin.Run)
)

// Parameter types, the values of a parameter's type key: those of the
// wire protocol, whose rules (wire.ParseValue, wire.ParseRules) every
// value of a parameter follows.
const (
	TypeString   = wire.TypeString
	TypeInt      = wire.TypeInt
	TypeFloat    = wire.TypeFloat
	TypeBool     = wire.TypeBool
	TypeDuration = wire.TypeDuration
	TypeStrings  = wire.TypeStrings
)

// Param is one configuration parameter. Values (default, bounds, lists) are
// kept in their canonical string form, the form they travel in on the wire
// and in a settings map: ints in base 10, floats as strconv 'g', bools as
// "true"/"false", durations as written when they parse with
// time.ParseDuration, strings lists joined with ",".
type Param struct {
	Name        string // e.g. "url" or "auth.token", however the groups were written
	Type        string // one of the Type constants
	Description string
	Required    bool // the plugin refuses to start without a value
	Secret      bool // the value never appears in errors or logs; string and strings only

	// Each Has flag tells a bound or default that is set from one that is
	// absent, since "" and "0" are values in their own right.
	HasDefault bool
	Default    string
	// Example is a value to try the plugin with: plugctl test, run and
	// bench set it when the user gives the parameter no value. The plugin
	// itself never sees it otherwise.
	HasExample bool
	Example    string

	HasGreaterThan bool
	GreaterThan    string
	HasLessThan    bool
	LessThan       string
	Regex          string   // Go regexp syntax, unanchored; empty: none
	Inclusion      []string // the only values allowed; empty: none
	Exclusion      []string // values refused; empty: none

	Line int // where the [config.x] or [global.x] table starts, for messages
}

// EventKind is one kind of event a source emits or a sink accepts.
type EventKind struct {
	Name        string // lowercase letters, digits, '_', '.' and '-', starting with a letter: log.line
	Description string
	Fields      []Field // in the order plugin.toml declares them; none for a marker kind such as a heartbeat
	Line        int     // where the [events.x] table starts, for messages
}

// Field types of event payloads. In generated Go code they become string,
// int64, float64, bool, time.Time, time.Duration, []byte and []string.
const (
	FieldString   = "string"
	FieldInt      = "int"
	FieldFloat    = "float"
	FieldBool     = "bool"
	FieldTime     = "time"
	FieldDuration = "duration"
	FieldBytes    = "bytes"
	FieldStrings  = "strings"
)

// Field is one typed field of an event kind's payload.
type Field struct {
	Name string // its JSON key: letters, digits, '_', '.' and '-', starting with a letter
	Type string // one of the Field constants
}

// ModulePath is the Go module path of the plugin project: Module, or
// DefaultModule(Name) when the manifest sets none.
func (m *Manifest) ModulePath() string {
	if m.Module != "" {
		return m.Module
	}
	return DefaultModule(m.Name)
}

// DefaultModule is the Go module path of a project whose manifest names
// none: example.com/<name>.
func DefaultModule(name string) string { return "example.com/" + name }
