package sdktest

import (
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/plugctl/plugctl/sdk"
	"github.com/plugctl/plugctl/wire"
)

// config and parseConfig stand for a generated Config and ParseConfig.
type config struct {
	Interval time.Duration
	Token    string
}

var testParams = []wire.Param{
	{Name: "interval", Type: wire.TypeDuration, Default: "1s", Validations: []wire.Validation{
		{Type: wire.ValidationGreaterThan, Value: "0s"},
	}},
	{Name: "token", Type: wire.TypeString, Secret: true, Validations: []wire.Validation{
		{Type: wire.ValidationRequired},
		{Type: wire.ValidationRegex, Value: "^[a-z]+$"},
	}},
}

func parseConfig(settings map[string]string) (config, error) {
	s, err := sdk.ParseSettings(testParams, settings)
	if err != nil {
		return config{}, err
	}
	return config{Interval: s.Duration("interval"), Token: s.String("token")}, nil
}

// parser is what a generated test would declare for parseConfig.
var parser = Parser[config]{Name: "ParseConfig", Parse: parseConfig, Valid: map[string]string{"token": "abc"}}

// point stands for a generated event type.
type point struct {
	X    int64  `json:"x"`
	Name string `json:"name"`
}

func (e *point) AppendJSON(dst []byte) []byte {
	dst = append(dst, `{"x":`...)
	dst = strconv.AppendInt(dst, e.X, 10)
	dst = append(dst, `,"name":`...)
	dst = sdk.AppendJSONString(dst, e.Name)
	return append(dst, '}')
}

var points = []point{{}, {X: -3, Name: "<a> & é"}, {X: 1 << 40, Name: "\u2028"}}

var spec = wire.Spec{Events: []wire.EventKind{{Name: "a"}, {Name: "b"}}}

// TestChecksPass runs every check on correct code: none may fail.
func TestChecksPass(t *testing.T) {
	parser.Defaults(t, config{Interval: time.Second, Token: "abc"})
	parser.Invalid(t, []Case{
		{Param: "interval", Rule: "type", Value: "10"},
		{Param: "interval", Rule: "greater_than", Value: "0s"},
		{Param: "token", Rule: "required", Value: ""},
		{Param: "token", Rule: "regex", Value: "ABC"},
	})
	parser.AllProblems(t, []Setting{{Param: "interval", Value: "-1s"}, {Param: "token", Value: ""}, {Param: "nope", Value: "1"}})
	parser.Unknown(t, "tokenx", `unknown parameter; did you mean "token"?`)
	parser.Secrets(t, []Setting{{Param: "token", Value: "S3CRET"}}, "nope")
	if parser.Valid["interval"] != "" || len(parser.Valid) != 1 {
		t.Errorf("the checks changed Valid: %v", parser.Valid)
	}

	Kinds(t, spec, map[string]sdk.Kind{"a": 0, "b": 1})
	AppendJSON(t, points)
	AppendJSONAllocs(t, points)
	RoundTrip(t, points)
	Decode(t, points, "decodePoint", decodePoint)
}

func decodePoint(payload []byte) (point, error) {
	var p point
	err := json.Unmarshal(payload, &p)
	return p, err
}

// TestSkip checks that every check of a Parser with Skip set skips.
func TestSkip(t *testing.T) {
	p := parser
	p.Skip = "no value found"
	p.Parse = func(map[string]string) (config, error) { panic("a skipped check parsed") }
	for name, check := range map[string]func(*testing.T){
		"Defaults":    func(t *testing.T) { p.Defaults(t, config{}) },
		"Invalid":     func(t *testing.T) { p.Invalid(t, []Case{{Param: "token", Rule: "regex", Value: "A"}}) },
		"AllProblems": func(t *testing.T) { p.AllProblems(t, nil) },
		"Unknown":     func(t *testing.T) { p.Unknown(t, "x", "unknown parameter") },
		"Secrets":     func(t *testing.T) { p.Secrets(t, nil, "x") },
	} {
		var sub *testing.T
		t.Run(name, func(t *testing.T) { sub = t; check(t) })
		if !sub.Skipped() {
			t.Errorf("%s did not skip", name)
		}
	}
}

