package generate

import (
	"strings"
	"testing"
	"testing/fstest"

	"github.com/plugctl/plugctl/manifest"
)

// tiny is a small manifest for the tests of single artifacts.
func tiny(kind string) *manifest.Manifest {
	return &manifest.Manifest{
		Name: "tiny", Kind: kind, Version: "0.2.0", Summary: "Tiny.",
		Config: []manifest.Param{
			{Name: "token", Type: manifest.TypeString, Secret: true, Required: true, Regex: "^[a-z]+$"},
			{Name: "interval", Type: manifest.TypeDuration, HasDefault: true, Default: "2s"},
		},
		Global: []manifest.Param{
			{Name: "workers", Type: manifest.TypeInt, HasDefault: true, Default: "4", HasGreaterThan: true, GreaterThan: "0"},
		},
		Events: []manifest.EventKind{{Name: "tick", Fields: []manifest.Field{{Name: "seq", Type: manifest.FieldInt}}}},
	}
}

// generated runs one artifact on m and returns its text.
func generated(t *testing.T, artifact func(*project) (File, error), m *manifest.Manifest) string {
	t.Helper()
	p, err := newProject(m)
	if err != nil {
		t.Fatal(err)
	}
	f, err := artifact(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(f.Data)
}

// expect checks that text holds each of want and none of unwanted.
func expect(t *testing.T, name, text string, want, unwanted []string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(text, w) {
			t.Errorf("%s lacks %q:\n%s", name, w, text)
		}
	}
	for _, u := range unwanted {
		if strings.Contains(text, u) {
			t.Errorf("%s holds %q:\n%s", name, u, text)
		}
	}
}

func TestConfigFile(t *testing.T) {
	got := generated(t, configFile, tiny("source"))
	expect(t, "config_gen.go", got, []string{
		"type Config struct",
		"\tInterval time.Duration\n",
		"type GlobalConfig struct",
		"func ParseConfig(settings map[string]string) (Config, error)",
		"func ParseGlobalConfig(settings map[string]string) (GlobalConfig, error)",
		"s, err := sdk.ParseSettings(Spec().Params, settings)",
		"s, err := sdk.ParseSettings(Spec().Global, settings)",
		`Interval: s.Duration("interval"),`,
		`Token:    s.String("token"),`,
		`Workers: s.Int("workers"),`,
		"Secret: its value never appears in an error.",
	}, []string{
		// The parsing is the SDK's: nothing of it in the user's package.
		"settingsParser", "func closest", "func editDistance", "configParams", "regexp.MustCompile",
	})

	m := tiny("source")
	m.Config = append(m.Config,
		manifest.Param{Name: "ratio", Type: manifest.TypeFloat, HasLessThan: true, LessThan: "1"},
		manifest.Param{Name: "tags", Type: manifest.TypeStrings, Inclusion: []string{"a", "b"}})
	m.Global = nil
	expect(t, "config_gen.go", generated(t, configFile, m), []string{
		`Ratio:    s.Float("ratio"),`, `Tags:     s.Strings("tags"),`,
		"if _, err := sdk.ParseSettings(Spec().Global, settings); err != nil {",
		"return GlobalConfig{}, nil",
	}, nil)
}

func TestSpecFile(t *testing.T) {
	got := generated(t, specFile, tiny("sink"))
	expect(t, "spec_gen.go", got, []string{
		"func Spec() wire.Spec {",
		`Name:    "tiny",`,
		"Version: version,",
		"Role:    wire.RoleSink,",
		"{Type: wire.ValidationRequired},",
		`{Type: wire.ValidationRegex, Value: "^[a-z]+$"},`,
		"Secret: true,\n\t\t\t\tValidations: []wire.Validation{\n\t\t\t\t\t{Type: wire.ValidationRequired},",
		`{Name: "seq", Type: "int"},`,
	}, []string{`"0.2.0"`})
}

