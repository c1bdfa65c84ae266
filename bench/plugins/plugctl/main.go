// Command plugctl is the plugctl plugin of the benchmarks, built on the
// plugctl SDK. It has four modes, chosen by flag because each is a
// different shape of sdk.Plugin:
//
//   - throughput (default): a polled Source whose NextBatch fills the whole
//     batch with Batch.Append, one preallocated payload, positions 1, 2, …
//     and one clock reading per batch: as fast as the SDK allows.
//   - callback: a Run source whose one goroutine emits events with
//     EventSink.EmitKind as fast as the SDK takes them: the shape of
//     generated callback sources.
//   - latency: a Run source that emits one event, stamped with its emit
//     time, then sleeps about a millisecond, until the instance stops.
//   - idle: a Run source that emits nothing until the instance stops.
//   - sink: a Sink whose Write checks every event of each batch (position
//     counting up from 1, kind, payload size) and accepts the batch.
//     With -input-ring=false it declines the input ring the host offers
//     (it offers protocol versions 1 to 3, as sinks built before
//     version 4 do), so the host's WRITEs stay on its standard input.
//
// The instance setting "size" is the payload size in bytes (default 64).
// When PLUGCTL_BENCH_CPUPROFILE is set, the plugin writes a CPU profile of
// its whole life to that path plus "." and its process id, when the host
// closes the instance.
//
// Usage (the host launches it):
//
//	plugctl [-mode throughput|callback|latency|idle|sink] [-input-ring=false]
package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"runtime/pprof"
	"strconv"
	"time"

	"github.com/plugctl/plugctl/bench/internal/workload"
	"github.com/plugctl/plugctl/sdk"
	"github.com/plugctl/plugctl/wire"
)

// envProfile names the CPU profile prefix variable.
const envProfile = "PLUGCTL_BENCH_CPUPROFILE"

// kind is workload.Kind's index in spec.Events.
const kind sdk.Kind = 0

var spec = wire.Spec{
	Name:    "plugctl-bench",
	Summary: "Emits benchmark events as fast as the host takes them, or one at a time.",
	Version: "1.0.0",
	Role:    wire.RoleSource,
	Params: []wire.Param{{
		Name:        "size",
		Type:        "int",
		Default:     "64",
		Description: "payload size of every event, in bytes",
	}},
	Events: []wire.EventKind{{Name: workload.Kind, Description: "a benchmark event with filler payload"}},
}

func main() {
	mode := flag.String("mode", "throughput", "`mode`: throughput (polled Source), callback (Run), latency (Run), idle (Run) or sink")
	inputRing := flag.Bool("input-ring", true, "take the input ring the host offers")
	flag.Parse()
	p := sdk.Plugin{Spec: spec}
	switch *mode {
	case "throughput":
		p.Source = open
	case "callback":
		p.Run = flood
	case "latency":
		p.Run = run
	case "idle":
		p.Run = func(_ sdk.Open, _ sdk.EventSink, s *sdk.Session) error {
			<-s.Done()
			return nil
		}
	case "sink":
		p.Spec.Role = wire.RoleSink
		p.Sink = openSink
	default:
		fmt.Fprintf(os.Stderr, "plugctl-bench: unknown -mode %q: want throughput, callback, latency, idle or sink\n", *mode)
		os.Exit(2)
	}
	if prefix := os.Getenv(envProfile); prefix != "" {
		f, err := os.Create(prefix + "." + strconv.Itoa(os.Getpid()))
		if err == nil {
			err = pprof.StartCPUProfile(f)
		}
		if err != nil {
			fmt.Fprintf(os.Stderr, "plugctl-bench: %s: %v\n", envProfile, err)
			os.Exit(1)
		}
	}
	if !*inputRing {
		serveWithoutInputRing(p)
	}
	sdk.Main(p)
}