// broken are checks run on broken code, and what each must report. Each
// runs in a child process, as a failing test cannot be run in this one
// without failing it.
var broken = map[string]struct {
	check func(*testing.T)
	want  string // a regular expression the failure matches
}{
	"Defaults/error": {func(t *testing.T) {
		p := parser
		p.Valid = nil
		p.Defaults(t, config{})
	}, `ParseConfig\(map\[\]\): invalid configuration: token: is required`},
	"Defaults/value": {func(t *testing.T) { parser.Defaults(t, config{Token: "abc"}) },
		`ParseConfig\(map\[token:abc\]\) =\n\{Interval:1s Token:abc\}\nwant\n\{Interval:0s Token:abc\}`},
	"Invalid/accepted": {func(t *testing.T) { parser.Invalid(t, []Case{{Param: "token", Rule: "regex", Value: "xyz"}}) },
		`=== RUN   TestBroken/Invalid/accepted/token/regex\n.*ParseConfig\(map\[token:xyz\]\) accepted it`},
	"Invalid/other": {func(t *testing.T) {
		p := parser
		p.Valid = map[string]string{}
		p.Invalid(t, []Case{{Param: "interval", Rule: "type", Value: "10"}})
	}, `ParseConfig\(map\[interval:10\]\): problems with \["interval" "token"\], want with "interval" only`},
	"Invalid/not a ConfigError": {func(t *testing.T) {
		p := parser
		p.Parse = func(map[string]string) (config, error) { return config{}, errors.New("boom") }
		p.Invalid(t, []Case{{Param: "token", Rule: "regex", Value: "A"}})
	}, `error boom is a \*errors.errorString, want a \*sdk.ConfigError`},
	"AllProblems": {func(t *testing.T) {
		parser.AllProblems(t, []Setting{{Param: "nope", Value: "1"}, {Param: "token", Value: "A"}})
	}, `problems with \["token" "nope"\], want \["nope" "token"\]`},
	"Unknown/param": {func(t *testing.T) {
		p := parser
		p.Valid = nil
		p.Unknown(t, "x", "unknown parameter")
	}, `ParseConfig\(map\[x:1\]\): problems \[\{token is required\} \{x unknown parameter\}\], want one with "x"`},
	"Unknown/message": {func(t *testing.T) { parser.Unknown(t, "tokenx", "unknown parameter") },
		`message "unknown parameter; did you mean \\"token\\"\?", want "unknown parameter"`},
	"Secrets/accepted": {func(t *testing.T) {
		p := parser
		p.Parse = func(map[string]string) (config, error) { return config{}, nil }
		p.Secrets(t, []Setting{{Param: "token", Value: "S3CRET"}}, "nope")
	}, `ParseConfig\(map\[nope:1 token:S3CRET\]\) accepted an unknown setting`},
	"Secrets/shown": {func(t *testing.T) {
		p := parser
		p.Parse = func(s map[string]string) (config, error) { return config{}, errors.New(s["token"]) }
		p.Secrets(t, []Setting{{Param: "token", Value: "S3CRET"}}, "nope")
	}, `the error shows the secret value "S3CRET": S3CRET`},
	"Kinds": {func(t *testing.T) { Kinds(t, spec, map[string]sdk.Kind{"a": 1, "b": 1, "c": 2}) },
		`kind 1 is not "a" in Spec\(\).Events\n.*kind 2 is not "c" in Spec\(\).Events`},
	"AppendJSON/encoding": {func(t *testing.T) { AppendJSON(t, []unescaped{{"<"}}) },
		`sample 0:\nAppendJSON   \{"s":"<"\}\njson.Marshal \{"s":"\\u003c"\}`},
	"AppendJSON/dst": {func(t *testing.T) { AppendJSON(t, []overwriting{{}}) },
		`sample 0: AppendJSON after "x" = \{\}`},
	"AppendJSONAllocs": {func(t *testing.T) { AppendJSONAllocs(t, []allocating{{}, {}}) },
		`sample 0: AppendJSON allocates 1 times, want 0\n.*sample 1: AppendJSON allocates 1 times, want 0`},
	"RoundTrip": {func(t *testing.T) { RoundTrip(t, []misnamed{{5}}) },
		`sample 0: read back as \{"y":0\}, want \{"y":5\}`},
	"Decode/error": {func(t *testing.T) {
		Decode(t, points, "decodePoint", func([]byte) (point, error) { return point{}, errors.New("bad") })
	}, `sample 0: decodePoint\(\{"x":0,"name":""\}\): bad`},
	"Decode/value": {func(t *testing.T) {
		Decode(t, points[1:2], "decodePoint", func([]byte) (point, error) { return point{}, nil })
	}, `sample 0: read back as \{"x":0,"name":""\}, want \{"x":-3,"name":"\\u003ca\\u003e \\u0026 é"\}`},
}

