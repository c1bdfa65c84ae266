package main

import (
	"fmt"
	"slices"
	"strings"
)

// sinkTarget is how many times gRPC's events/s plugctl's sink must reach,
// as the median of the per-run ratios, at the payload sizes it is set for.
const sinkTarget = 5

// sinkPayloads are the sink benchmarks' payload sizes in table order, and
// whether the target applies.
var sinkPayloads = []struct {
	name, label string
	target      bool
}{
	{"64B", "64 B", true},
	{"256B", "256 B", false},
	{"1KiB", "1 KiB", true},
	{"16KiB", "16 KiB", false},
}

// sinkRows are the sink table's rows for each payload size; the first is
// judged against the target.
var sinkRows = []struct{ label, bench string }{
	{"plugctl, launched: both rings (version 4)", "BenchmarkSink/plugctl"},
	{"plugctl, WRITEs on the pipe, RESULTs in the ring (sinks before version 4)", "BenchmarkSink/plugctl-outring"},
	{"plugctl, launched, no ring: pipes", "BenchmarkSink/plugctl-pipe"},
	{"go-plugin gRPC, bidirectional stream, one ack per batch", "BenchmarkSink/grpc"},
}

// writeSinks prints the sink table, when the input has sink results.
func writeSinks(b *strings.Builder, r *results) {
	runs := 0
	for name, units := range r.values {
		if strings.HasPrefix(name, "BenchmarkSink/") {
			runs = max(runs, len(units[eventsUnit]))
		}
	}
	if runs == 0 {
		return
	}
	fmt.Fprintf(b, "\nHost → sink plugin process, WRITE batches of up to 512 events and 256 KiB of payload, each acknowledged (RESULT) before the next is sent; events/s as median (min–max) of %d runs, CPU as medians; ×grpc is the ratio to gRPC in the same run, median (min–max) over the runs.\n\n", runs)
	b.WriteString("| payload | transport | events/s | host CPU ns/event | plugin CPU ns/event | ×grpc | target |\n")
	b.WriteString("|---|---|---|---|---|---|---|\n")
	for _, p := range sinkPayloads {
		grpc := r.values["BenchmarkSink/grpc/"+p.name][eventsUnit]
		for i, rw := range sinkRows {
			name := rw.bench + "/" + p.name
			ev := r.get(name, eventsUnit)
			if ev.n == 0 {
				continue
			}
			vs, verdict := "", ""
			if rw.bench != "BenchmarkSink/grpc" {
				rs := runRatios(r.values[name][eventsUnit], grpc)
				vs = ratios(rs)
				if i == 0 {
					verdict = judgeSink(p.target, rs)
				}
			}
			fmt.Fprintf(b, "| %s | %s | %s | %s | %s | %s | %s |\n",
				p.label, rw.label, cell(ev), cpu(r.get(name, hostCPUUnit)), cpu(r.get(name, pluginCPUUnit)), vs, verdict)
		}
	}
}

// runRatios divides each run of a by the same run of b: runs of one
// go test -count pass are taken minutes apart from the next pass's, but
// seconds from one another.
func runRatios(a, b []float64) stats {
	n := min(len(a), len(b))
	var v []float64
	for i := range n {
		if b[i] > 0 {
			v = append(v, a[i]/b[i])
		}
	}
	if len(v) == 0 {
		return stats{}
	}
	slices.Sort(v)
	med := v[len(v)/2]
	if len(v)%2 == 0 {
		med = (v[len(v)/2-1] + v[len(v)/2]) / 2
	}
	return stats{n: len(v), min: v[0], median: med, max: v[len(v)-1]}
}

// ratios formats per-run ratios as "6.1× (5.2–7.0)".
func ratios(s stats) string {
	if s.n == 0 {
		return "—"
	}
	return fmt.Sprintf("%.1f× (%.1f–%.1f)", s.median, s.min, s.max)
}

// judgeSink says whether the median per-run ratio met the target.
func judgeSink(applies bool, rs stats) string {
	switch {
	case !applies:
		return "none"
	case rs.n == 0:
		return "grpc not measured"
	case rs.median < sinkTarget:
		return fmt.Sprintf("MISSED ≥%d× grpc", sinkTarget)
	}
	return fmt.Sprintf("met (≥%d× grpc)", sinkTarget)
}
