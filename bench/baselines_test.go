package bench

import (
	"bufio"
	"context"
	"os"
	"os/exec"
	"strconv"
	"testing"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin"

	"github.com/plugctl/plugctl/bench/internal/grpcstream"
	"github.com/plugctl/plugctl/bench/internal/jsonframe"
	eventspb "github.com/plugctl/plugctl/bench/proto"
)

// receiveJSONFrame runs the JSON baseline: the plugin writes one JSON
// object per frame to its standard output and the host unmarshals each.
// The first frame is read before m starts, to know the process is up; the
// n events measured come after it.
func receiveJSONFrame(tb testing.TB, size, n int, m meter) {
	cmd := exec.Command(pluginPath(tb, "jsonframe"), "-size", strconv.Itoa(size))
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		tb.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	defer func() {
		_ = cmd.Process.Kill() // it would write forever
		_ = cmd.Wait()
	}()
	r := jsonframe.NewReader(bufio.NewReaderSize(out, 64<<10))
	c := newChecker(size)
	var e jsonframe.Event
	next := func() {
		if err := r.Next(&e); err != nil {
			tb.Fatal(err)
		}
		if err := c.check(e.Position, e.Kind, e.Payload); err != nil {
			tb.Fatal(err)
		}
	}
	next()
	m.start(cmd.Process.Pid)
	for range n {
		next()
	}
	m.stop()
}

// receiveGRPC runs the gRPC baseline: go-plugin launches the plugin and the
// host consumes one server-streaming call of batches of
// grpcstream.BatchSize events. m starts once go-plugin's handshake is
// done, before the call.
func receiveGRPC(tb testing.TB, size, n int, m meter) {
	cmd := exec.Command(pluginPath(tb, "grpcstream"))
	client := plugin.NewClient(&plugin.ClientConfig{
		HandshakeConfig:  grpcstream.Handshake,
		Plugins:          grpcstream.Set(nil),
		Cmd:              cmd,
		AllowedProtocols: []plugin.Protocol{plugin.ProtocolGRPC},
		Logger:           hclog.NewNullLogger(),
	})
	defer client.Kill()
	conn, err := client.Client()
	if err != nil {
		tb.Fatal(err)
	}
	raw, err := conn.Dispense(grpcstream.Name)
	if err != nil {
		tb.Fatal(err)
	}
	ctx, cancel := context.WithCancel(tb.Context())
	defer cancel()
	c := newChecker(size)
	m.start(cmd.Process.Pid)
	stream, err := raw.(eventspb.EventSourceClient).Stream(ctx, &eventspb.StreamRequest{
		PayloadSize: uint32(size),
		BatchSize:   grpcstream.BatchSize,
	})
	if err != nil {
		tb.Fatal(err)
	}
	for c.got < n {
		batch, err := stream.Recv()
		if err != nil {
			tb.Fatal(err)
		}
		for _, e := range batch.GetEvents() {
			if err := c.check(e.GetPosition(), e.GetKind(), e.GetPayload()); err != nil {
				tb.Fatal(err)
			}
		}
	}
	m.stop()
}