// serveWithoutInputRing serves p as a plugin built before protocol
// version 4 does: it takes the ring, offers versions 1 to 3 and leaves the
// input ring alone, so the host's frames stay on standard input.
func serveWithoutInputRing(p sdk.Plugin) {
	ring, err := sdk.OfferedRing()
	if err != nil {
		fmt.Fprintf(os.Stderr, "plugctl-bench: %v\n", err)
		os.Exit(1)
	}
	opts := sdk.ServeOptions{Ring: ring, Versions: []uint16{1, 2, 3}}
	os.Exit(sdk.ExitCode(sdk.Serve(os.Stdin, os.Stdout, p, opts)))
}

// payloadSize reads the "size" setting.
func payloadSize(settings map[string]string) (int, error) {
	v, ok := settings["size"]
	if !ok {
		return 64, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		ce := &sdk.ConfigError{}
		ce.Add("size", fmt.Sprintf("%q is not a number of bytes (want an integer ≥ 0)", v))
		return 0, ce
	}
	return n, nil
}

// source is the throughput mode's polled source.
type source struct {
	payload []byte
	next    uint64 // position of the next event
}

func open(o sdk.Open) (sdk.Source, error) {
	size, err := payloadSize(o.Settings)
	if err != nil {
		return nil, err
	}
	return &source{payload: workload.Payload(size), next: o.ResumeFrom + 1}, nil
}

// NextBatch fills b.
func (s *source) NextBatch(b *sdk.Batch) error {
	now := time.Now().UnixNano()
	for {
		if err := b.Append(s.next, now, kind, s.payload); err != nil {
			if errors.Is(err, sdk.ErrBatchFull) {
				return nil
			}
			return err
		}
		s.next++
	}
}

// Close ends the CPU profile, if one is being written: the SDK exits
// the process without returning from Main.
func (s *source) Close() error {
	pprof.StopCPUProfile()
	return nil
}

// flood is the callback mode: events as fast as EmitKind takes them, one
// clock reading per thousand, until the instance stops. It ends the CPU
// profile, if one is being written, as Close does in the other modes.
func flood(o sdk.Open, sink sdk.EventSink, s *sdk.Session) error {
	defer pprof.StopCPUProfile()
	size, err := payloadSize(o.Settings)
	if err != nil {
		return err
	}
	payload := workload.Payload(size)
	var now int64
	for i := 0; ; i++ {
		if i%1000 == 0 {
			now = time.Now().UnixNano()
		}
		if err := sink.EmitKind(kind, now, payload); err != nil {
			if errors.Is(err, sdk.ErrShutdown) {
				return nil
			}
			return err
		}
	}
}

// run is the latency mode: one event at a time, stamped when emitted.
func run(o sdk.Open, sink sdk.EventSink, s *sdk.Session) error {
	size, err := payloadSize(o.Settings)
	if err != nil {
		return err
	}
	payload := workload.Payload(size)
	for {
		if err := sink.EmitKind(kind, 0, payload); err != nil {
			return err
		}
		if !s.Sleep(time.Millisecond) {
			return nil
		}
	}
}

// sink is the sink mode's instance.
type sink struct {
	size int
	next uint64 // position of the next event
}

func openSink(o sdk.Open) (sdk.Sink, error) {
	size, err := payloadSize(o.Settings)
	if err != nil {
		return nil, err
	}
	return &sink{size: size, next: 1}, nil
}

// Write checks every event, as the benchmark hosts check what sources
// send, and accepts the batch.
func (s *sink) Write(b *wire.Events) error {
	var e wire.Event
	r := b.Reader()
	for r.Next(&e) {
		if e.Position != s.next || e.Kind != workload.Kind || len(e.Payload) != s.size {
			return fmt.Errorf("event at position %d (want %d): kind %q, %d bytes of payload, want %q and %d", e.Position, s.next, e.Kind, len(e.Payload), workload.Kind, s.size)
		}
		s.next++
	}
	return nil
}

// Close ends the CPU profile, if one is being written.
func (s *sink) Close() error {
	pprof.StopCPUProfile()
	return nil
}
