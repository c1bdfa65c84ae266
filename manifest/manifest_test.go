package manifest_test

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/plugctl/plugctl/manifest"
	"github.com/plugctl/plugctl/wire"
)

func TestLoadFullExample(t *testing.T) {
	path := filepath.Join("testdata", "full.toml")
	got, err := manifest.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	want := &manifest.Manifest{
		Path:        path,
		Name:        "acme",
		Kind:        "source",
		Shape:       "polled",
		Version:     "0.1.0",
		Summary:     "One line.",
		Description: "Longer.",
		Author:      "Acme Inc.",
		Module:      "example.com/acme",
		Config: []manifest.Param{
			{Name: "interval", Type: "duration", HasDefault: true, Default: "10s",
				HasGreaterThan: true, GreaterThan: "0s", HasLessThan: true, LessThan: "1h", Line: 16},
			{Name: "level", Type: "string", HasDefault: true, Default: "info",
				Inclusion: []string{"debug", "info", "warn"}, Line: 22},
			{Name: "url", Type: "string", Description: "Endpoint to poll.", Required: true,
				HasExample: true, Example: "https://api.acme.test", Regex: "^https?://", Line: 9},
		},
		Global: []manifest.Param{
			{Name: "workers", Type: "int", HasDefault: true, Default: "4", HasGreaterThan: true, GreaterThan: "0", Line: 27},
		},
		Events: []manifest.EventKind{{
			Name: "tick", Description: "A tick.", Line: 32,
			Fields: []manifest.Field{{"seq", "int"}, {"alive", "bool"}, {"note", "string"}, {"at", "time"}},
		}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got  %+v\nwant %+v", got, want)
	}
}

func TestLoadMissingFile(t *testing.T) {
	_, err := manifest.Load(filepath.Join(t.TempDir(), "plugin.toml"))
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("got %v, want a not-exist error", err)
	}
}

// head is a valid manifest's first six lines; cases add their lines from
// line 7 on. It ends with a top-level key, not a table, so that the keys a
// case adds are top-level keys too.
const head = `name = "acme"
kind = "source"
version = "0.1.0"
summary = "One line."
events.tick.fields = { seq = "int" }
author = "Acme Inc."
`

