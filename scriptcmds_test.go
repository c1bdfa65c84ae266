package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/plugctl/plugctl/enroll"
	"github.com/plugctl/plugctl/eventline"
	"github.com/rogpeppe/go-internal/testscript"
)

// cmdWaitFile waits, at most 30s, until a file exists:
//
//	waitfile FILE
func cmdWaitFile(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: waitfile FILE")
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		if _, err := os.Stat(ts.MkAbs(args[0])); err == nil {
			return
		}
		if time.Now().After(deadline) {
			ts.Fatalf("%s did not appear in 30s", args[0])
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// cmdEntry sets an environment variable to a field of an enrolled entry,
// so that scripts can reach its binary:
//
//	entry REF path|id|sha256 VAR
func cmdEntry(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 3 {
		ts.Fatalf("usage: entry REF path|id|sha256 VAR")
	}
	dir := ts.Getenv("PLUGCTL_REGISTRY")
	s, err := enroll.Open(filepath.Clean(dir)).Load()
	ts.Check(err)
	e, err := s.Find(args[0])
	ts.Check(err)
	v := map[string]string{"path": e.Path, "id": e.ID, "sha256": e.SHA256}[args[1]]
	if v == "" {
		ts.Fatalf("entry %s has no %s", args[0], args[1])
	}
	ts.Setenv(args[2], v)
}

// cmdRunLines checks that a file holds event lines as plugctl run prints
// them, one instance's positions first..last with none missing:
//
//	runlines FILE FIRST LAST
func cmdRunLines(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 3 {
		ts.Fatalf("usage: runlines FILE FIRST LAST")
	}
	first, err := strconv.ParseUint(args[1], 10, 64)
	ts.Check(err)
	last, err := strconv.ParseUint(args[2], 10, 64)
	ts.Check(err)
	f, err := os.Open(ts.MkAbs(args[0]))
	ts.Check(err)
	defer f.Close()
	want := first
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for n := 1; sc.Scan(); n++ {
		l, err := eventline.Parse(sc.Bytes())
		if err != nil {
			ts.Fatalf("%s:%d: %v", args[0], n, err)
		}
		if _, err := l.Event(); err != nil {
			ts.Fatalf("%s:%d: %v", args[0], n, err)
		}
		if l.Position != want || len(l.Payload) == 0 {
			ts.Fatalf("%s:%d: position %d (payload %s), want %d with a JSON payload", args[0], n, l.Position, l.Payload, want)
		}
		want++
	}
	ts.Check(sc.Err())
	if want != last+1 {
		ts.Fatalf("%s: positions %d to %d, want %d to %d", args[0], first, want-1, first, last)
	}
}

// cmdWaitLines waits, at most 30s, until a file has N complete lines, or
// N more than it has now with +N:
//
//	waitlines FILE N|+N
func cmdWaitLines(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: waitlines FILE N|+N")
	}
	path := ts.MkAbs(args[0])
	count := func() int {
		b, _ := os.ReadFile(path)
		return bytes.Count(b, []byte{'\n'})
	}
	n, err := strconv.Atoi(strings.TrimPrefix(args[1], "+"))
	ts.Check(err)
	if strings.HasPrefix(args[1], "+") {
		n += count()
	}
	deadline := time.Now().Add(30 * time.Second)
	for count() < n {
		if time.Now().After(deadline) {
			ts.Fatalf("%s has %d lines after 30s, want %d", args[0], count(), n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// cmdEventLines checks a file of events as plugctl host writes them:
// every line an event line with plugin and plugin_id, and each stream
// (plugin id and instance) holding positions 1, 2, 3, … in order, none
// twice, none missing. It prints one line per stream:
//
//	eventlines FILE    →  NAME/INSTANCE 1..LAST
func cmdEventLines(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: eventlines FILE")
	}
	type stream struct {
		id       string
		instance uint16
	}
	last := map[stream]uint64{}
	names := map[stream]string{}
	var order []stream
	for i, text := range strings.SplitAfter(ts.ReadFile(args[0]), "\n") {
		if text == "" {
			continue
		}
		if !strings.HasSuffix(text, "\n") {
			ts.Fatalf("%s: line %d has no newline", args[0], i+1)
		}
		l, err := eventline.Parse([]byte(text))
		if err != nil || l.Plugin == "" || l.PluginID == "" {
			ts.Fatalf("%s: line %d %q: %v (plugin and plugin_id must be set)", args[0], i+1, text, err)
		}
		k := stream{l.PluginID, l.Instance}
		if _, ok := last[k]; !ok {
			order = append(order, k)
			names[k] = l.Plugin
		}
		if want := last[k] + 1; l.Position != want {
			ts.Fatalf("%s: line %d: %s/%d position %d, want %d", args[0], i+1, l.Plugin, l.Instance, l.Position, want)
		}
		last[k] = l.Position
	}
	for _, k := range order {
		fmt.Fprintf(ts.Stdout(), "%s/%d 1..%d\n", names[k], k.instance, last[k])
	}
}

// cmdBenchJSON checks plugctl bench --json output: FILE is one JSON
// object, and each FIELD is a figure {min, median, max} with all three
// above zero; FIELD=0 only asks that the figure be there, not null, and
// not negative (a count that may rightly be zero, such as retries).
//
//	benchjson FILE FIELD...
func cmdBenchJSON(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 2 {
		ts.Fatalf("usage: benchjson FILE FIELD...")
	}
	var res map[string]json.RawMessage
	if err := json.Unmarshal([]byte(ts.ReadFile(args[0])), &res); err != nil {
		ts.Fatalf("%s: %v", args[0], err)
	}
	for _, f := range args[1:] {
		name, zeroOK := strings.CutSuffix(f, "=0")
		raw, ok := res[name]
		if !ok || string(raw) == "null" {
			ts.Fatalf("%s: no figure %s (unavailable: %s)", args[0], name, res["unavailable"])
		}
		var s struct{ Min, Median, Max *float64 }
		if err := json.Unmarshal(raw, &s); err != nil || s.Min == nil || s.Median == nil || s.Max == nil {
			ts.Fatalf("%s: %s is %s, want {\"min\", \"median\", \"max\"}", args[0], name, raw)
		}
		for _, v := range []float64{*s.Min, *s.Median, *s.Max} {
			if v < 0 || (v == 0 && !zeroOK) {
				ts.Fatalf("%s: %s is %s, want every value above zero", args[0], name, raw)
			}
		}
	}
}
