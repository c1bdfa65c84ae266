package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"time"

	"github.com/plugctl/plugctl/enroll"
	"github.com/plugctl/plugctl/host"
	"github.com/plugctl/plugctl/wire"
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