func TestErrors(t *testing.T) {
	tests := []struct {
		name, toml string
		want       []string // the lines of Error(), without "plugin.toml:"
	}{
		// Syntax.
		{"syntax", "name = \"acme\"\nkind = \n", []string{
			`2:8: invalid TOML: expected value but found '\n' instead (see https://toml.io for the syntax)`}},
		{"duplicate key at line start", "name = \"acme\"\nname = \"b\"\n", []string{
			`2:1: name: defined twice, first at line 1 (remove one of them)`}},
		{"duplicate table", head + "[config.url]\ntype = \"string\"\n[config.url]\ntype = \"int\"\n", []string{
			`9:2: config.url: defined twice, first at line 7 (remove one of them)`}},
		{"array of tables beside a table", head + "[events.ping]\n[[events]]\nname = \"x\"\n", []string{
			`8:3: events: [[events]] declares an array of tables, but events is a table since line 5 (declare each event kind as a table of its own: [events.<name>], not [[events]])`}},

		// Top-level keys.
		{"empty file", "", []string{
			`1:1: name: required key is missing (write name = "acme")`,
			`1:1: kind: required key is missing (write kind = "source" or kind = "sink")`,
			`1:1: version: required key is missing (write version = "0.1.0")`,
			`1:1: summary: required key is missing (write summary = "What the plugin does, in one line.")`,
			`1:1: events: no event kinds declared (add an [events.<name>] table with fields = { <field> = "<type>" })`}},
		{"bad identity", "name = \"Acme\"\nkind = \"sorce\"\nversion = \"v1.0.0\"\nsummary = \" \"\n[events.tick]\nfields = { seq = \"int\" }\n", []string{
			`1:1: name: "Acme" is not a valid plugin name (use lowercase letters, digits and '-', starting with a letter, such as "acme-http")`,
			`2:1: kind: "sorce" is not a plugin kind (did you mean "source"?)`,
			`3:1: version: "v1.0.0" is not a semantic version (drop the leading v: "1.0.0")`,
			`4:1: summary: must not be empty (write summary = "What the plugin does, in one line.")`}},
		{"not semver", strings.Replace(head, `"0.1.0"`, `"1.0"`, 1), []string{
			`3:1: version: "1.0" is not a semantic version (write MAJOR.MINOR.PATCH such as "0.1.0", optionally followed by -prerelease and +build)`}},
		{"shape misspelt", head + "shape = \"callbak\"\n", []string{
			`7:1: shape: "callbak" is not a source shape (did you mean "callback"?)`}},
		{"shape of a sink", strings.Replace(head, `"source"`, `"sink"`, 1) + "shape = \"callback\"\n", []string{
			`7:1: shape: shape is for sources (remove it: a sink has one shape, Write)`}},
		{"kind far from both", strings.Replace(head, `"source"`, `"filter"`, 1), []string{
			`2:1: kind: "filter" is not a plugin kind (use one of source, sink)`}},
		{"summary of two lines", strings.Replace(head, `"One line."`, `"One line.\nTwo."`, 1), []string{
			`4:1: summary: summary must be one line (move the rest to description)`}},
		{"name of the wrong type", strings.Replace(head, `"acme"`, `5`, 1), []string{
			`1:1: name: want a string, found an integer (5) (write a quoted string, such as "text")`}},
		{"module", head + "module = \"acme\"\n", []string{
			`7:1: module: "acme" is not a Go module path (write a path that starts with a domain, such as "example.com/acme")`}},
		{"unknown top-level keys", head + "summry = \"x\"\nzzz = 1\n[confg.url]\ntype = \"string\"\n", []string{
			`7:1: summry: unknown key (did you mean "summary"?)`,
			`8:1: zzz: unknown key (use one of name, kind, shape, version, summary, description, author, module, config, global, events)`,
			`9:2: confg: unknown key (did you mean "config"?)`}},

		// Parameters.
		{"missing type and typo", head + "[config.url]\ntpye = \"string\"\n", []string{
			`7:9: config.url: missing type (add type = "string", or int, float, bool, duration or strings)`,
			`8:1: config.url.tpye: unknown key (did you mean "type"?)`}},
		{"unknown types", head + "[config.a]\ntype = \"integer\"\n[config.b]\ntype = \"strng\"\n[config.c]\ntype = \"uuid\"\n", []string{
			`8:1: config.a.type: unknown type "integer" (did you mean "int"?)`,
			`10:1: config.b.type: unknown type "strng" (did you mean "string"?)`,
			`12:1: config.c.type: unknown type "uuid" (use one of string, int, float, bool, duration, strings)`}},
		{"nested table in a group", head + "[config.auth.token]\ntype = \"strng\"\n", []string{
			`8:1: config.auth.token.type: unknown type "strng" (did you mean "string"?)`}},
		{"table inside a parameter", head + "[global.auth]\ntype = \"string\"\n[global.auth.token]\ntype = \"string\"\n", []string{
			`9:14: global.auth.token: a table inside the parameter "auth", which holds parameter keys (to declare "auth.token" beside "auth", quote its name: [global."auth.token"])`}},
		{"a name spelled twice", head + "[config.auth.user]\ntype = \"string\"\n[config.\"auth.user\"]\ntype = \"string\"\n" +
			"[global.db.pool]\ntype = \"int\"\n[global]\n\"db.pool\" = { type = \"int\" }\n", []string{
			`9:9: config."auth.user": parameter "auth.user" is declared twice: as config.auth.user at line 7 and as config."auth.user" here (remove one of them)`,
			`14:1: global."db.pool": parameter "db.pool" is declared twice: as global.db.pool at line 11 and as global."db.pool" here (remove one of them)`}},
		{"one name in config and global", head + "[config.auth.user]\ntype = \"string\"\n[global.\"auth.user\"]\ntype = \"string\"\n", []string{
			`9:9: global."auth.user": parameters config.auth.user (line 7) and global."auth.user" both become the Go name AuthUser (rename one of them)`}},
		{"invalid parameter names", head + "[config.\"Bad-name\"]\ntype = \"string\"\n[config.\"a..b\"]\ntype = \"string\"\n[config.\"a-\"]\ntype = \"string\"\n[config.Auth.user]\ntype = \"string\"\n", []string{
			`7:9: config.Bad-name: "Bad-name" is not a valid parameter name (use lowercase letters, digits, '_', '-' and '.', starting with a letter, such as "auth.token")`,
			`9:9: config."a..b": "a..b" is not a valid parameter name (use lowercase letters, digits, '_', '-' and '.', starting with a letter, such as "auth.token")`,
			`11:9: config.a-: "a-" is not a valid parameter name (use lowercase letters, digits, '_', '-' and '.', starting with a letter, such as "auth.token")`,
			`13:14: config.Auth.user: "Auth.user" is not a valid parameter name (use lowercase letters, digits, '_', '-' and '.', starting with a letter, such as "auth.token")`}},
		{"section not a table", head + "config = 5\n", []string{
			`7:1: config: want a table, found an integer (5) (declare parameters as [config.<name>] tables)`}},
		{"parameter not a table", head + "[config]\nurl = \"string\"\n", []string{
			`8:1: config.url: want a table, found a string ("string") (declare a parameter as a table: [config.url] with type = "string")`}},
		{"defaults of the wrong type", head + "[config.a]\ntype = \"int\"\ndefault = \"4\"\n[config.b]\ntype = \"bool\"\ndefault = 1\n" +
			"[config.c]\ntype = \"duration\"\ndefault = 10\n[config.d]\ntype = \"strings\"\ndefault = \"a,b\"\n[config.e]\ntype = \"float\"\ndefault = nan\n" +
			"[config.f]\ntype = \"string\"\ndefault = 1979-05-27\n[config.g]\ntype = \"int\"\ndefault = 1.5\n", []string{
			`9:1: config.a.default: want an int, found a string ("4") (write a whole number without quotes, such as 4)`,
			`12:1: config.b.default: want a bool, found an integer (1) (write true or false, without quotes)`,
			`15:1: config.c.default: want a duration, found an integer (10) (write a Go duration in quotes, such as "10s" or "1m30s")`,
			`18:1: config.d.default: want a list of strings, found a string ("a,b") (write a list of quoted strings, such as ["a", "b"])`,
			`21:1: config.e.default: NaN is not a finite number (write a number without quotes, such as 0.5)`,
			`24:1: config.f.default: want a string, found a date-time (write a quoted string, such as "text")`,
			`27:1: config.g.default: want an int, found a float (1.5) (write a whole number without quotes, such as 4)`}},
		{"bad duration", head + "[config.interval]\ntype = \"duration\"\ndefault = \"10x\"\n", []string{
			`9:1: config.interval.default: "10x" is not a duration (write a Go duration such as "10s" or "1m30s")`}},
		{"list items", head + "[config.a]\ntype = \"strings\"\ndefault = [\"a,b\", 3]\n[config.b]\ntype = \"strings\"\ndefault = [\"\"]\n" +
			"[config.c]\ntype = \"strings\"\ninclusion = [\"x\", \" y\"]\n[config.d]\ntype = \"strings\"\ndefault = [\"x\", 3]\n", []string{
			`9:1: config.a.default: list item "a,b" holds a ',' (lists travel comma-separated: split it into separate items)`,
			`9:1: config.a.default: want a string, found an integer (3) (write a quoted string, such as "text")`,
			`12:1: config.b.default: list item "" is empty or not trimmed (items travel trimmed: remove the white space, or the item)`,
			`15:1: config.c.inclusion: list item " y" is empty or not trimmed (items travel trimmed: remove the white space, or the item)`,
			`18:1: config.d.default: want a string, found an integer (3) (write a quoted string, such as "text")`}},
		{"bounds", head + "[config.a]\ntype = \"string\"\ngreater_than = 1\n[config.n]\ntype = \"int\"\ngreater_than = 5\nless_than = 5\n" +
			"[config.d]\ntype = \"duration\"\ngreater_than = \"1m\"\nless_than = \"60s\"\n", []string{
			`9:1: config.a.greater_than: greater_than applies to int, float and duration parameters, not string (remove it, or use regex or inclusion)`,
			`13:1: config.n.less_than: less_than 5 is not above greater_than 5 (no value can pass: lower greater_than or raise less_than)`,
			`17:1: config.d.less_than: less_than 60s is not above greater_than 1m (no value can pass: lower greater_than or raise less_than)`}},
		{"rules no value passes", head + "[config.n]\ntype = \"int\"\nrequired = true\ngreater_than = 5\nless_than = 6\n" +
			"[config.m]\ntype = \"string\"\nrequired = true\ninclusion = [\"a\", \"zz\", \"x\"]\nexclusion = [\"x\"]\nregex = '^[a-y]$'\n" +
			"[config.k]\ntype = \"int\"\ndefault = 6\ngreater_than = 5\nless_than = 7\ninclusion = [6, 9]\n", []string{
			`11:1: config.n.less_than: no integer is above 5 and below 6 (no value can pass: both bounds are exclusive; lower greater_than or raise less_than)`,
			`15:1: config.m.inclusion: "zz" is listed, but its regex rule refuses it (remove it from inclusion, or change the regex rule)`,
			`15:1: config.m.inclusion: "x" is listed, but its exclusion rule refuses it (remove it from inclusion, or change the exclusion rule)`,
			`23:1: config.k.inclusion: 9 is listed, but its less_than rule refuses it (remove it from inclusion, or change the less_than rule)`}},
		{"every list item of a default", head + "[config.tags]\ntype = \"strings\"\ndefault = [\"b,c\", \" d\"]\n", []string{
			`9:1: config.tags.default: list item "b,c" holds a ',' (lists travel comma-separated: split it into separate items)`,
			`9:1: config.tags.default: list item " d" is empty or not trimmed (items travel trimmed: remove the white space, or the item)`}},
		{"default outside bounds", head + "[global.workers]\ntype = \"int\"\ndefault = 0\ngreater_than = 0\n" +
			"[global.ratio]\ntype = \"float\"\ndefault = 1\nless_than = 1.0\n[global.wait]\ntype = \"duration\"\ndefault = \"2h\"\nless_than = \"1h\"\n", []string{
			`9:1: global.workers.default: 0 is not greater than 0 (greater_than) (greater_than is exclusive: change the default or the bound)`,
			`13:1: global.ratio.default: 1 is not less than 1 (less_than) (less_than is exclusive: change the default or the bound)`,
			`17:1: global.wait.default: "2h" is not less than 1h (less_than) (less_than is exclusive: change the default or the bound)`}},
		{"regex", head + "[config.url]\ntype = \"string\"\nregex = '^https?://'\ndefault = \"ftp://x\"\n[config.n]\ntype = \"int\"\nregex = \"x\"\n" +
			"[config.s]\ntype = \"string\"\nregex = \"(\"\n[config.t]\ntype = \"strings\"\nregex = '^[a-z]+$'\ndefault = [\"ok\", \"NO\"]\n", []string{
			`10:1: config.url.default: "ftp://x" does not match regex "^https?://" (change the default or the regex)`,
			`13:1: config.n.regex: regex applies to string and strings parameters, not int (remove it, or use inclusion or bounds)`,
			"16:1: config.s.regex: \"(\" is not a valid regular expression: missing closing ): `(` (use Go regexp syntax: https://pkg.go.dev/regexp/syntax)",
			`20:1: config.t.default: "NO" does not match regex "^[a-z]+$" (change the default or the regex)`}},
		{"inclusion and exclusion", head + "[config.level]\ntype = \"string\"\ndefault = \"trace\"\ninclusion = [\"debug\", \"info\"]\n" +
			"[config.n]\ntype = \"int\"\ndefault = 3\nexclusion = [3]\n[config.b]\ntype = \"bool\"\ninclusion = [true]\n" +
			"[config.e]\ntype = \"int\"\ninclusion = []\n[config.f]\ntype = \"duration\"\nexclusion = [\"1s\", 2]\n[config.g]\ntype = \"float\"\ninclusion = 1.5\n", []string{
			`9:1: config.level.default: "trace" is not in inclusion (use one of the values listed in inclusion)`,
			`13:1: config.n.default: 3 is in exclusion (use a value not listed in exclusion)`,
			`17:1: config.b.inclusion: inclusion applies to string, int, float, duration and strings parameters, not bool (remove it: a bool has only two values)`,
			`20:1: config.e.inclusion: inclusion is an empty list, which no value can pass (remove the key, or list values such as [1, 2, 4])`,
			`23:1: config.f.exclusion: want a duration, found an integer (2) (write a Go duration in quotes, such as "10s" or "1m30s")`,
			`26:1: config.g.inclusion: want a list of float values, found a float (1.5) (write a list such as [0.5, 1.0])`}},
		{"required with a default", head + "[config.url]\ntype = \"string\"\nrequired = true\ndefault = \"http://x\"\n", []string{
			`10:1: config.url.default: a required parameter cannot have a default (remove required = true (a parameter with a default is never missing) or remove the default)`}},
		{"secret", head + "[config.token]\ntype = \"string\"\nsecret = true\ndefault = \"hunter2\"\ninclusion = [\"hunter2\"]\n" +
			"[config.pin]\ntype = \"int\"\nsecret = true\n", []string{
			`10:1: config.token.default: a secret parameter cannot have default (remove it: plugin.toml and the generated code are readable by anyone with the plugin)`,
			`11:1: config.token.inclusion: a secret parameter cannot have inclusion (remove it: plugin.toml and the generated code are readable by anyone with the plugin)`,
			`14:1: config.pin.secret: secret applies to string and strings parameters, not int (remove secret = true)`}},
		{"examples", head + "[config.url]\ntype = \"string\"\nrequired = true\nregex = '^https://'\nexample = \"http://x\"\n" +
			"[config.n]\ntype = \"int\"\nexample = \"4\"\n[config.tags]\ntype = \"strings\"\ninclusion = [\"a\", \"b\"]\nexample = [\"a\", \"c\"]\n" +
			"[config.wait]\ntype = \"duration\"\ndefault = \"1s\"\nless_than = \"1m\"\nexample = \"1m\"\n[config.token]\ntype = \"string\"\nsecret = true\nexample = \"hunter2\"\n", []string{
			`11:1: config.url.example: "http://x" does not match regex "^https://" (change the example or the regex)`,
			`14:1: config.n.example: want an int, found a string ("4") (write a whole number without quotes, such as 4)`,
			`18:1: config.tags.example: "c" is not in inclusion (use one of the values listed in inclusion)`,
			`23:1: config.wait.example: "1m" is not less than 1m (less_than) (less_than is exclusive: change the example or the bound)`,
			`27:1: config.token.example: a secret parameter cannot have example (remove it: plugin.toml and the generated code are readable by anyone with the plugin)`}},
		{"flags of the wrong type", head + "[config.url]\ntype = \"string\"\nrequired = \"yes\"\n", []string{
			`9:1: config.url.required: want a bool, found a string ("yes") (write true or false, without quotes)`}},
		{"Go name collisions", head + "[config.\"auth.token\"]\ntype = \"string\"\n[global.auth_token]\ntype = \"string\"\n" +
			"[config.max_id]\ntype = \"int\"\n[config.max_i_d]\ntype = \"int\"\n", []string{
			`9:9: global.auth_token: parameters "auth.token" (line 7) and "auth_token" both become the Go name AuthToken (rename one of them)`,
			`13:9: config.max_i_d: parameters "max_id" (line 11) and "max_i_d" both become the Go name MaxID (rename one of them)`}},
		{"quoted dotted name in keys", head + "[config.\"auth.token\"]\ntype = \"string\"\ndefault = 5\n", []string{
			`9:1: config."auth.token".default: want a string, found an integer (5) (write a quoted string, such as "text")`}},
		{"inline tables", head + "config.url = { type = \"string\", regx = \"x\" }\nglobal = { n = { type = \"int\", default = \"4\" } }\n", []string{
			`7:33: config.url.regx: unknown key (did you mean "regex"?)`,
			`8:32: global.n.default: want an int, found a string ("4") (write a whole number without quotes, such as 4)`}},

		// Events.
		{"no events", "name = \"acme\"\nkind = \"sink\"\nversion = \"0.1.0\"\nsummary = \"One line.\"\n[events]\n", []string{
			`5:2: events: no event kinds declared (a sink declares the kinds it accepts: add an [events.<name>] table with fields = { <field> = "<type>" })`}},
		{"events", head + "[events.Tock]\ndescrption = \"x\"\nfields = { n = \"int\" }\n[events.empty]\nfields = 3\n[events.t]\nfields = { seq = \"int64\", \"_bad\" = \"string\", at = 5, max_id = \"int\", max_i_d = \"int\", append_json = \"int\" }\n", []string{
			`7:9: events.Tock: "Tock" is not a valid event kind name (use lowercase letters, digits, '_', '-' and '.', starting with a letter, such as "user.login" or "span-end")`,
			`8:1: events.Tock.descrption: unknown key (did you mean "description"?)`,
			`11:1: events.empty.fields: want a table, found an integer (3) (write fields = { <field> = "<type>" })`,
			`13:12: events.t.fields.seq: unknown field type "int64" (did you mean "int"?)`,
			`13:27: events.t.fields._bad: "_bad" is not a valid field name (use letters, digits, '_', '-' and '.', starting with a letter, such as "user_id", "userId" or "http.status")`,
			`13:46: events.t.fields.at: want a field type, found an integer (5) (write one of string, int, float, bool, time, duration, bytes, strings in quotes, such as "string")`,
			`13:70: events.t.fields.max_i_d: fields "max_id" (line 13) and "max_i_d" both become the Go name MaxID (rename one of them)`,
			`13:87: events.t.fields.append_json: "append_json" becomes the Go name AppendJSON, which is the event type's encoding method (rename the field)`}},
		{"event kind collision", head + "[events.t_ick]\nfields = { n = \"int\" }\n[events.t__ick]\nfields = { n = \"int\" }\n", []string{
			`9:9: events.t__ick: event kinds "t_ick" (line 7) and "t__ick" both become the Go name TIck (rename one of them)`}},
		{"dotted and dashed kind collisions", head + "[events.\"log.line\"]\n[events.log-line]\n[events.log.line]\n[events.span_end]\n[events.span-end]\n", []string{
			`8:9: events.log-line: event kinds "log.line" (line 7) and "log-line" both become the Go name LogLine (rename one of them)`,
			`9:13: events.log.line: event kind "log.line" is declared twice: as events."log.line" at line 7 and as events.log.line here (remove one of them)`,
			`11:9: events.span-end: event kinds "span_end" (line 10) and "span-end" both become the Go name SpanEnd (rename one of them)`}},
		{"kinds whose generated identifiers clash", head + "[events.event]\n[events.kind]\n[events.\"kind.change\"]\n[events.\"change.event\"]\n[events.add]\n[events.emit]\n", []string{
			`8:9: events.kind: event kinds "event" (line 7) and "kind" both give the Go identifier KindEvent: the kind constant of "event" and the payload type of "kind" (rename one of them)`,
			`10:9: events."change.event": event kinds "kind.change" (line 9) and "change.event" both give the Go identifier KindChangeEvent: the payload type of "kind.change" and the kind constant of "change.event" (rename one of them)`,
			`11:9: events.add: event kinds "event" (line 7) and "add" both give the Go identifier AddEvent: the Add function of "event" and the payload type of "add" (rename one of them)`,
			`12:9: events.emit: event kinds "event" (line 7) and "emit" both give the Go identifier EmitEvent: the Emit function of "event" and the payload type of "emit" (rename one of them)`}},
		{"a sink's kinds whose generated identifiers clash", strings.Replace(head, `"source"`, `"sink"`, 1) + "[events.event]\n[events.decode]\n[events.add]\n", []string{
			`8:9: events.decode: event kinds "event" (line 7) and "decode" both give the Go identifier DecodeEvent: the Decode function of "event" and the payload type of "decode" (rename one of them)`}},
		{"a misspelt key holding a table", head + "[events.tock]\nfeilds = { seq = \"int\" }\n[events.tack]\ndescription = \"x\"\nfeilds = { seq = \"int\" }\n" +
			"[events.tuck.feilds]\nseq = \"int\"\n[config.db.tpye]\nvalue = \"int\"\n[config.secrets.token]\ntype = \"string\"\n", []string{
			`8:1: events.tock.feilds: unknown key (did you mean "fields"?)`,
			`11:1: events.tack.feilds: unknown key (did you mean "fields"?)`,
			`12:14: events.tuck.feilds: unknown key (did you mean "fields"?)`,
			`14:9: config.db: missing type (add type = "string", or int, float, bool, duration or strings)`,
			`14:12: config.db.tpye: unknown key (did you mean "type"?)`}},
		{"a dotted field name unquoted", head + "[events.tock.fields]\nhttp.status = \"int\"\nhttp.method = \"string\"\nx = { y = { z = 1 } }\n", []string{
			`8:1: events.tock.fields.http: want a field type, found a table (to name a field "http.method", quote its name: "http.method" = "string")`,
			`10:1: events.tock.fields.x: want a field type, found a table (to name a field "x.y.z", quote its name: "x.y.z" = "<type>")`}},
		{"invalid kind names", head + "[events.\"log..line\"]\n[events.\"log.\"]\n[events.9lives]\n[events.\"a b\"]\n", []string{
			`7:9: events."log..line": "log..line" is not a valid event kind name (use lowercase letters, digits, '_', '-' and '.', starting with a letter, such as "user.login" or "span-end")`,
			`8:9: events."log.": "log." is not a valid event kind name (use lowercase letters, digits, '_', '-' and '.', starting with a letter, such as "user.login" or "span-end")`,
			`9:9: events.9lives: "9lives" is not a valid event kind name (use lowercase letters, digits, '_', '-' and '.', starting with a letter, such as "user.login" or "span-end")`,
			`10:9: events."a b": "a b" is not a valid event kind name (use lowercase letters, digits, '_', '-' and '.', starting with a letter, such as "user.login" or "span-end")`}},
		{"table inside an event kind", head + "[events.log]\nfields = { n = \"int\" }\n[events.log.line]\nfields = { n = \"int\" }\n", []string{
			`9:13: events.log.line: a table inside the event kind "log", which holds the kind's own keys (to declare "log.line" beside "log", quote its name: [events."log.line"])`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := manifest.Parse("plugin.toml", []byte(tt.toml))
			if err == nil {
				t.Fatalf("no error; got %+v", m)
			}
			if m != nil {
				t.Errorf("got a manifest with the error")
			}
			want := "plugin.toml:" + strings.Join(tt.want, "\nplugin.toml:")
			if got := err.Error(); got != want {
				t.Errorf("got\n%s\nwant\n%s", got, want)
			}
		})
	}
}

