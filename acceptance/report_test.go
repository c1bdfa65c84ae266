package acceptance

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

var sampleResults = []Result{
	{Name: "handshake/version", Status: Pass, Duration: 12 * time.Millisecond},
	{Name: "config/required", Status: Fail, Duration: 40 * time.Millisecond, Expected: `OPEN rejected naming "url"`, Got: "REPLY ok", Stderr: []string{"starting", "ready"}},
	{Name: "source/end", Status: Skip, Duration: time.Second, Reason: "no END within 2s"},
}

func TestWriteText(t *testing.T) {
	var b bytes.Buffer
	WriteText(&b, sampleResults, false)
	want := `PASS handshake/version (12ms)
FAIL config/required (40ms)
     expected: OPEN rejected naming "url"
     got:      REPLY ok
     stderr:
       | starting
       | ready
SKIP source/end (1s): no END within 2s
1 passed, 1 failed, 1 skipped
`
	if b.String() != want {
		t.Errorf("got\n%s\nwant\n%s", b.String(), want)
	}
	if got := Summary(sampleResults[:1]); got != "1 passed, 0 failed" {
		t.Errorf("summary without skips: %q", got)
	}
}

func TestWriteJSON(t *testing.T) {
	var b bytes.Buffer
	if err := WriteJSON(&b, sampleResults); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(b.String()), "\n")
	if len(lines) != len(sampleResults) {
		t.Fatalf("%d lines, want %d", len(lines), len(sampleResults))
	}
	var got map[string]any
	if err := json.Unmarshal([]byte(lines[1]), &got); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"name", "status", "duration_ms", "expected", "got", "reason", "stderr"} {
		if _, ok := got[k]; !ok {
			t.Errorf("field %q missing from %s", k, lines[1])
		}
	}
	if got["status"] != "fail" || got["duration_ms"] != 40.0 {
		t.Errorf("line %s", lines[1])
	}
}

func TestWriteJUnit(t *testing.T) {
	var b bytes.Buffer
	if err := WriteJUnit(&b, "fixture", sampleResults); err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Suites []struct {
			Name     string `xml:"name,attr"`
			Tests    int    `xml:"tests,attr"`
			Failures int    `xml:"failures,attr"`
			Skipped  int    `xml:"skipped,attr"`
			Cases    []struct {
				Name    string    `xml:"name,attr"`
				Failure *struct{} `xml:"failure"`
				Skipped *struct{} `xml:"skipped"`
			} `xml:"testcase"`
		} `xml:"testsuite"`
	}
	if err := xml.Unmarshal(b.Bytes(), &doc); err != nil {
		t.Fatalf("%v\n%s", err, b.String())
	}
	s := doc.Suites[0]
	if s.Name != "fixture" || s.Tests != 3 || s.Failures != 1 || s.Skipped != 1 || len(s.Cases) != 3 {
		t.Fatalf("suite %+v", s)
	}
	if s.Cases[1].Failure == nil || s.Cases[2].Skipped == nil || s.Cases[0].Failure != nil {
		t.Errorf("cases %+v", s.Cases)
	}
}

func TestWantConfig(t *testing.T) {
	rs := append(slices.Clone(sampleResults),
		Result{Name: "config/valid", Status: Skip, Reason: "no value", Missing: []string{"url"}},
		Result{Name: "config/secret", Status: Skip, Reason: "no value", Missing: []string{"auth.token", "url"}})
	n, params := WantConfig(rs)
	if n != 2 || !slices.Equal(params, []string{"url", "auth.token"}) {
		t.Errorf("WantConfig = %d, %q; want 2 checks wanting url and auth.token (source/end's skip is the plugin's)", n, params)
	}
}

// TestREADMEListsEveryCheck: README's table of checks has a line for
// each check, and for no other.
func TestREADMEListsEveryCheck(t *testing.T) {
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	listed := regexp.MustCompile("(?m)^\\| `([a-z-]+/[a-z0-9-]+)` \\| ").FindAllStringSubmatch(string(readme), -1)
	var names []string
	for _, m := range listed {
		names = append(names, m[1])
	}
	var want []string
	for _, c := range registry {
		want = append(want, c.name)
	}
	if !slices.Equal(names, want) {
		t.Errorf("README lists the checks %q,\nthe registry has %q", names, want)
	}
}

// TestChecksDocumented: docs/CHECKS.md says what each check does and
// needs, so that it does not fall behind the registry.
func TestChecksDocumented(t *testing.T) {
	b, err := os.ReadFile("../docs/CHECKS.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range registry {
		if !strings.Contains(string(b), "`"+c.name+"`") {
			t.Errorf("docs/CHECKS.md does not name %s", c.name)
		}
	}
}
