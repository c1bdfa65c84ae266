// Command benchtable reads the output of the bench module's benchmarks
// (go test -bench) on standard input and prints a Markdown table. For each
// payload size it has one row per transport: events per second as median
// (min–max) across the -count runs, the host's and the plugin's CPU time
// per event (medians), and for plugctl the ratios of its median to the
// gRPC and JSON baselines' and to the ceiling of its ring, pipe or socket
// (on the ring also to the ceiling of a host that checks every event),
// and whether it met its targets. A table of the sink benchmarks follows,
// with each plugctl row's ratio to gRPC run by run, then the single-event
// latency table (plugctl beside its floors), the idle plugin's line and
// the command that produced the input.
//
// Usage:
//
//	go test -run '^$' -bench . -count 5 | benchtable [-cmd text]
//
// The -cmd text is printed under the table as the command that produced
// it. run.sh in the bench module does all of this.
package main

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

func main() {
	cmd := flag.String("cmd", "", "the command that produced the input, printed under the table")
	flag.Usage = func() {
		fmt.Fprintln(os.Stderr, "usage: go test -run '^$' -bench . -count 5 | benchtable [-cmd text]")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() != 0 {
		flag.Usage()
		os.Exit(2)
	}
	res, err := parse(os.Stdin)
	if err == nil {
		err = write(os.Stdout, res, *cmd)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "benchtable:", err)
		os.Exit(1)
	}
}

// results holds every value of every benchmark in the input.
type results struct {
	cpu    string
	values map[string]map[string][]float64 // benchmark name (no -N suffix) → unit → one value per run
}

// benchLine matches a result line: name, optional GOMAXPROCS suffix,
// iterations, then value/unit pairs.
var benchLine = regexp.MustCompile(`^(Benchmark\S+?)(?:-\d+)?\s+\d+\s+(.+)$`)

