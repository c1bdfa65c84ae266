package main

import (
	"strings"
	"testing"
)

const sample = `goos: linux
goarch: amd64
pkg: github.com/plugctl/plugctl/bench
cpu: AMD EPYC
BenchmarkThroughput/plugctl/64B-2     	 1000000	        25.0 ns/op	 2560.00 MB/s	  40000000 events/s	 20.00 host-cpu-ns/event	 21.00 plugin-cpu-ns/event
BenchmarkThroughput/plugctl/64B-2     	 1000000	        30.0 ns/op	 2133.33 MB/s	  30000000 events/s	 30.00 host-cpu-ns/event	 31.00 plugin-cpu-ns/event
BenchmarkThroughput/plugctl/64B-2     	 1000000	        40.0 ns/op	 1600.00 MB/s	  25000000 events/s	 40.00 host-cpu-ns/event	 41.00 plugin-cpu-ns/event
BenchmarkThroughput/grpc/64B-2        	 1000000	       100.0 ns/op	  640.00 MB/s	  10000000 events/s	 300.0 host-cpu-ns/event	 100.0 plugin-cpu-ns/event
BenchmarkThroughput/jsonframe/64B-2   	  100000	      1000 ns/op	   64.00 MB/s	   1000000 events/s
BenchmarkThroughput/plugctl/1KiB-2    	 1000000	       500 ns/op	 2048.00 MB/s	   2000000 events/s
BenchmarkThroughput/grpc/1KiB-2       	 1000000	       500 ns/op	 2048.00 MB/s	   2000000 events/s
BenchmarkCeiling/ring/64B-2           	 1000000	        20.0 ns/op	 3200.00 MB/s	  50000000 events/s
BenchmarkCeiling/ring-checked/64B-2   	 1000000	        25.0 ns/op	 2560.00 MB/s	  40000000 events/s
BenchmarkThroughput/plugctl/256B-2    	 1000000	       100 ns/op	 2560.00 MB/s	  10000000 events/s
BenchmarkCeiling/ring/256B-2          	 1000000	        50 ns/op	 5120.00 MB/s	  20000000 events/s
BenchmarkThroughput/plugctl/16KiB-2   	  100000	      2000 ns/op	 8192.00 MB/s	    500000 events/s
BenchmarkCeiling/ring/1KiB-2          	 1000000	       333 ns/op	 3072.00 MB/s	   3000000 events/s
BenchmarkLatency/plugctl-2            	     900	   1100000 ns/op	        10.00 host-cpu-%	        80.00 p50-us	       400.0 p99-us	        12.00 plugin-cpu-%
BenchmarkLatency/plugctl-2            	     900	   1100000 ns/op	        12.00 host-cpu-%	        90.00 p50-us	      1200 p99-us	        14.00 plugin-cpu-%
BenchmarkLatency/plugctl-poll-2       	     900	   1100000 ns/op	        95.00 host-cpu-%	         4.00 p50-us	        40.0 p99-us	        10.00 plugin-cpu-%
BenchmarkLatency/ring-poll-floor-2    	     900	   1100000 ns/op	         2.00 p50-us	        30.0 p99-us
BenchmarkThroughput/plugctl-callback/64B-2	 1000000	        50.0 ns/op	 1280.00 MB/s	  20000000 events/s
BenchmarkThroughput/plugctl-callback/1KiB-2	 1000000	       558 ns/op	 1833.98 MB/s	   1791000 events/s
BenchmarkLatency/ring-doorbell-floor-2	     900	   1100000 ns/op	        30.00 p50-us	       100 p99-us
BenchmarkLatency/ring-doorbell-floor-2	     900	   1100000 ns/op	        20.00 p50-us	       300 p99-us
BenchmarkIdle/plugctl-2               	    3000	   1000000 ns/op	         0.05000 plugin-cpu-%	         3.100 plugin-peak-rss-MiB
PASS
ok  	github.com/plugctl/plugctl/bench	30.0s
`

func TestTable(t *testing.T) {
	out := table(t, sample, "go test -bench .")
	for _, want := range []string{
		"median (min–max) of 3 runs, CPU as medians; cpu: AMD EPYC.",
		"| 64 B | plugctl, launched: shared ring | 30.0M (25.0M–40.0M) | 30 | 31 | 3.0× | 30.0× | 60% | 75% | met (≥60% of ceiling, ≥30.0M/s, ≥2× grpc) |",
		"| 64 B | JSON per frame, pipe | 1.0M (1.0M–1.0M) | — | — |  |  |  |  |  |",
		"| 64 B | go-plugin gRPC, 128 per message | 10.0M (10.0M–10.0M) | 300 | 100 |  |  |  |  |  |",
		"| 64 B | ceiling: raw frames, shared ring | 50.0M (50.0M–50.0M) |",
		"| 64 B | ceiling: raw frames, shared ring, host checks every event | 40.0M (40.0M–40.0M) |",
		"| 256 B | plugctl, launched: shared ring | 10.0M (10.0M–10.0M) | — | — | — | — | 50% | — | MISSED ≥60% of ceiling |",
		"| 16 KiB | plugctl, launched: shared ring | 500k (500k–500k) | — | — | — | — | — | — | not judged, baseline not measured: ≥60% of ceiling |",
		"| 1 KiB | plugctl, launched: shared ring | 2.0M (2.0M–2.0M) | — | — | 1.0× | — | 66% | — | MISSED ≥4.0M/s (above the ceiling), ≥2× grpc |",
		// 59.7% of the ceiling: rounded down, so it cannot read as the 60% it misses.
		"| 1 KiB | plugctl, launched, callback source: shared ring | 1.8M (1.8M–1.8M) | — | — | 0.9× | — | 59% | — | MISSED ≥60% of ceiling, ≥4.0M/s (above the ceiling), ≥2× grpc |",
		"| 64 B | plugctl, launched, callback source: shared ring | 20.0M (20.0M–20.0M) | — | — | 2.0× | 20.0× | 40% | 50% | MISSED ≥60% of ceiling, ≥30.0M/s |",
		"one 64-byte event about every ms, in µs: median (min–max) of 2 runs; CPU in % of a core, medians.",
		"| plugctl, launched: shared ring, host sleeps (default) | 85 (80–90) | 800 (400–1200) | 11% | 13% | MISSED (p50 < 10 µs, p99 < 50 µs); p50 3.4× its floor's |",
		"| plugctl, launched: shared ring, host polls (Options.Poll) | 4 (4–4) | 40 (40–40) | 95% | 10% | met (p50 < 10 µs, p99 < 50 µs); p50 2.0× its floor's |",
		"| floor: raw frames, shared ring, doorbell byte | 25 (20–30) | 200 (100–300) |  |  |  |",
		"| floor: raw frames, shared ring, reader polls | 2 (2–2) | 30 (30–30) |  |  |  |",
		"0.05% (0.05–0.05) of a core, peak resident 3.1 (3.1–3.1) MiB (median (min–max) of 1 runs); target < 1% and < 15 MiB: met.",
		"Produced by: `go test -bench .`",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q; got:\n%s", want, out)
		}
	}
	for _, absent := range []string{"unix socket", "no ring: pipe", "raw frames, pipe", "futex"} {
		if strings.Contains(out, absent) {
			t.Errorf("table has a row for %q, which the input has no results for:\n%s", absent, out)
		}
	}
}