// The checker visits identity, then config, global and events; the report
// must still follow the file.
func TestErrorsInLineOrder(t *testing.T) {
	src := `[events.tick]
fields = { seq = "int64" }
[global.workers]
type = "int"
default = "4"
[config.url]
tpye = "string"
[config.level]
type = "strng"
`
	src = "name = \"acme\"\nversion = \"0.1.0\"\nsummary = \"x\"\nkind = \"sorce\"\n" + src
	_, err := manifest.Parse("dir/plugin.toml", []byte(src))
	var errs *manifest.Errors
	if !errors.As(err, &errs) {
		t.Fatalf("got %T %v, want *manifest.Errors", err, err)
	}
	var got []string
	for _, e := range errs.List {
		got = append(got, fmt.Sprintf("%d:%d %s", e.Line, e.Col, e.Key))
	}
	want := []string{
		"4:1 kind",
		"6:12 events.tick.fields.seq",
		"9:1 global.workers.default",
		"10:9 config.url",
		"11:1 config.url.tpye",
		"13:1 config.level.type",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %q\nwant %q", got, want)
	}
}

func TestErrorFields(t *testing.T) {
	src := head + "[config.interval]\ntype = \"duration\"\ndefault = \"10x\"\n"
	_, err := manifest.Parse("dir/plugin.toml", []byte(src))
	var e *manifest.Error
	if !errors.As(err, &e) {
		t.Fatalf("errors.As(%v, *manifest.Error) failed", err)
	}
	want := manifest.Error{
		File: "dir/plugin.toml", Line: 9, Col: 1, Key: "config.interval.default",
		Msg: `"10x" is not a duration`, Hint: `write a Go duration such as "10s" or "1m30s"`,
	}
	if *e != want {
		t.Errorf("got  %+v\nwant %+v", *e, want)
	}
	if got, want := e.Error(), `dir/plugin.toml:9:1: config.interval.default: "10x" is not a duration (write a Go duration such as "10s" or "1m30s")`; got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}

