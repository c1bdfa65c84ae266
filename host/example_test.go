package host_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"time"

	"github.com/plugctl/plugctl/host"
	"github.com/plugctl/plugctl/wire"
)

// Launch a source plugin enrolled with plugctl manifest enroll, stream its
// events until it ends, and shut it down. The last acknowledged position is
// what a later run resumes from.
func Example() {
	ctx := context.Background()
	reg, err := host.OpenRegistry(os.ExpandEnv("$HOME/.config/plugctl/registry"), nil)
	if err != nil {
		log.Fatal(err)
	}
	defer reg.Close()
	p, err := reg.Launch(ctx, "acme", host.Options{Role: wire.RoleSource})
	if err != nil {
		log.Fatal(err) // a *host.SessionError: why, exit status, last stderr lines
	}
	defer p.Close(ctx)

	var resume *uint64 // the position acknowledged by an earlier run, if any
	src, err := p.OpenSource(ctx, map[string]string{"dir": "/var/log/acme"}, resume, func(b *wire.Events) error {
		r := b.Reader()
		var e wire.Event
		for r.Next(&e) {
			fmt.Printf("%d %s %s\n", e.Position, e.Kind, e.Payload)
		}
		return nil // acknowledges the batch
	})
	if err != nil {
		log.Fatal(err) // a *host.RequestError names each bad parameter
	}
	select {
	case <-src.Ended():
	case <-p.Done():
		log.Fatal(p.Err())
	case <-time.After(time.Minute):
	}
	stop, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	last, _, err := src.Stop(stop)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("acknowledged up to", last)
	src.Close(stop)
}
