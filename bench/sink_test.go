package bench

import (
	"context"
	"errors"
	"io"
	"os/exec"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin"

	"github.com/plugctl/plugctl/bench/internal/grpcstream"
	"github.com/plugctl/plugctl/bench/internal/workload"
	eventspb "github.com/plugctl/plugctl/bench/proto"
	"github.com/plugctl/plugctl/host"
	"github.com/plugctl/plugctl/wire"
)

// sinkSizes are the payload sizes of the sink benchmarks, in
// sub-benchmark name order: those of the sources.
var sinkSizes = sizes

// sinkTransports are the ways batches travel from the host to a sink
// plugin, in sub-benchmark name order.
var sinkTransports = []struct {
	name string
	send sender
}{
	// Both rings: WRITEs through the input ring (protocol version 4),
	// RESULTs through the ring.
	{"plugctl", sendPlugctl(nil, wire.TransportRing, wire.TransportRing)},
	// A sink built before version 4: RESULTs through the ring, WRITEs on
	// the plugin's standard input.
	{"plugctl-outring", sendPlugctl([]string{"-input-ring=false"}, wire.TransportRing, wire.TransportStream)},
	// No ring offered: every frame on the pipes.
	{"plugctl-pipe", sendPlugctl(nil, wire.TransportStream, wire.TransportStream)},
	{"grpc", sendGRPC},
}

// A sender launches its sink plugin for payloads of size bytes, writes n
// events to it in batches of sinkBatch(size), each acknowledged before the
// next is sent, and stops the plugin. It starts m once the plugin is up
// and ready for the first batch, and stops m when the last batch is
// acknowledged.
type sender func(tb testing.TB, size, n int, m meter)

// sinkBatch is how many events one batch holds: up to 512 and about 256
// KiB of payload, as plugctl bench feeds sinks.
func sinkBatch(size int) int { return min(512, max(1, (256<<10)/size)) }

// BenchmarkSink measures events per second written by the host to a sink
// plugin process, with acknowledgements: one batch in flight, the next
// sent once the sink has answered the last. One op is one event, checked
// by the sink, so ns/op is nanoseconds per event and MB/s counts payload
// bytes.
func BenchmarkSink(b *testing.B) {
	for _, tr := range sinkTransports {
		b.Run(tr.name, func(b *testing.B) {
			for _, s := range sinkSizes {
				b.Run(s.name, func(b *testing.B) {
					b.SetBytes(int64(s.bytes))
					m := &benchMeter{b: b}
					tr.send(b, s.bytes, b.N, m)
					m.report()
				})
			}
		})
	}
}

// TestSinks checks that every sink transport delivers what the host
// writes, as the sink checks it, and that each plugctl variant runs on
// the transports it is named for.
func TestSinks(t *testing.T) {
	for _, tr := range sinkTransports {
		for _, s := range sinkSizes {
			t.Run(tr.name+"/"+s.name, func(t *testing.T) {
				tr.send(t, s.bytes, 3*sinkBatch(s.bytes)+1, noMeter{})
			})
		}
	}
}

// sendPlugctl returns the sender of plugins/plugctl -mode sink with args,
// launched by host.Launch with its defaults; on Linux, where the host
// offers rings, it checks that HELLO_ACK chose transport and input.
func sendPlugctl(args []string, transport, input uint8) sender {
	return func(tb testing.TB, size, n int, m meter) {
		ctx := tb.Context()
		o := host.Options{Role: wire.RoleSink}
		if transport == wire.TransportStream {
			o.RingSize = -1
		}
		p, err := host.Launch(ctx, pluginPath(tb, "plugctl"), append([]string{"-mode", "sink"}, args...), o)
		if err != nil {
			tb.Fatal(err)
		}
		defer func() {
			ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
			defer cancel()
			if err := p.Close(ctx); err != nil {
				tb.Error(err)
			}
		}()
		if ack := p.HelloAck(); runtime.GOOS == "linux" && (ack.Transport != transport || ack.InputTransport != input) {
			tb.Fatalf("HELLO_ACK transport %d, input transport %d; want %d and %d", ack.Transport, ack.InputTransport, transport, input)
		}
		s, err := p.OpenSink(ctx, map[string]string{"size": strconv.Itoa(size)})
		if err != nil {
			tb.Fatal(err)
		}
		payload := workload.Payload(size)
		batch := make([]wire.Event, sinkBatch(size))
		for i := range batch {
			batch[i] = wire.Event{Kind: workload.Kind, Payload: payload}
		}
		m.start(p.Pid())
		for pos := 1; pos <= n; {
			k := min(len(batch), n-pos+1)
			now := time.Now().UnixNano()
			for i := range k {
				batch[i].Position, batch[i].Time = uint64(pos+i), now
			}
			if err := s.Write(ctx, batch[:k]); err != nil {
				tb.Fatal(err)
			}
			pos += k
		}
		m.stop()
		if err := s.Close(ctx); err != nil {
			tb.Fatal(err)
		}
	}
}

// sendGRPC runs the gRPC sink baseline: go-plugin launches the plugin and
// the host writes batches on one bidirectional stream, waiting for each
// batch's WriteAck before it sends the next. One WriteBatch and its Events
// are reused for every message: Send has marshalled the message when it
// returns, and reuse gives gRPC its best case, which keeps the comparison
// conservative. m starts once go-plugin's handshake is done, before the
// call.
func sendGRPC(tb testing.TB, size, n int, m meter) {
	cmd := exec.Command(pluginPath(tb, "grpcsink"), "-size", strconv.Itoa(size))
	client := plugin.NewClient(&plugin.ClientConfig{
		HandshakeConfig:  grpcstream.Handshake,
		Plugins:          grpcstream.SinkSet(nil),
		Cmd:              cmd,
		AllowedProtocols: []plugin.Protocol{plugin.ProtocolGRPC},
		Logger:           hclog.NewNullLogger(),
	})
	defer client.Kill()
	conn, err := client.Client()
	if err != nil {
		tb.Fatal(err)
	}
	raw, err := conn.Dispense(grpcstream.SinkName)
	if err != nil {
		tb.Fatal(err)
	}
	ctx, cancel := context.WithCancel(tb.Context())
	defer cancel()
	payload := workload.Payload(size)
	events := make([]*eventspb.Event, sinkBatch(size))
	for i := range events {
		events[i] = &eventspb.Event{Kind: workload.Kind, Payload: payload}
	}
	batch := &eventspb.WriteBatch{}
	m.start(cmd.Process.Pid)
	stream, err := raw.(eventspb.EventSinkClient).Write(ctx)
	if err != nil {
		tb.Fatal(err)
	}
	for pos := 1; pos <= n; {
		k := min(len(events), n-pos+1)
		now := time.Now().UnixNano()
		for i, e := range events[:k] {
			e.Position, e.Time = uint64(pos+i), now
		}
		batch.Id++
		batch.Events = events[:k]
		if err := stream.Send(batch); err != nil {
			tb.Fatal(err)
		}
		ack, err := stream.Recv()
		if err != nil {
			tb.Fatal(err)
		}
		if ack.GetId() != batch.Id {
			tb.Fatalf("ack of batch %d, want %d", ack.GetId(), batch.Id)
		}
		pos += k
	}
	m.stop()
	if err := stream.CloseSend(); err != nil {
		tb.Fatal(err)
	}
	if _, err := stream.Recv(); !errors.Is(err, io.EOF) {
		tb.Fatalf("after the last batch: %v, want the end of the stream", err)
	}
}