func TestCanonicalValues(t *testing.T) {
	tests := []struct {
		param string // the lines of [config.p]
		want  manifest.Param
	}{
		{"type = \"int\"\ndefault = -4\ngreater_than = -10\nless_than = 0x10",
			manifest.Param{Type: "int", HasDefault: true, Default: "-4", HasGreaterThan: true, GreaterThan: "-10", HasLessThan: true, LessThan: "16"}},
		{"type = \"float\"\ndefault = 1\ngreater_than = 0\nless_than = 1e21",
			manifest.Param{Type: "float", HasDefault: true, Default: "1", HasGreaterThan: true, GreaterThan: "0", HasLessThan: true, LessThan: "1e+21"}},
		{"type = \"float\"\ndefault = 0.50\ninclusion = [0.5, 2]\nexclusion = [1_000.0]",
			manifest.Param{Type: "float", HasDefault: true, Default: "0.5", Inclusion: []string{"0.5", "2"}, Exclusion: []string{"1000"}}},
		{"type = \"bool\"\ndefault = false",
			manifest.Param{Type: "bool", HasDefault: true, Default: "false"}},
		{"type = \"duration\"\ndefault = \"1m30s\"\ngreater_than = \"1000ms\"\ninclusion = [\"90s\", \"1m30s\"]",
			manifest.Param{Type: "duration", HasDefault: true, Default: "1m30s", HasGreaterThan: true, GreaterThan: "1000ms", Inclusion: []string{"90s", "1m30s"}}},
		{"type = \"strings\"\ndefault = [\"a\", \"b c\"]\nregex = '^[a-z ]+$'\nexclusion = [\"x\"]",
			manifest.Param{Type: "strings", HasDefault: true, Default: "a,b c", Regex: "^[a-z ]+$", Exclusion: []string{"x"}}},
		{"type = \"strings\"\ndefault = []",
			manifest.Param{Type: "strings", HasDefault: true, Default: ""}},
		{"type = \"int\"\nexclusion = []",
			manifest.Param{Type: "int"}},
		{"type = \"string\"\ndefault = \"\"\ndescription = \"\"\"\nTwo\nlines.\"\"\"",
			manifest.Param{Type: "string", HasDefault: true, Default: "", Description: "Two\nlines."}},
		{"type = \"string\"\nsecret = true\nrequired = true\nregex = '^tok_'",
			manifest.Param{Type: "string", Secret: true, Required: true, Regex: "^tok_"}},
	}
	for _, tt := range tests {
		t.Run(tt.param, func(t *testing.T) {
			m, err := manifest.Parse("plugin.toml", []byte(head+"[config.p]\n"+tt.param+"\n"))
			if err != nil {
				t.Fatal(err)
			}
			tt.want.Name, tt.want.Line = "p", 7
			if !reflect.DeepEqual(m.Config, []manifest.Param{tt.want}) {
				t.Errorf("got  %+v\nwant %+v", m.Config, []manifest.Param{tt.want})
			}
		})
	}
}

