package enroll_test

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/plugctl/plugctl/enroll"
)

// FuzzParse: Parse never panics, and what it accepts survives Marshal:
// Parse(Marshal(e)) is e again, and Marshal of that is the same bytes.
// Seeds are in testdata/fuzz/FuzzParse.
func FuzzParse(f *testing.F) {
	f.Add(enroll.Marshal(minimalEntry()))
	f.Add(enroll.Marshal(fullEntry()))
	f.Fuzz(func(t *testing.T, data []byte) {
		e, err := enroll.Parse("fuzz.toml", data)
		if err != nil {
			if e != nil {
				t.Fatalf("Parse returned an entry and an error: %v", err)
			}
			for _, pe := range parseErrors(t, err) {
				if pe.Line < 1 || pe.Col < 1 || pe.File != "fuzz.toml" {
					t.Fatalf("error at %s:%d:%d: %v", pe.File, pe.Line, pe.Col, pe)
				}
				checkPlace(t, data, pe)
			}
			return
		}
		out := enroll.Marshal(e)
		back, err := enroll.Parse("fuzz.toml", out)
		if err != nil {
			t.Fatalf("Parse accepted\n%q\nbut not its Marshal\n%s\n%v", data, out, err)
		}
		if d := diffEntry(e, back); d != "" {
			t.Fatalf("round trip changed the entry parsed from\n%q:\n%s", data, d)
		}
		if again := enroll.Marshal(back); !bytes.Equal(again, out) {
			t.Fatalf("Marshal is not stable:\n%s\n---\n%s", out, again)
		}
	})
}

// checkPlace fails unless a problem with a key is placed where that key
// (or its table) is written: at the key itself, a quoted key, or a table
// header. A key that is not written anywhere (a missing one) is at 1:1.
func checkPlace(t *testing.T, data []byte, pe *enroll.Error) {
	t.Helper()
	if pe.Key == "" || strings.HasPrefix(pe.Msg, "invalid TOML") || pe.Line == 1 && pe.Col == 1 {
		return
	}
	lines := strings.SplitAfter(string(data), "\n")
	if pe.Line > len(lines) || pe.Col > len(lines[pe.Line-1]) {
		t.Fatalf("%v: no such place in\n%q", pe, data)
	}
	at := lines[pe.Line-1][pe.Col-1:]
	key, inEnv := strings.CutPrefix(pe.Key, "env.")
	switch {
	case strings.HasPrefix(at, key), strings.ContainsAny(at[:1], `"'[`):
	case inEnv && strings.HasPrefix(at, "env"):
	default:
		t.Fatalf("%v points at %q, not at its key, in\n%q", pe, at, data)
	}
}

// TestFuzzSeeds keeps the committed seeds honest: valid-* ones parse,
// broken-* ones do not.
func TestFuzzSeeds(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "fuzz", "FuzzParse", "*"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no seeds: %v", err)
	}
	for _, file := range files {
		raw, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		header, value, _ := strings.Cut(string(raw), "\n")
		value, ok := strings.CutPrefix(strings.TrimSpace(value), "[]byte(")
		value, ok2 := strings.CutSuffix(value, ")")
		data, err := strconv.Unquote(value)
		if header != "go test fuzz v1" || !ok || !ok2 || err != nil {
			t.Errorf("%s is not a go test fuzz v1 []byte seed: %v", file, err)
			continue
		}
		_, perr := enroll.Parse(file, []byte(data))
		switch name := filepath.Base(file); {
		case strings.HasPrefix(name, "valid-") && perr != nil:
			t.Errorf("%s does not parse: %v", name, perr)
		case strings.HasPrefix(name, "broken-") && perr == nil:
			t.Errorf("%s parses", name)
		}
	}
}