func TestEventsFile(t *testing.T) {
	source := generated(t, eventsFile, tiny("source"))
	expect(t, "events_gen.go (source)", source, []string{
		"const KindTick sdk.Kind = 0",
		"type TickEvent struct {\n\tSeq int64 `json:\"seq\"`\n}",
		"func (e *TickEvent) AppendJSON(dst []byte) []byte {",
		"dst = append(dst, `{\"seq\":`...)",
		"func AddTick(b *sdk.Batch, position uint64, unixNano int64, e *TickEvent) error {",
		"func EmitTick(s sdk.EventSink, e *TickEvent) error {",
		"var buf [sdk.PayloadBuffer]byte",
		"dst = strconv.AppendInt(dst, e.Seq, 10)",
	}, []string{"DecodeTick"})

	sink := generated(t, eventsFile, tiny("sink"))
	expect(t, "events_gen.go (sink)", sink, []string{
		"func DecodeTick(payload []byte) (TickEvent, error) {",
	}, []string{"AddTick", "EmitTick", "PayloadBuffer"})
}

func TestEventEncoders(t *testing.T) {
	// The fields' encoders are the SDK's: none is declared in the user's
	// package.
	m := tiny("source")
	m.Events[0].Fields = append(m.Events[0].Fields,
		manifest.Field{Name: "at", Type: manifest.FieldTime}, manifest.Field{Name: "tags", Type: manifest.FieldStrings})
	expect(t, "events_gen.go", generated(t, eventsFile, m),
		[]string{"dst = sdk.AppendJSONTime(dst, e.At)", "dst = sdk.AppendJSONStrings(dst, e.Tags)"},
		[]string{"func appendJSON", "hexDigits"})
}

func TestMainFile(t *testing.T) {
	expect(t, "main.go (source)", generated(t, mainFile, tiny("source")), []string{
		"// Command tiny is a plugctl source plugin.",
		`var version = "0.2.0"`,
		`go build -ldflags "-X main.version=1.2.3"`,
		"Source: func(o sdk.Open) (sdk.Source, error) {",
		"return newSource(cfg, o)",
		"return setup(g)",
	}, []string{"Sink:"})
	expect(t, "main.go (sink)", generated(t, mainFile, tiny("sink")), []string{
		"Sink: func(o sdk.Open) (sdk.Sink, error) {",
		"return newSink(cfg, o)",
	}, []string{"Source:"})
}

func TestSkeletonFile(t *testing.T) {
	m := tiny("source")
	expect(t, "source.go", generated(t, skeletonFile, m), []string{
		"func newSource(cfg Config, o sdk.Open) (sdk.Source, error) {",
		"s.next = now.Add(s.cfg.Interval)",
		"s.position = o.ResumeFrom",
		"Seq: int64(s.position + 1),",
		"AddTick(b, s.position+1, now.UnixNano(), &e)",
		"return sdk.ErrTimeout",
	}, []string{"Code generated", "cfg.Interval > 0", "time.Sleep", "var debug"})

	m.Config = nil
	m.Events = nil
	expect(t, "source.go without interval or events", generated(t, skeletonFile, m),
		[]string{"declares no event kind", "return sdk.ErrTimeout"},
		[]string{"cfg.Interval", "AddTick", `"time"`})

	m = tiny("source")
	m.Global = append(m.Global, manifest.Param{Name: "log.level", Type: manifest.TypeString, HasDefault: true, Default: "info"})
	expect(t, "source.go with log.level", generated(t, skeletonFile, m),
		[]string{`debug = g.LogLevel == "debug"`, "if debug {"}, nil)

	sink := tiny("sink")
	expect(t, "sink.go without path", generated(t, skeletonFile, sink),
		[]string{"f := os.Stderr", "return s.w.Flush()"}, []string{"cfg.Path", "Close()"})
	sink.Config = append(sink.Config, manifest.Param{Name: "path", Type: manifest.TypeString, HasDefault: true, Default: "x.jsonl"})
	expect(t, "sink.go with path", generated(t, skeletonFile, sink),
		[]string{"os.OpenFile(cfg.Path,", "return s.file.Sync()", "func (s *sink) Close() error {"}, []string{"s.synced"})
	sink.Config = append(sink.Config, manifest.Param{Name: "sync_every", Type: manifest.TypeDuration, HasDefault: true, Default: "1s"})
	expect(t, "sink.go with path and sync_every", generated(t, skeletonFile, sink),
		[]string{"if time.Since(s.synced) >= s.cfg.SyncEvery {"}, nil)
}