func TestDottedNames(t *testing.T) {
	src := head + "[config.\"auth.token\"]\ntype = \"string\"\nsecret = true\n[global]\n\"db.pool.size\" = { type = \"int\", default = 2 }\n"
	m, err := manifest.Parse("plugin.toml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Config) != 1 || m.Config[0].Name != "auth.token" || m.Config[0].Line != 7 {
		t.Errorf("config: got %+v, want auth.token at line 7", m.Config)
	}
	if len(m.Global) != 1 || m.Global[0].Name != "db.pool.size" || m.Global[0].Default != "2" || m.Global[0].Line != 11 {
		t.Errorf("global: got %+v, want db.pool.size with default 2 at line 11", m.Global)
	}
}

// TestNestedGroups: a table holding only tables groups names, so nested
// tables declare the same parameters and event kinds as quoted names do.
func TestNestedGroups(t *testing.T) {
	src := head + `[config.auth.user]
type = "string"
[config.auth.pass]
type = "string"
secret = true
[global.db.pool.size]
type = "int"
default = 2
[config]
http = { retry-max = { type = "int", default = 3 } }
[events.com.example.user.created]
fields = { id = "string" }
[events.log.fields]
line = "string"
`
	m, err := manifest.Parse("plugin.toml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, ps := range [][]manifest.Param{m.Config, m.Global} {
		for _, p := range ps {
			got = append(got, fmt.Sprintf("%s@%d", p.Name, p.Line))
		}
	}
	for _, e := range m.Events {
		got = append(got, fmt.Sprintf("%s@%d%v", e.Name, e.Line, e.Fields))
	}
	want := []string{"auth.pass@9", "auth.user@7", "http.retry-max@16", "db.pool.size@12",
		"com.example.user.created@17[{id string}]", "log@19[{line string}]", "tick@5[{seq int}]"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got  %q\nwant %q", got, want)
	}
}

