// Command plugctl is the plugctl source plugin of the benchmarks, built on
// the plugctl SDK. It has two modes, chosen by flag because each is a
// different shape of sdk.Plugin:
//
//   - throughput (default): a polled Source whose NextBatch fills the whole
//     batch with Batch.Append, one preallocated payload, positions 1, 2, …
//     and one clock reading per batch: as fast as the SDK allows.
//   - latency: a Run source that emits one event, stamped with its emit
//     time, then sleeps about a millisecond, until the instance stops.
//
// The instance setting "size" is the payload size in bytes (default 64).
// When PLUGCTL_BENCH_CPUPROFILE is set, the plugin writes a CPU profile of
// its whole life to that path plus "." and its process id, when the host
// closes the instance.
//
// Usage (the host launches it):
//
//	plugctl [-mode throughput|latency]
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
	mode := flag.String("mode", "throughput", "`mode`: throughput (polled Source) or latency (Run)")
	flag.Parse()
	p := sdk.Plugin{Spec: spec}
	switch *mode {
	case "throughput":
		p.Source = open
	case "latency":
		p.Run = run
	default:
		fmt.Fprintf(os.Stderr, "plugctl-bench: unknown -mode %q: want throughput or latency\n", *mode)
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
	sdk.Main(p)
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