// parse reads go test -bench output. Lines that are not results are
// skipped, except the cpu line, which is kept for the table's heading.
func parse(r io.Reader) (*results, error) {
	res := &results{values: map[string]map[string][]float64{}}
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		line := sc.Text()
		if cpu, ok := strings.CutPrefix(line, "cpu: "); ok {
			res.cpu = cpu
			continue
		}
		m := benchLine.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		fields := strings.Fields(m[2])
		if len(fields)%2 != 0 {
			return nil, fmt.Errorf("result line has an odd number of value and unit fields: %q", line)
		}
		units := res.values[m[1]]
		if units == nil {
			units = map[string][]float64{}
			res.values[m[1]] = units
		}
		for i := 0; i < len(fields); i += 2 {
			v, err := strconv.ParseFloat(fields[i], 64)
			if err != nil {
				return nil, fmt.Errorf("result line %q: %w", line, err)
			}
			units[fields[i+1]] = append(units[fields[i+1]], v)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if len(res.values) == 0 {
		return nil, errors.New("no benchmark results in the input (did go test fail?)")
	}
	return res, nil
}

// stats summarises one metric across runs; n is 0 when there was none.
type stats struct {
	n                int
	min, median, max float64
}

// get returns the stats of unit for the named benchmark.
func (r *results) get(name, unit string) stats {
	v := slices.Clone(r.values[name][unit])
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

// Metric names the benchmarks report.
const (
	eventsUnit     = "events/s"
	hostCPUUnit    = "host-cpu-ns/event"
	pluginCPUUnit  = "plugin-cpu-ns/event"
	p50Unit        = "p50-us"
	p99Unit        = "p99-us"
	idleCPUUnit    = "plugin-cpu-%"
	idleRSSUnit    = "plugin-peak-rss-MiB"
	hostCoreUnit   = "host-cpu-%"
	pluginCoreUnit = idleCPUUnit
)

// A target is what plugctl must reach at one payload size.
type target struct {
	eventsPerSec float64
	overGRPC     float64
}

// The single-event latency targets, in microseconds, met by the median
// run's p50 and p99.
const (
	latencyP50Target = 10
	latencyP99Target = 50
)

// The idle plugin's targets: percent of one core, and MiB resident.
const (
	idleCPUTarget = 1
	idleRSSTarget = 15
)

// payloads are the payload sizes in table order, with plugctl's targets
// (zero: none).
var payloads = []struct {
	name   string // sub-benchmark name
	label  string
	target target
}{
	{"64B", "64 B", target{30e6, 2}},
	{"256B", "256 B", target{}},
	{"1KiB", "1 KiB", target{4e6, 2}},
	{"16KiB", "16 KiB", target{}},
}

// A row is one transport at one payload size.
type row struct {
	label   string
	bench   string // benchmark name before "/" and the payload name
	ceiling string // plugctl rows: the benchmark of their ceiling
	checked string // the ring row: the ceiling of a host that checks every event
	judged  bool   // plugctl's targets apply
}

// ringShareTarget is the share of the raw-ring ceiling plugctl's ring
// row must reach at every payload size.
const ringShareTarget = 0.6

// rows are the table's rows for each payload size, in order. Rows without
// results in the input are left out.
var rows = []row{
	{"plugctl, launched: shared ring", "BenchmarkThroughput/plugctl", "BenchmarkCeiling/ring", "BenchmarkCeiling/ring-checked", true},
	{"plugctl, launched, callback source: shared ring", "BenchmarkThroughput/plugctl-callback", "BenchmarkCeiling/ring", "BenchmarkCeiling/ring-checked", true},
	{"plugctl, launched, no ring: pipe", "BenchmarkThroughput/plugctl-pipe", "BenchmarkCeiling/pipe", "", true},
	{"plugctl, unix socket", "BenchmarkThroughput/plugctl-unix", "BenchmarkCeiling/unix", "", true},
	{"JSON per frame, pipe", "BenchmarkThroughput/jsonframe", "", "", false},
	{"go-plugin gRPC, 128 per message", "BenchmarkThroughput/grpc", "", "", false},
	{"ceiling: raw frames, shared ring", "BenchmarkCeiling/ring", "", "", false},
	{"ceiling: raw frames, shared ring, host checks every event", "BenchmarkCeiling/ring-checked", "", "", false},
	{"ceiling: raw frames, pipe", "BenchmarkCeiling/pipe", "", "", false},
	{"ceiling: raw frames, unix socket", "BenchmarkCeiling/unix", "", "", false},
}

// write prints the table.
func write(w io.Writer, r *results, cmd string) error {
	b := &strings.Builder{}
	writeSources(b, r)
	writeSinks(b, r)
	writeLatency(b, r)
	writeIdle(b, r)
	if cmd != "" {
		fmt.Fprintf(b, "\nProduced by: `%s`\n", cmd)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// writeSources writes the table of the source benchmarks, throughput and
// ceilings, if the input has any.
func writeSources(b *strings.Builder, r *results) {
	runs := 0
	for _, units := range r.values {
		runs = max(runs, len(units[eventsUnit]))
	}
	if runs == 0 {
		return
	}
	fmt.Fprintf(b, "Plugin process → host, events/s as median (min–max) of %d runs, CPU as medians", runs)
	if r.cpu != "" {
		fmt.Fprintf(b, "; cpu: %s", r.cpu)
	}
	b.WriteString(".\n\n")
	b.WriteString("| payload | transport | events/s | host CPU ns/event | plugin CPU ns/event | ×grpc | ×json | of ceiling | of checked ceiling | plugctl target |\n")
	b.WriteString("|---|---|---|---|---|---|---|---|---|---|\n")
	for _, p := range payloads {
		grpc := r.get("BenchmarkThroughput/grpc/"+p.name, eventsUnit)
		json := r.get("BenchmarkThroughput/jsonframe/"+p.name, eventsUnit)
		for _, rw := range rows {
			name := rw.bench + "/" + p.name
			ev := r.get(name, eventsUnit)
			if ev.n == 0 {
				continue
			}
			vsGRPC, vsJSON, ofCeiling, ofChecked, verdict := "", "", "", "", ""
			if rw.ceiling != "" {
				ceiling := r.get(rw.ceiling+"/"+p.name, eventsUnit)
				vsGRPC, vsJSON = ratio(ev, grpc, "×"), ratio(ev, json, "×")
				ofCeiling = percent(ev, ceiling)
				minShare := 0.0
				if rw.checked != "" {
					ofChecked = percent(ev, r.get(rw.checked+"/"+p.name, eventsUnit))
					minShare = ringShareTarget
				}
				if rw.judged {
					verdict = judge(p.target, minShare, ev, grpc, ceiling)
				}
			}
			fmt.Fprintf(b, "| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n",
				p.label, rw.label, cell(ev),
				cpu(r.get(name, hostCPUUnit)), cpu(r.get(name, pluginCPUUnit)),
				vsGRPC, vsJSON, ofCeiling, ofChecked, verdict)
		}
	}
}

// latencyRows are BenchmarkLatency's sub-benchmarks in table order, with
// their labels; plugctl's rows name the floor they are compared with.
var latencyRows = []struct{ bench, label, floor string }{
	{"BenchmarkLatency/plugctl", "plugctl, launched: shared ring, host sleeps (default)", "BenchmarkLatency/ring-doorbell-floor"},
	{"BenchmarkLatency/plugctl-poll", "plugctl, launched: shared ring, host polls (Options.Poll)", "BenchmarkLatency/ring-poll-floor"},
	{"BenchmarkLatency/ring-doorbell-floor", "floor: raw frames, shared ring, doorbell byte", ""},
	{"BenchmarkLatency/ring-futex-floor", "floor: raw frames, shared ring, futex", ""},
	{"BenchmarkLatency/pipe-floor", "floor: raw frames, pipe", ""},
	{"BenchmarkLatency/ring-poll-floor", "floor: raw frames, shared ring, reader polls", ""},
}

// writeLatency writes the single-event latency table: p50 and p99 of
// plugctl and of its floors, the CPU plugctl's host and plugin use, and
// plugctl's verdict against the targets with its median p50 over its
// floor's.
func writeLatency(b *strings.Builder, r *results) {
	var rows []string
	runs := 0
	for _, rw := range latencyRows {
		p50, p99 := r.get(rw.bench, p50Unit), r.get(rw.bench, p99Unit)
		if p50.n == 0 || p99.n == 0 {
			continue
		}
		runs = max(runs, p50.n)
		verdict := ""
		if rw.floor != "" {
			verdict = "met"
			if p50.median >= latencyP50Target || p99.median >= latencyP99Target {
				verdict = "MISSED"
			}
			verdict += fmt.Sprintf(" (p50 < %d µs, p99 < %d µs)", latencyP50Target, latencyP99Target)
			if floor := r.get(rw.floor, p50Unit); floor.n > 0 {
				verdict += "; p50 " + ratio(p50, floor, "×") + " its floor's"
			}
		}
		rows = append(rows, fmt.Sprintf("| %s | %s | %s | %s | %s | %s |\n", rw.label, us(p50), us(p99),
			share(r.get(rw.bench, hostCoreUnit)), share(r.get(rw.bench, pluginCoreUnit)), verdict))
	}
	if len(rows) == 0 {
		return
	}
	fmt.Fprintf(b, "\nSingle-event latency, emit → host handler, one 64-byte event about every ms, in µs: median (min–max) of %d runs; CPU in %% of a core, medians.\n\n", runs)
	b.WriteString("| transport | p50 | p99 | host CPU | plugin CPU | target |\n|---|---|---|---|---|---|\n")
	for _, row := range rows {
		b.WriteString(row)
	}
}

// share formats a median percentage of a core.
func share(s stats) string {
	if s.n == 0 {
		return ""
	}
	return strconv.FormatFloat(s.median, 'f', 0, 64) + "%"
}

// writeIdle writes the idle plugin's line: its CPU and peak resident
// memory against their targets.
func writeIdle(b *strings.Builder, r *results) {
	cpu, rss := r.get("BenchmarkIdle/plugctl", idleCPUUnit), r.get("BenchmarkIdle/plugctl", idleRSSUnit)
	if cpu.n == 0 || rss.n == 0 {
		return
	}
	verdict := "met"
	if cpu.median >= idleCPUTarget || rss.median >= idleRSSTarget {
		verdict = "MISSED"
	}
	fmt.Fprintf(b, "\nIdle plugin, instance open, heartbeats only: %.2f%% (%.2f–%.2f) of a core, peak resident %.1f (%.1f–%.1f) MiB (median (min–max) of %d runs); target < %d%% and < %d MiB: %s.\n",
		cpu.median, cpu.min, cpu.max, rss.median, rss.min, rss.max, cpu.n, idleCPUTarget, idleRSSTarget, verdict)
}

// cell formats events/s stats as "12.3M (11.9M–12.8M)".
func cell(s stats) string {
	return fmt.Sprintf("%s (%s–%s)", si(s.median), si(s.min), si(s.max))
}

// cpu formats the median CPU time per event.
func cpu(s stats) string {
	if s.n == 0 {
		return "—"
	}
	return strconv.FormatFloat(s.median, 'f', 0, 64)
}

// us formats latency stats in microseconds.
func us(s stats) string {
	return fmt.Sprintf("%.0f (%.0f–%.0f)", s.median, s.min, s.max)
}

// ratio formats the ratio of two medians.
func ratio(a, b stats, suffix string) string {
	if a.n == 0 || b.n == 0 || b.median == 0 {
		return "—"
	}
	return strconv.FormatFloat(a.median/b.median, 'f', 1, 64) + suffix
}

// percent formats a's median as a share of b's, rounded down, so that a
// share just short of a target never reads as the target.
func percent(a, b stats) string {
	if a.n == 0 || b.n == 0 || b.median == 0 {
		return "—"
	}
	return strconv.FormatFloat(math.Floor(100*a.median/b.median), 'f', 0, 64) + "%"
}

// judge says whether plugctl's median met the target t and, if share is
// positive, that share of the ceiling's median. It notes a rate target
// above the median ceiling, which nothing over that pipe or socket can
// meet on this machine, and a baseline the input has no results for,
// whose target it cannot judge.
func judge(t target, share float64, pc, grpc, ceiling stats) string {
	var met, missed, unknown []string
	if share > 0 {
		m := fmt.Sprintf("≥%.0f%% of ceiling", 100*share)
		switch {
		case ceiling.n == 0:
			unknown = append(unknown, m)
		case pc.median < share*ceiling.median:
			missed = append(missed, m)
		default:
			met = append(met, m)
		}
	}
	if t != (target{}) {
		rate, vsGRPC := "≥"+si(t.eventsPerSec)+"/s", fmt.Sprintf("≥%g× grpc", t.overGRPC)
		switch {
		case pc.median < t.eventsPerSec && ceiling.n > 0 && ceiling.median < t.eventsPerSec:
			missed = append(missed, rate+" (above the ceiling)")
		case pc.median < t.eventsPerSec:
			missed = append(missed, rate)
		default:
			met = append(met, rate)
		}
		switch {
		case grpc.n == 0:
			unknown = append(unknown, vsGRPC)
		case pc.median < t.overGRPC*grpc.median:
			missed = append(missed, vsGRPC)
		default:
			met = append(met, vsGRPC)
		}
	}
	var parts []string
	switch {
	case len(missed) > 0:
		parts = append(parts, "MISSED "+strings.Join(missed, ", "))
	case len(met) > 0:
		parts = append(parts, "met ("+strings.Join(met, ", ")+")")
	}
	if len(unknown) > 0 {
		parts = append(parts, "not judged, baseline not measured: "+strings.Join(unknown, ", "))
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, "; ")
}

// si formats a rate with a k or M suffix.
func si(v float64) string {
	switch {
	case v >= 1e6:
		return strconv.FormatFloat(v/1e6, 'f', 1, 64) + "M"
	case v >= 1e3:
		return strconv.FormatFloat(v/1e3, 'f', 0, 64) + "k"
	}
	return strconv.FormatFloat(v, 'f', 0, 64)
}