// TestEventForms: kinds named as event systems name them, kinds with no
// fields, and fields named as JSON APIs name them.
func TestEventForms(t *testing.T) {
	src := head + `[events."log.line"]
fields = { msg = "string", "http.status" = "int", userId = "string", trace-id = "string" }
[events.span-end]
fields = { took = "duration" }
[events.ping]
[events.heartbeat]
description = "Still alive."
[events.empty]
fields = {}
`
	m, err := manifest.Parse("plugin.toml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range m.Events {
		var fields []string
		for _, f := range e.Fields {
			fields = append(fields, f.Name)
		}
		got = append(got, fmt.Sprintf("%s %s %v", e.Name, manifest.GoName(e.Name), fields))
	}
	want := []string{
		"empty Empty []", "heartbeat Heartbeat []", "log.line LogLine [msg http.status userId trace-id]",
		"ping Ping []", "span-end SpanEnd [took]", "tick Tick [seq]",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got  %q\nwant %q", got, want)
	}
}

// TestSortedByName checks that parameters and kinds are sorted by name and
// that fields keep the order they are written in.
func TestSortedByName(t *testing.T) {
	src := strings.Replace(head, `events.tick.fields = { seq = "int" }`, `events.tick.fields = { z = "int", a = "bytes", m = "strings" }`, 1) +
		"[config.zeta]\ntype = \"int\"\n[config.alpha]\ntype = \"int\"\n[events.alarm]\nfields = { d = \"duration\", c = \"float\" }\n"
	m, err := manifest.Parse("plugin.toml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, p := range m.Config {
		got = append(got, p.Name)
	}
	for _, e := range m.Events {
		got = append(got, e.Name)
		for _, f := range e.Fields {
			got = append(got, e.Name+"."+f.Name+":"+f.Type)
		}
	}
	want := []string{"alpha", "zeta", "alarm", "alarm.d:duration", "alarm.c:float", "tick", "tick.z:int", "tick.a:bytes", "tick.m:strings"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got  %q\nwant %q", got, want)
	}
}