func TestReadmeFile(t *testing.T) {
	m := tiny("source")
	m.Config[1].Description = "How | often."
	m.Config = append(m.Config, manifest.Param{Name: "mode", Type: manifest.TypeString, Exclusion: []string{"a|b"}})
	got := generated(t, readmeFile, m)
	if !strings.HasPrefix(got, "<!-- Code generated by plugctl. DO NOT EDIT. -->\n") {
		t.Errorf("README.md does not start with the header comment:\n%s", got)
	}
	expect(t, "README.md", got, []string{
		"| `interval` | duration | `2s` | no |  | How \\| often. |",
		"| `mode` | string |  | no | not one of a\\|b |  |",
		"| `token` (secret) | string |  | yes | matching `^[a-z]+$` |  |",
		"| `workers` | int | `4` | no | greater than 0 |  |",
		"| `tick` (0) | `TickEvent` | `seq` int |  |",
		"`go build -o tiny .`",
	}, nil)
}

func TestProjectFiles(t *testing.T) {
	m := tiny("source")
	if got, want := generated(t, goModFile, m), "module example.com/tiny\n\ngo 1.23\n"; got != want {
		t.Errorf("go.mod = %q, want %q", got, want)
	}
	m.Module = "example.org/x/tiny"
	if got := generated(t, goModFile, m); !strings.HasPrefix(got, "module example.org/x/tiny\n") {
		t.Errorf("go.mod ignores the manifest's module: %q", got)
	}
	expect(t, "Makefile", generated(t, makefileFile, m), []string{
		"BINARY := tiny", "build:\n\tgo build -o $(BINARY) .", "test:\n\tgo test ./...\n\tplugctl test",
		"generate:\n\tplugctl generate", "check:\n\tplugctl generate --check",
	}, nil)
	expect(t, "plugin.yml", generated(t, workflowFile, m), []string{
		"uses: actions/setup-go@", "run: plugctl generate --check", "run: go vet ./...", "run: go test ./...", "run: plugctl test",
	}, nil)
	expect(t, ".gitignore", generated(t, gitignoreFile, m), []string{"\n/tiny\n"}, nil)
}

// TestWorkflowPinsGenerator: the CI workflow installs the release of
// plugctl that generated the project, and the latest release when a
// development build did, saying so.
func TestWorkflowPinsGenerator(t *testing.T) {
	for generator, want := range map[string]string{
		"v1.2.3":                               "@v1.2.3",
		"v0.4.0-rc.1":                          "@v0.4.0-rc.1",
		"(devel)":                              "@latest",
		"":                                     "@latest",
		"v0.0.0-20251202134600-7a1ea40abcd0":   "@latest",
		"v1.2.4-0.20251202134600-7a1ea40abcd0": "@latest",
		"v1.2.3+dirty":                         "@latest",
	} {
		p, err := newProject(tiny("source"))
		if err != nil {
			t.Fatal(err)
		}
		p.generator = generator
		f, err := workflowFile(p)
		if err != nil {
			t.Fatal(err)
		}
		text := string(f.Data)
		expect(t, "plugin.yml by "+generator, text, []string{"run: go install github.com/plugctl/plugctl" + want + "\n", "To upgrade:"}, nil)
		if pinned := want != "@latest"; pinned {
			expect(t, "plugin.yml by "+generator, text, []string{"# plugctl " + generator + " generated this project"}, []string{"development build"})
		} else {
			expect(t, "plugin.yml by "+generator, text, []string{"# A development build of plugctl (" + generator + ")"}, nil)
		}
	}
}

