// Package manifest loads and checks plugin.toml, the file that describes a
// plugin: its identity, its parameters and the event kinds it handles.
package manifest

// FileName is the manifest's name inside a plugin project.
const FileName = "plugin.toml"

// Manifest is a loaded, checked plugin.toml. Lists are sorted by name so
// that everything generated from a manifest is deterministic.
type Manifest struct {
	Path        string // the file it was loaded from, for messages
	Name        string // lowercase letters, digits and '-', starting with a letter
	Kind        string // "source" or "sink"
	Version     string // semver, without a leading "v"
	Summary     string
	Description string
	Author      string
	Module      string // Go module path of the project; empty: example.com/<name>

	Config []Param     // per-instance parameters ([config.*])
	Global []Param     // process-wide parameters ([global.*])
	Events []EventKind // [events.*]
}

// Parameter types.
const (
	TypeString   = "string"
	TypeInt      = "int"
	TypeFloat    = "float"
	TypeBool     = "bool"
	TypeDuration = "duration"
	TypeStrings  = "strings"
)

// Param is one configuration parameter. Values (default, bounds, lists) are
// kept in their canonical string form, the form they travel in on the wire
// and in a settings map: ints in base 10, floats as strconv 'g', bools as
// "true"/"false", durations as written when they parse with
// time.ParseDuration, strings lists joined with ",".
type Param struct {
	Name        string // e.g. "url" or "auth.token"
	Type        string // one of the Type constants
	Description string
	Required    bool
	Secret      bool

	HasDefault bool
	Default    string

	HasGreaterThan bool
	GreaterThan    string
	HasLessThan    bool
	LessThan       string
	Regex          string   // empty: none
	Inclusion      []string // empty: none
	Exclusion      []string // empty: none

	Line int // where the [config.x] or [global.x] table starts, for messages
}

// EventKind is one kind of event a source emits or a sink accepts.
type EventKind struct {
	Name        string
	Description string
	Fields      []Field // sorted by name
	Line        int
}

// Field types of event payloads.
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
	Name string
	Type string // one of the Field constants
}
