package main

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"encoding/xml"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/gotooltest"
	"github.com/rogpeppe/go-internal/testscript"
)

var update = flag.Bool("update", false, "rewrite the expected output in testdata/script/*.txtar")

// TestMain lets the test binary act as plugctl, so scripts run the code
// under test as a separate process: "exec plugctl ..."; and as the
// fixture plugins of the host's tests.
func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"plugctl":         main,
		"testhost":        func() { os.Exit(testHost()) },
		"progress-plugin": progressPlugin,
		"faultsrc":        faultSource,
		"crashsrc":        crashSource,
	})
}

// TestScript runs the end-to-end scenarios in testdata/script. Scripts that
// build generated projects are skipped with -short.
func TestScript(t *testing.T) {
	p := testscript.Params{
		Dir:                 "testdata/script",
		RequireExplicitExec: true,
		RequireUniqueNames:  true,
		UpdateScripts:       *update,
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"exits":      cmdExits,
			"append":     cmdAppend,
			"mtimes":     cmdMtimes,
			"sums":       cmdSums,
			"reports":    cmdReports,
			"waitfile":   cmdWaitFile,
			"entry":      cmdEntry,
			"waitlines":  cmdWaitLines,
			"eventlines": cmdEventLines,
			"runlines":   cmdRunLines,
			"benchjson":  cmdBenchJSON,
		},
	}
	// gotooltest gives scripts a go command with the real GOCACHE, so
	// that building generated projects reuses compiled packages.
	if err := gotooltest.Setup(&p); err != nil {
		t.Fatal(err)
	}
	testscript.Run(t, p)
}

// cmdExits runs a command and checks its exit code, which "! exec" does
// not; stdout and stderr are then checked as after exec:
//
//	exits CODE COMMAND [ARGS...]
func cmdExits(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 2 {
		ts.Fatalf("usage: exits CODE COMMAND [ARGS...]")
	}
	want, err := strconv.Atoi(args[0])
	ts.Check(err)
	got := 0
	var ee *exec.ExitError
	switch err := ts.Exec(args[1], args[2:]...); {
	case errors.As(err, &ee):
		got = ee.ExitCode()
	case err != nil:
		ts.Fatalf("%s: %v", args[1], err)
	}
	if got != want {
		ts.Fatalf("%s exited with %d, want %d", args[1], got, want)
	}
}

// cmdAppend appends the contents of one file to another, to edit a file
// the way a user would:
//
//	append DST SRC
func cmdAppend(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: append DST SRC")
	}
	f, err := os.OpenFile(ts.MkAbs(args[0]), os.O_WRONLY|os.O_APPEND, 0)
	ts.Check(err)
	_, err = f.WriteString(ts.ReadFile(args[1]))
	ts.Check(err)
	ts.Check(f.Close())
}

// past is the modification time "mtimes reset" gives files. Comparing with
// a fixed time in the past finds every rewrite, however coarse the file
// system's clock, with no sleeping.
var past = time.Date(2001, 2, 3, 4, 5, 6, 0, time.UTC)

// cmdMtimes checks which files a command rewrote:
//
//	mtimes reset DIR         set the modification time of every file under DIR to a time in the past
//	mtimes changed DIR FILE  write to FILE the files under DIR modified since, one slash path a line
func cmdMtimes(ts *testscript.TestScript, neg bool, args []string) {
	if neg {
		ts.Fatalf("unsupported: ! mtimes")
	}
	switch {
	case len(args) == 2 && args[0] == "reset":
		for _, f := range files(ts, args[1]) {
			ts.Check(os.Chtimes(ts.MkAbs(filepath.Join(args[1], f)), past, past))
		}
	case len(args) == 3 && args[0] == "changed":
		var out strings.Builder
		for _, f := range files(ts, args[1]) {
			fi, err := os.Stat(ts.MkAbs(filepath.Join(args[1], f)))
			ts.Check(err)
			if !fi.ModTime().Equal(past) {
				fmt.Fprintln(&out, f)
			}
		}
		ts.Check(os.WriteFile(ts.MkAbs(args[2]), []byte(out.String()), 0o644))
	default:
		ts.Fatalf("usage: mtimes reset DIR | mtimes changed DIR FILE")
	}
}

