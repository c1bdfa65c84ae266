package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/plugctl/plugctl/enroll"
	"github.com/plugctl/plugctl/eventline"
	"github.com/plugctl/plugctl/host"
	"github.com/plugctl/plugctl/wire"
	"github.com/rogpeppe/go-internal/testscript"
)

// testHost is the smallest host application with an enrollment check, for
// the scripts: it opens the registry (--registry or $PLUGCTL_REGISTRY) as
// host.Registry, as any host would.
//
//	testhost launch REF [EVENTS]  launch an enrolled plugin; receive EVENTS events, or all until the session ends
//	testhost exec BINARY          launch a binary, enrolled or not, the same way
//	testhost listen SOCKET        accept one plugin on a Unix socket
//
// With $TESTHOST_READY set it creates that file once the plugin is
// accepted (or the socket listens), so a script can act on a live session.
// Exit status: 0 when the session ended cleanly or EVENTS arrived, 1 when
// the plugin was rejected or the session failed.
func testHost() int {
	args := os.Args[1:]
	if len(args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: testhost launch REF [EVENTS] | exec BINARY | listen SOCKET")
		return 2
	}
	dir, err := enroll.ResolveDir("")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	reg, err := host.OpenRegistry(dir, nil)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer reg.Close()
	ctx := context.Background()
	opts := host.Options{Timeout: 10 * time.Second}
	var p *host.Plugin
	switch args[0] {
	case "launch":
		p, err = reg.Launch(ctx, args[1], opts)
	case "exec":
		opts.Check = reg
		p, err = host.Launch(ctx, args[1], nil, opts)
	case "listen":
		opts.Check = reg
		var ln *host.Listener
		if ln, err = host.Listen(args[1], opts); err == nil {
			ready()
			defer ln.Close()
			p, err = ln.Accept(ctx)
		}
	}
	if err != nil {
		var re *host.RejectError
		if errors.As(err, &re) {
			fmt.Printf("rejected (%s): %s\n", re.Reason, re.Message)
		}
		fmt.Printf("error: %v\n", err)
		return 1
	}
	h := p.Hello()
	fmt.Printf("accepted %s %s id %s\n", h.Name, h.Version, h.ID)
	want := -1
	if len(args) > 2 {
		want, _ = strconv.Atoi(args[2])
	}
	got := 0
	enough := make(chan struct{})
	_, err = p.OpenSource(ctx, map[string]string{"interval": "20ms"}, nil, func(b *wire.Events) error {
		got += b.Len()
		if want >= 0 && got >= want {
			select {
			case <-enough:
			default:
				close(enough)
			}
		}
		return nil
	})
	if err != nil {
		fmt.Printf("open: %v\n", err)
		return 1
	}
	ready()
	select {
	case <-enough:
		fmt.Printf("received %d events\n", want)
		p.Close(ctx)
		return 0
	case <-p.Done():
	case <-time.After(30 * time.Second): // a script waiting on a session that never ends fails, not hangs
		fmt.Println("the session still runs after 30s")
		p.Kill()
		return 1
	}
	fmt.Printf("session ended: %v\n", p.Err())
	if p.Err() != nil {
		return 1
	}
	return 0
}

func ready() {
	if f := os.Getenv("TESTHOST_READY"); f != "" {
		os.WriteFile(f, nil, 0o644)
	}
}

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