func TestParseRejects(t *testing.T) {
	for name, in := range map[string]string{
		"no results": "goos: linux\nFAIL\n",
		"odd fields": "BenchmarkX-2 10 5 ns/op 7\n",
		"bad number": "BenchmarkX-2 10 five ns/op\n",
	} {
		if _, err := parse(strings.NewReader(in)); err == nil {
			t.Errorf("%s: parse accepted %q", name, in)
		}
	}
}

const sinkSample = `cpu: Intel(R) Xeon(R) Processor
BenchmarkSink/plugctl/64B-2         	 1000000	   160 ns/op	 400 MB/s	   6000000 events/s	  100.0 host-cpu-ns/event	  70.00 plugin-cpu-ns/event
BenchmarkSink/plugctl/64B-2         	 1000000	   200 ns/op	 320 MB/s	   5000000 events/s	  120.0 host-cpu-ns/event	  80.00 plugin-cpu-ns/event
BenchmarkSink/plugctl-pipe/64B-2    	 1000000	   300 ns/op	 200 MB/s	   3000000 events/s
BenchmarkSink/grpc/64B-2            	  500000	  1500 ns/op	  40 MB/s	   1000000 events/s	  600.0 host-cpu-ns/event	  900.0 plugin-cpu-ns/event
BenchmarkSink/grpc/64B-2            	  500000	  1250 ns/op	  50 MB/s	    500000 events/s	  600.0 host-cpu-ns/event	  900.0 plugin-cpu-ns/event
BenchmarkSink/plugctl/1KiB-2        	 1000000	   600 ns/op	1700 MB/s	   1000000 events/s
BenchmarkSink/grpc/1KiB-2           	  100000	  6000 ns/op	 170 MB/s	    250000 events/s
`

func TestSinkTable(t *testing.T) {
	out := table(t, sinkSample, "")
	for _, want := range []string{
		"each acknowledged (RESULT) before the next is sent; events/s as median (min–max) of 2 runs",
		// Run by run: 6M/1M and 5M/0.5M.
		"| 64 B | plugctl, launched: both rings (version 4) | 5.5M (5.0M–6.0M) | 110 | 75 | 8.0× (6.0–10.0) | met (≥5× grpc) |",
		"| 64 B | plugctl, launched, no ring: pipes | 3.0M (3.0M–3.0M) | — | — | 3.0× (3.0–3.0) |  |",
		"| 64 B | go-plugin gRPC, bidirectional stream, one ack per batch | 750k (500k–1.0M) | 600 | 900 |  |  |",
		"| 1 KiB | plugctl, launched: both rings (version 4) | 1.0M (1.0M–1.0M) | — | — | 4.0× (4.0–4.0) | MISSED ≥5× grpc |",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q; got:\n%s", want, out)
		}
	}
	for _, absent := range []string{"256 B", "16 KiB", "sinks before version 4"} {
		if strings.Contains(out, absent) {
			t.Errorf("table has a row for %q, which the input has no results for:\n%s", absent, out)
		}
	}
}

func TestLatencyOnly(t *testing.T) {
	in := "BenchmarkLatency/plugctl-2 \t 900\t 1100000 ns/op\t 8.000 p50-us\t 40.00 p99-us\nPASS\n"
	out := table(t, in, "")
	if strings.Contains(out, "| payload |") {
		t.Errorf("a table of sources without any source results:\n%s", out)
	}
	if want := "| plugctl, launched: shared ring, host sleeps (default) | 8 (8–8) | 40 (40–40) |  |  | met (p50 < 10 µs, p99 < 50 µs) |"; !strings.Contains(out, want) {
		t.Errorf("table lacks %q; got:\n%s", want, out)
	}
}

// table is benchtable's output for the go test output in, produced by cmd.
func table(t *testing.T, in, cmd string) string {
	t.Helper()
	r, err := parse(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	if err := write(&b, r, cmd); err != nil {
		t.Fatal(err)
	}
	return b.String()
}