// unescaped encodes its string without escaping it, as encoding/json does.
type unescaped struct {
	S string `json:"s"`
}

func (e *unescaped) AppendJSON(dst []byte) []byte {
	return append(append(append(dst, `{"s":"`...), e.S...), `"}`...)
}

// overwriting writes the right JSON over what dst holds.
type overwriting struct{}

func (e *overwriting) AppendJSON(dst []byte) []byte { return append(dst[:0], "{}"...) }

// allocating writes the right JSON into a new slice each time.
type allocating struct{}

func (e *allocating) AppendJSON(dst []byte) []byte {
	leaked = make([]byte, 2)
	return append(dst, "{}"...)
}

// leaked keeps what allocating allocates on the heap.
var leaked []byte

// misnamed writes its field under a name encoding/json does not read.
type misnamed struct {
	X int64 `json:"x"`
}

func (e *misnamed) AppendJSON(dst []byte) []byte {
	return append(strconv.AppendInt(append(dst, `{"y":`...), e.X, 10), '}')
}

// TestBroken runs the check named by SDKTEST_BROKEN, in the child process
// TestChecksFail starts.
func TestBroken(t *testing.T) {
	name := os.Getenv("SDKTEST_BROKEN")
	if name == "" {
		t.Skip("run by TestChecksFail")
	}
	t.Run(name, broken[name].check)
}

// TestChecksFail runs each check on broken code and checks that it fails
// with its message.
func TestChecksFail(t *testing.T) {
	for name, b := range broken {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			cmd := exec.Command(os.Args[0], "-test.run=^TestBroken$", "-test.v")
			cmd.Env = append(os.Environ(), "SDKTEST_BROKEN="+name)
			out, err := cmd.CombinedOutput()
			if err == nil {
				t.Fatalf("the check passed:\n%s", out)
			}
			// Lines of a message after the first are indented.
			out = regexp.MustCompile(`\n\s+`).ReplaceAll(out, []byte("\n"))
			if !regexp.MustCompile(b.want).Match(out) {
				t.Errorf("output does not match %q:\n%s", b.want, out)
			}
		})
	}
}

// TestBenchmarks runs both benchmarks briefly, in a child process, and
// checks that they report bytes and allocations.
func TestBenchmarks(t *testing.T) {
	if os.Getenv("SDKTEST_BROKEN") != "" {
		t.Skip("a child process")
	}
	cmd := exec.Command(os.Args[0], "-test.run=^$", "-test.bench=^BenchmarkPoint", "-test.benchtime=10x")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	for _, name := range []string{"BenchmarkPointAppendJSON", "BenchmarkPointMarshal"} {
		if !regexp.MustCompile(`(?m)^` + name + `\S*\s+10\s+.* MB/s\s+\d+ B/op\s+\d+ allocs/op$`).Match(out) {
			t.Errorf("no result of %s with bytes and allocations:\n%s", name, out)
		}
	}
}

func BenchmarkPointAppendJSON(b *testing.B) { BenchmarkAppendJSON(b, points[1]) }

func BenchmarkPointMarshal(b *testing.B) { BenchmarkMarshal(b, points[1]) }