// cmdSums writes the SHA-256 of every file under a directory, so that two
// states of a project can be compared with cmp:
//
//	sums DIR FILE
func cmdSums(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: sums DIR FILE")
	}
	var out strings.Builder
	for _, f := range files(ts, args[0]) {
		data, err := os.ReadFile(ts.MkAbs(filepath.Join(args[0], f)))
		ts.Check(err)
		fmt.Fprintf(&out, "%x  %s\n", sha256.Sum256(data), f)
	}
	ts.Check(os.WriteFile(ts.MkAbs(args[1]), []byte(out.String()), 0o644))
}

// files returns the regular files under dir as sorted slash paths.
func files(ts *testscript.TestScript, dir string) []string {
	root := ts.MkAbs(dir)
	var out []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		rel, err := filepath.Rel(root, p)
		out = append(out, filepath.ToSlash(rel))
		return err
	})
	ts.Check(err)
	slices.Sort(out)
	return out
}

// cmdReports parses the two machine-readable reports of plugctl test, as a
// CI system would, checks that they agree check by check, and prints the
// counts for the script to assert:
//
//	reports JSONLINES JUNITXML
func cmdReports(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: reports JSONLINES JUNITXML")
	}
	statuses := map[string]string{}
	var order []string
	sc := bufio.NewScanner(bytes.NewReader([]byte(ts.ReadFile(args[0]))))
	for sc.Scan() {
		var r struct {
			Name       string  `json:"name"`
			Status     string  `json:"status"`
			DurationMS float64 `json:"duration_ms"`
		}
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			ts.Fatalf("%s: line %q: %v", args[0], sc.Text(), err)
		}
		if r.Name == "" || r.Status == "" {
			ts.Fatalf("%s: line %q lacks name or status", args[0], sc.Text())
		}
		statuses[r.Name] = r.Status
		order = append(order, r.Name)
	}
	var suites struct {
		Suites []struct {
			Tests    int `xml:"tests,attr"`
			Failures int `xml:"failures,attr"`
			Skipped  int `xml:"skipped,attr"`
			Cases    []struct {
				Name    string    `xml:"name,attr"`
				Failure *struct{} `xml:"failure"`
				Skipped *struct{} `xml:"skipped"`
			} `xml:"testcase"`
		} `xml:"testsuite"`
	}
	if err := xml.Unmarshal([]byte(ts.ReadFile(args[1])), &suites); err != nil {
		ts.Fatalf("%s: %v", args[1], err)
	}
	if len(suites.Suites) != 1 {
		ts.Fatalf("%s: %d test suites, want 1", args[1], len(suites.Suites))
	}
	suite := suites.Suites[0]
	counts := map[string]int{}
	for _, c := range suite.Cases {
		status := "pass"
		switch {
		case c.Failure != nil:
			status = "fail"
		case c.Skipped != nil:
			status = "skip"
		}
		if statuses[c.Name] != status {
			ts.Fatalf("check %s: JSON says %q, JUnit says %q", c.Name, statuses[c.Name], status)
		}
		counts[status]++
	}
	if len(suite.Cases) != len(order) || suite.Tests != len(order) || suite.Failures != counts["fail"] || suite.Skipped != counts["skip"] {
		ts.Fatalf("JUnit suite counts tests=%d failures=%d skipped=%d over %d cases; JSON has %d checks",
			suite.Tests, suite.Failures, suite.Skipped, len(suite.Cases), len(order))
	}
	fmt.Fprintf(ts.Stdout(), "%d checks: %d pass, %d fail, %d skip\n", len(order), counts["pass"], counts["fail"], counts["skip"])
}