func TestGoName(t *testing.T) {
	tests := map[string]string{
		"auth.token":               "AuthToken",
		"url":                      "URL",
		"max_id":                   "MaxID",
		"api_url":                  "APIURL",
		"http.tls":                 "HTTPTLS",
		"user_uuid":                "UserUUID",
		"cpu_ttl":                  "CPUTTL",
		"sql.json":                 "SQLJSON",
		"uri_ip":                   "URIIP",
		"acme-source":              "AcmeSource",
		"idle":                     "Idle",
		"http2":                    "Http2",
		"a__b":                     "AB",
		"x9.y_z":                   "X9YZ",
		"span-end":                 "SpanEnd",
		"userId":                   "UserID",
		"httpStatusURL":            "HTTPStatusURL",
		"v2Name":                   "V2Name",
		"com.example.user.created": "ComExampleUserCreated",
	}
	for name, want := range tests {
		if got := manifest.GoName(name); got != want {
			t.Errorf("GoName(%q) = %q, want %q", name, got, want)
		}
	}
}

func TestModulePath(t *testing.T) {
	m := &manifest.Manifest{Name: "acme"}
	if got := m.ModulePath(); got != "example.com/acme" {
		t.Errorf("without module: got %q", got)
	}
	m.Module = "github.com/acme/plugin"
	if got := m.ModulePath(); got != "github.com/acme/plugin" {
		t.Errorf("with module: got %q", got)
	}
}