// TestPlanRejects checks the manifests that would give code that does not
// compile, which Plan refuses with a message naming the culprit.
func TestPlanRejects(t *testing.T) {
	for _, c := range []struct {
		name   string
		change func(m *manifest.Manifest)
		want   string
	}{
		{"kind", func(m *manifest.Manifest) { m.Kind = "filter" }, `kind "filter"`},
		{"same Go name", func(m *manifest.Manifest) {
			m.Config = append(m.Config, manifest.Param{Name: "Interval", Type: manifest.TypeInt})
		}, "both give the Go name Interval"},
		{"kinds with clashing identifiers", func(m *manifest.Manifest) {
			m.Events = []manifest.EventKind{{Name: "event"}, {Name: "kind"}}
		}, "events.kind: its payload type KindEvent is declared by events.event too"},
		{"kinds with the same Go name", func(m *manifest.Manifest) {
			m.Events = append(m.Events, manifest.EventKind{Name: "t_ick"}, manifest.EventKind{Name: "t-ick"})
		}, "events.t-ick: its kind constant KindTIck is declared by events.t_ick too"},
		{"field named like the method", func(m *manifest.Manifest) {
			m.Events[0].Fields = append(m.Events[0].Fields, manifest.Field{Name: "append_json", Type: manifest.FieldInt})
		}, "clashes with the method AppendJSON"},
		{"bound on a string", func(m *manifest.Manifest) {
			m.Config[0].HasGreaterThan, m.Config[0].GreaterThan = true, "1"
		}, "config.token: greater_than and less_than apply to int, float and duration"},
		{"default breaking a rule", func(m *manifest.Manifest) { m.Global[0].Default = "0" }, `global.workers: default "0" breaks its own rule greater_than`},
		{"unknown type", func(m *manifest.Manifest) { m.Config[1].Type = "date" }, `config.interval: unknown type "date"`},
		{"bad bound", func(m *manifest.Manifest) { m.Global[0].GreaterThan = "zero" }, `global.workers: bound "zero" is not of type int`},
	} {
		t.Run(c.name, func(t *testing.T) {
			m := tiny("source")
			c.change(m)
			_, err := Plan(m, packageSources, testGenerator)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("Plan: %v, want an error with %q", err, c.want)
			}
		})
	}
	if _, err := Plan(tiny("source"), fstest.MapFS{}, testGenerator); err == nil || !strings.Contains(err.Error(), "no .go file") {
		t.Errorf("Plan without the packages' sources: %v", err)
	}
}

func TestConfigTestFile(t *testing.T) {
	got := generated(t, configTestFile, tiny("source"))
	expect(t, "config_gen_test.go", got, []string{
		"var configParser = sdktest.Parser[Config]{",
		`Valid: map[string]string{"token": "a"},`,
		"configParser.Defaults(t, Config{\n\t\tInterval: 2 * time.Second,\n\t\tToken:    \"a\",\n\t})",
		`{Param: "token", Rule: "required", Value: ""},`,
		`{Param: "token", Rule: "regex", Value: "https://example.com"},`,
		`{Param: "workers", Rule: "type", Value: "1.5"},`,
		`{Param: "workers", Rule: "greater_than", Value: "0"},`,
		`configParser.Unknown(t, "intervalx", "unknown parameter; did you mean \"interval\"?")`,
		`{Param: "token", Value: "s3cr3t-token"},`,
		"func TestParseGlobalConfigAllProblems(t *testing.T) {",
	}, []string{
		"Skip:", "TestParseGlobalConfigSecrets",
		// The checks are sdktest's: no helper in the user's package.
		"func problems", "func params", "func valid",
	})

	// A required parameter no value satisfies: the tests that need valid
	// settings say so and skip, rather than fail on plugctl's account.
	m := tiny("source")
	m.Config[0].Secret, m.Config[0].Regex, m.Config[0].Exclusion = false, "^a$", []string{"a"}
	expect(t, "config_gen_test.go", generated(t, configTestFile, m), []string{
		`Skip:  "plugctl found no value that required parameter token accepts; the tests that need one are skipped",`,
	}, nil)
}

func TestEventsTestFile(t *testing.T) {
	for _, kind := range []string{"source", "sink"} {
		got := generated(t, eventsTestFile, tiny(kind))
		roundTrip := "sdktest.RoundTrip(t, events[:len(events)-1])"
		if kind == "sink" {
			roundTrip = `sdktest.Decode(t, events[:len(events)-1], "DecodeTick", DecodeTick)`
		}
		expect(t, "events_gen_test.go ("+kind+")", got, []string{
			`sdktest.Kinds(t, Spec(), map[string]sdk.Kind{"tick": KindTick})`,
			"func sampleTickEvents() []TickEvent {",
			"sdktest.AppendJSON(t, sampleTickEvents())",
			"sdktest.AppendJSONAllocs(t, sampleTickEvents())",
			roundTrip,
			"sdktest.BenchmarkAppendJSON(b, sampleTickEvents()[1])",
			"sdktest.BenchmarkMarshal(b, sampleTickEvents()[1])",
		}, []string{`"encoding/json"`, `"bytes"`})
		// Only the samples are declared beside the tests and benchmarks.
		for _, line := range strings.Split(got, "\n") {
			if strings.HasPrefix(line, "func ") && !strings.HasPrefix(line, "func Test") &&
				!strings.HasPrefix(line, "func Benchmark") && !strings.HasPrefix(line, "func sampleTickEvents") {
				t.Errorf("events_gen_test.go (%s) declares %s", kind, line)
			}
		}
	}
}
