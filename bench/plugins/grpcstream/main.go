// Command grpcstream is the gRPC baseline plugin: a hashicorp/go-plugin
// plugin whose EventSource.Stream sends an endless server stream of
// batches of grpcstream.BatchSize events until the host cancels the call.
//
// The host launches it with go-plugin's client; run by hand, it only
// prints go-plugin's notice that it is a plugin.
package main

import (
	"time"

	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"

	"github.com/plugctl/plugctl/bench/internal/grpcstream"
	"github.com/plugctl/plugctl/bench/internal/workload"
	eventspb "github.com/plugctl/plugctl/bench/proto"
)

func main() {
	plugin.Serve(&plugin.ServeConfig{
		HandshakeConfig: grpcstream.Handshake,
		Plugins:         grpcstream.Set(source{}),
		GRPCServer:      plugin.DefaultGRPCServer,
	})
}

// source implements the EventSource service.
type source struct {
	eventspb.UnimplementedEventSourceServer
}

// Stream sends batches until Send fails, as it does once the host cancels.
// One Batch and its Events are reused for every message: Send has
// marshalled the message when it returns, and reuse gives gRPC its best
// case, which keeps the comparison conservative.
func (source) Stream(req *eventspb.StreamRequest, stream grpc.ServerStreamingServer[eventspb.Batch]) error {
	payload := workload.Payload(int(req.GetPayloadSize()))
	batch := &eventspb.Batch{Events: make([]*eventspb.Event, max(req.GetBatchSize(), 1))}
	for i := range batch.Events {
		batch.Events[i] = &eventspb.Event{Kind: workload.Kind, Payload: payload}
	}
	pos := uint64(1)
	for {
		now := time.Now().UnixNano()
		for _, e := range batch.Events {
			e.Position = pos
			e.Time = now
			pos++
		}
		if err := stream.Send(batch); err != nil {
			return err
		}
	}
}
