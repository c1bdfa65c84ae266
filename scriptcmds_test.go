package main

import (
	"bufio"
	"os"
	"path/filepath"
	"strconv"
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

// cmdEventLines checks that a file holds event lines as plugctl run prints
// them, one instance's positions first..last with none missing:
//
//	eventlines FILE FIRST LAST
func cmdEventLines(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 3 {
		ts.Fatalf("usage: eventlines FILE FIRST LAST")
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