func TestModuleValidation(t *testing.T) {
	for path, ok := range map[string]bool{
		"example.com/acme": true, "github.com/Acme/plug_in.v2/v3": true, "go.acme.io": true,
		"acme": false, "Example.com/acme": false, "example.com//acme": false, "example.com/acme/": false,
		"-x.com/a": false, "example.com/a b": false, "": false, "example.com/../x": false,
	} {
		_, err := manifest.Parse("plugin.toml", []byte(head+"module = \""+path+"\"\n"))
		if (err == nil) != ok {
			t.Errorf("module %q: got error %v, want valid=%t", path, err, ok)
		}
	}
}

// TestDocsErrorsExample parses the manifest of docs/MANIFEST.md's Errors
// section and wants the report printed beneath it, line for line.
func TestDocsErrorsExample(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join("..", "docs", "MANIFEST.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(doc), "\n## Errors\n")
	if !ok {
		t.Fatal("docs/MANIFEST.md has no Errors section")
	}
	block := func(s, open string) (string, string) {
		_, rest, ok := strings.Cut(s, open+"\n")
		body, rest, ok2 := strings.Cut(rest, "```\n")
		if !ok || !ok2 {
			t.Fatalf("no %s block in the Errors section", open)
		}
		return body, rest
	}
	src, rest := block(section, "```toml")
	want, _ := block(rest, "```")
	_, err = manifest.Parse("plugin.toml", []byte(src))
	if err == nil {
		t.Fatal("the example manifest has no error")
	}
	if got := err.Error() + "\n"; got != want {
		t.Errorf("the example's report is\n%s\nthe docs show\n%s", got, want)
	}
}

func TestSuggest(t *testing.T) {
	keys := []string{"type", "description", "required", "default", "greater_than", "inclusion", "exclusion"}
	for word, want := range map[string]string{
		"tpye": "type", "Type": "type", "descrption": "description", // typos
		"desc": "description", "req": "required", "incl": "inclusion", // abbreviations that begin one key
		"ty": "", "de": "", // too short to be sure
		"exc": "exclusion", "frobnicate": "",
	} {
		if got := manifest.Suggest(word, keys); got != want {
			t.Errorf("Suggest(%q) = %q, want %q", word, got, want)
		}
	}
	// An abbreviation that begins two candidates names neither.
	if got := manifest.Suggest("gre", []string{"greater_than", "green"}); got != "" {
		t.Errorf("Suggest(gre) = %q, want none", got)
	}
}

// TestCRLF checks that a manifest with CRLF line ends, as a Windows
// checkout may have it, loads as the same manifest as with LF, multi-line
// strings included, and gets its errors at the same places. A CR written
// as an escape stays.
func TestCRLF(t *testing.T) {
	src := head + "description = \"\"\"\nOne.\n\nTwo.\n\"\"\"\n" +
		"[config.a]\ntype = \"string\"\ndescription = '''\nx\ny'''\ndefault = \"c\\r\\nd\"\n"
	crlf := strings.ReplaceAll(src, "\n", "\r\n")
	want, err := manifest.Parse("plugin.toml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	got, err := manifest.Parse("plugin.toml", []byte(crlf))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("with CRLF: %+v\nwith LF:   %+v", got, want)
	}
	if got.Description != "One.\n\nTwo.\n" || got.Config[0].Description != "x\ny" || got.Config[0].Default != "c\r\nd" {
		t.Errorf("description %q, parameter description %q, default %q", got.Description, got.Config[0].Description, got.Config[0].Default)
	}

	bad := strings.ReplaceAll(head+"description = \"\"\"\nOne.\n\"\"\"\n[config.a]\ntpye = 1\n", "\n", "\r\n")
	_, err = manifest.Parse("plugin.toml", []byte(bad))
	wantErr := "plugin.toml:10:9: config.a: missing type (add type = \"string\", or int, float, bool, duration or strings)\n" +
		"plugin.toml:11:1: config.a.tpye: unknown key (did you mean \"type\"?)"
	if err == nil || err.Error() != wantErr {
		t.Errorf("got\n%v\nwant\n%s", err, wantErr)
	}
}

// TestSpecSize checks that a manifest is refused when its specification
// would not fit in a SPEC reply of the smallest frame limit a host may
// offer, and accepted when it fits exactly.
func TestSpecSize(t *testing.T) {
	withDescription := func(n int) string {
		return head + "[config.a]\ntype = \"int\"\ndescription = \"" + strings.Repeat("d", n) + "\"\n"
	}
	m, err := manifest.Parse("plugin.toml", []byte(withDescription(0)))
	if err != nil {
		t.Fatal(err)
	}
	reply := wire.SpecReply{Spec: m.Spec()}
	fits := wire.HelloMaxFrame - len(reply.AppendTo(nil))
	if _, err := manifest.Parse("plugin.toml", []byte(withDescription(fits))); err != nil {
		t.Errorf("a specification of exactly %d bytes: %v", wire.HelloMaxFrame, err)
	}
	_, err = manifest.Parse("plugin.toml", []byte(withDescription(fits+1)))
	want := fmt.Sprintf("plugin.toml:9:1: config.a.description: the specification encodes to 65537 bytes, more than 65536, "+
		"the largest SPEC reply every host takes (the smallest frame limit a host may offer) "+
		"(shorten the descriptions, which usually make most of it; this one, the longest, has %d bytes)", fits+1)
	if err == nil || err.Error() != want {
		t.Errorf("got\n%v\nwant\n%s", err, want)
	}
}
