// Command benchtable reads the output of the bench module's benchmarks
// (go test -bench) on standard input and prints a Markdown table: for each
// payload size the events per second of plugctl, of the two baselines and
// of the pipe ceiling, as median (min–max) across the -count runs, the
// ratios of the medians, whether plugctl met its targets, and the
// single-event latency line.
//
// Usage:
//
//	go test -run '^$' -bench . -count 5 | benchtable -cmd "the command"
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

// stats summarises one metric across runs.
type stats struct {
	n                int
	min, median, max float64
}

// get returns the stats of unit for the named benchmark; n is 0 when the
// input has none.
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

// A target is what plugctl must reach at one payload size.
type target struct {
	eventsPerSec float64
	overGRPC     float64
}

// payloads are the sub-benchmark payload names in table order, with their
// targets (zero: none).
var payloads = []struct {
	name   string
	label  string
	target target
}{
	{"64B", "64 B", target{30e6, 2}},
	{"256B", "256 B", target{}},
	{"1KiB", "1 KiB", target{4e6, 2}},
}

// Metric names the benchmarks report.
const (
	eventsUnit = "events/s"
	p50Unit    = "p50-us"
	p99Unit    = "p99-us"
	latencyMax = 1000 // µs: the single-event latency target
)

// write prints the table.
func write(w io.Writer, r *results, cmd string) error {
	b := &strings.Builder{}
	runs := 0
	for _, units := range r.values {
		runs = max(runs, len(units[eventsUnit]))
	}
	fmt.Fprintf(b, "Events per second, host receiving from a plugin process, median (min–max) of %d runs", runs)
	if r.cpu != "" {
		fmt.Fprintf(b, "; cpu: %s", r.cpu)
	}
	b.WriteString(".\n\n")
	b.WriteString("| payload | plugctl | jsonframe | grpc (go-plugin, 128/msg) | pipe ceiling | plugctl/grpc | plugctl/json | plugctl/ceiling | plugctl target |\n")
	b.WriteString("|---|---|---|---|---|---|---|---|---|\n")
	for _, p := range payloads {
		pc := r.get("BenchmarkThroughput/plugctl/"+p.name, eventsUnit)
		js := r.get("BenchmarkThroughput/jsonframe/"+p.name, eventsUnit)
		gr := r.get("BenchmarkThroughput/grpc/"+p.name, eventsUnit)
		ce := r.get("BenchmarkCeiling/"+p.name, eventsUnit)
		fmt.Fprintf(b, "| %s | %s | %s | %s | %s | %s | %s | %s | %s |\n",
			p.label, cell(pc), cell(js), cell(gr), cell(ce),
			ratio(pc, gr), ratio(pc, js), ratio(pc, ce), verdict(p.target, pc, gr, ce))
	}
	p50 := r.get("BenchmarkLatency/plugctl", p50Unit)
	p99 := r.get("BenchmarkLatency/plugctl", p99Unit)
	if p50.n > 0 && p99.n > 0 {
		met := "met"
		if p99.median >= latencyMax {
			met = "MISSED"
		}
		fmt.Fprintf(b, "\nSingle-event latency, plugctl, emit → host handler: median %s µs, p99 %s µs (median (min–max) of %d runs); target p99 < 1 ms: %s.\n",
			usCell(p50), usCell(p99), p99.n, met)
	}
	if cmd != "" {
		fmt.Fprintf(b, "\nProduced by: `%s`\n", cmd)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// cell formats events/s stats as "12.3M (11.9M–12.8M)".
func cell(s stats) string {
	if s.n == 0 {
		return "—"
	}
	return fmt.Sprintf("%s (%s–%s)", si(s.median), si(s.min), si(s.max))
}

// usCell formats latency stats in microseconds.
func usCell(s stats) string {
	return fmt.Sprintf("%.0f (%.0f–%.0f)", s.median, s.min, s.max)
}

// ratio formats the ratio of two medians.
func ratio(a, b stats) string {
	if a.n == 0 || b.n == 0 || b.median == 0 {
		return "—"
	}
	return fmt.Sprintf("%.2f×", a.median/b.median)
}

// verdict says whether plugctl's median met the target t, and notes a rate
// target above the median pipe ceiling, which no transport over the pipe
// can meet on this machine.
func verdict(t target, pc, grpc, ceiling stats) string {
	switch {
	case t == target{}:
		return "none"
	case pc.n == 0 || grpc.n == 0:
		return "not measured"
	}
	var missed []string
	if pc.median < t.eventsPerSec {
		m := "≥" + si(t.eventsPerSec) + "/s"
		if ceiling.n > 0 && ceiling.median < t.eventsPerSec {
			m += " (above the pipe ceiling)"
		}
		missed = append(missed, m)
	}
	if pc.median < t.overGRPC*grpc.median {
		missed = append(missed, fmt.Sprintf("≥%g× grpc", t.overGRPC))
	}
	if len(missed) > 0 {
		return "MISSED " + strings.Join(missed, ", ")
	}
	return fmt.Sprintf("met (≥%s/s, ≥%g× grpc)", si(t.eventsPerSec), t.overGRPC)
}

// si formats a rate with a k or M suffix.
func si(v float64) string {
	switch {
	case v >= 1e6:
		return strconv.FormatFloat(v/1e6, 'f', 2, 64) + "M"
	case v >= 1e3:
		return strconv.FormatFloat(v/1e3, 'f', 0, 64) + "k"
	}
	return strconv.FormatFloat(v, 'f', 0, 64)
}
