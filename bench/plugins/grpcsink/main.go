// Command grpcsink is the gRPC sink baseline plugin: a hashicorp/go-plugin
// plugin whose EventSink.Write checks every event of each batch it
// receives (position counting up from 1, kind, payload size) and
// acknowledges the batch, until the host ends the stream. The payload size
// is the -size flag.
//
// The host launches it with go-plugin's client; run by hand, it only
// prints go-plugin's notice that it is a plugin.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"

	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"

	"github.com/plugctl/plugctl/bench/internal/grpcstream"
	"github.com/plugctl/plugctl/bench/internal/workload"
	eventspb "github.com/plugctl/plugctl/bench/proto"
)

func main() {
	size := flag.Int("size", 64, "payload `bytes` of every event")
	flag.Parse()
	plugin.Serve(&plugin.ServeConfig{
		HandshakeConfig: grpcstream.Handshake,
		Plugins:         grpcstream.SinkSet(sink{size: *size}),
		GRPCServer:      plugin.DefaultGRPCServer,
	})
}

// sink implements the EventSink service.
type sink struct {
	eventspb.UnimplementedEventSinkServer
	size int
}

// Write checks and acknowledges batches until the host closes its side.
// One WriteAck is reused: Send has marshalled it when it returns.
func (s sink) Write(stream grpc.BidiStreamingServer[eventspb.WriteBatch, eventspb.WriteAck]) error {
	next := uint64(1)
	ack := &eventspb.WriteAck{}
	for {
		batch, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		for _, e := range batch.GetEvents() {
			if e.GetPosition() != next || e.GetKind() != workload.Kind || len(e.GetPayload()) != s.size {
				return fmt.Errorf("event at position %d (want %d): kind %q, %d bytes of payload, want %q and %d",
					e.GetPosition(), next, e.GetKind(), len(e.GetPayload()), workload.Kind, s.size)
			}
			next++
		}
		ack.Id = batch.GetId()
		if err := stream.Send(ack); err != nil {
			return err
		}
	}
}
