// Package grpcstream is the go-plugin wiring shared by the gRPC baseline
// plugins (plugins/grpcstream, plugins/grpcsink) and the benchmark host:
// the handshake, the plugins' names in their plugin sets, and the
// GRPCPlugins that connect the EventSource and EventSink services of
// proto/events.proto on both sides.
package grpcstream

import (
	"context"

	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"

	eventspb "github.com/plugctl/plugctl/bench/proto"
)

// Name is the plugin's key in the plugin set.
const Name = "events"

// BatchSize is the number of events in each streamed message.
const BatchSize = 128

// Handshake is the go-plugin handshake both sides agree on.
var Handshake = plugin.HandshakeConfig{
	ProtocolVersion:  1,
	MagicCookieKey:   "PLUGCTL_BENCH_GRPC",
	MagicCookieValue: "events",
}

// Plugin connects the EventSource service. The plugin process sets Impl;
// the host leaves it nil and dispenses an eventspb.EventSourceClient.
type Plugin struct {
	plugin.NetRPCUnsupportedPlugin
	Impl eventspb.EventSourceServer
}

// GRPCServer registers the plugin's EventSource implementation.
func (p *Plugin) GRPCServer(_ *plugin.GRPCBroker, s *grpc.Server) error {
	eventspb.RegisterEventSourceServer(s, p.Impl)
	return nil
}

// GRPCClient returns an eventspb.EventSourceClient on the plugin's connection.
func (p *Plugin) GRPCClient(_ context.Context, _ *plugin.GRPCBroker, c *grpc.ClientConn) (any, error) {
	return eventspb.NewEventSourceClient(c), nil
}

// Set returns the plugin set to pass to go-plugin: with the service
// implementation in the plugin, with nil in the host.
func Set(impl eventspb.EventSourceServer) plugin.PluginSet {
	return plugin.PluginSet{Name: &Plugin{Impl: impl}}
}

// SinkName is the sink plugin's key in its plugin set.
const SinkName = "sink"

// SinkPlugin connects the EventSink service, as Plugin connects
// EventSource: the plugin process sets Impl; the host leaves it nil and
// dispenses an eventspb.EventSinkClient.
type SinkPlugin struct {
	plugin.NetRPCUnsupportedPlugin
	Impl eventspb.EventSinkServer
}

// GRPCServer registers the plugin's EventSink implementation.
func (p *SinkPlugin) GRPCServer(_ *plugin.GRPCBroker, s *grpc.Server) error {
	eventspb.RegisterEventSinkServer(s, p.Impl)
	return nil
}

// GRPCClient returns an eventspb.EventSinkClient on the plugin's connection.
func (p *SinkPlugin) GRPCClient(_ context.Context, _ *plugin.GRPCBroker, c *grpc.ClientConn) (any, error) {
	return eventspb.NewEventSinkClient(c), nil
}

// SinkSet returns the sink's plugin set: with the service implementation
// in the plugin, with nil in the host.
func SinkSet(impl eventspb.EventSinkServer) plugin.PluginSet {
	return plugin.PluginSet{SinkName: &SinkPlugin{Impl: impl}}
}
