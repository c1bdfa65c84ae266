package benchrun

import (
	"fmt"
	"io"
	"strings"
	"time"
)

// WriteTable writes res for people: one row per figure, its minimum,
// median and maximum over the rounds.
func (res *Result) WriteTable(w io.Writer) error {
	via := func(transport string) string {
		if transport == "ring" {
			return "a shared ring"
		}
		return "a pipe or socket"
	}
	fmt.Fprintf(w, "%s %s (%s, protocol %d, plugin frames through %s, host frames through %s): %d %s, %d %s of %v after %v of warm-up each\n\n",
		res.Plugin, res.Version, res.Role, res.Protocol, via(res.Transport), via(res.InputTransport), res.Instances, plural(res.Instances, "instance", "instances"),
		res.Rounds, plural(res.Rounds, "round", "rounds"), seconds(res.RoundSeconds), seconds(res.WarmupSeconds))
	if res.Transport == "ring" {
		poll := time.Duration(res.PollSeconds * float64(time.Second)).Round(time.Microsecond)
		fmt.Fprintf(w, "Between frames the host polled the shared ring for up to %v (--poll).\n\n", poll)
	}
	tw := &strings.Builder{}
	fmt.Fprintf(tw, "%-22s %11s %11s %11s\n", "", "min", "median", "max")
	row := func(label, key string, s *Stat, f func(float64) string) {
		if s == nil {
			if why, ok := res.Unavailable[key]; ok {
				fmt.Fprintf(tw, "%-22s %11s  (%s)\n", label, "n/a", why)
			}
			return
		}
		fmt.Fprintf(tw, "%-22s %11s %11s %11s\n", label, f(s.Min), f(s.Median), f(s.Max))
	}
	us := func(v float64) string { return fmt.Sprintf("%.1f µs", v) }
	row("events/s", "", res.EventsPerSec, humanRate)
	row("MB/s (payload)", "", res.MBPerSec, func(v float64) string {
		if v < 1 {
			return fmt.Sprintf("%.4f", v)
		}
		return fmt.Sprintf("%.1f", v)
	})
	if res.Role == "sink" {
		row("WRITE → RESULT p50", "", res.WriteLatencyP50Us, us)
		row("WRITE → RESULT p99", "", res.WriteLatencyP99Us, us)
		row("retries per round", "", res.Retries, func(v float64) string { return fmt.Sprintf("%.0f", v) })
	} else {
		row("time to first event", "", res.TimeToFirstEventMs, func(v float64) string { return fmt.Sprintf("%.1f ms", v) })
		row("emit → host p50", "", res.LatencyP50Us, us)
		row("emit → host p99", "", res.LatencyP99Us, us)
		row("emit → host p99.9", "", res.LatencyP999Us, us)
	}
	row("batches/s", "", res.BatchesPerSec, humanRate)
	row("mean batch size", "", res.MeanBatchSize, func(v float64) string { return fmt.Sprintf("%.1f", v) })
	ns := func(v float64) string { return fmt.Sprintf("%.0f ns", v) }
	row("host CPU per event", "host_cpu_ns_per_event", res.HostCPUNsPerEvent, ns)
	row("plugin CPU per event", "plugin_cpu_ns_per_event", res.PluginCPUNsPerEvent, ns)
	row("plugin peak RSS", "plugin_peak_rss_bytes", res.PluginPeakRSSBytes, func(v float64) string { return fmt.Sprintf("%.1f MiB", v/(1<<20)) })
	if _, err := io.WriteString(w, tw.String()); err != nil {
		return err
	}
	if res.Role == "sink" {
		_, err := fmt.Fprintf(w, "\nEvents of %d bytes, one batch in flight per instance; WRITE → RESULT is per batch.\n", res.PayloadBytes)
		return err
	}
	_, err := fmt.Fprintln(w, "\nEmit → host: the host's receive time minus the time the plugin stamped on the event (one machine's clock).")
	return err
}

// humanRate writes a count per second as 950, 12.3k, 4.56M.
func humanRate(v float64) string {
	switch {
	case v >= 1e9:
		return fmt.Sprintf("%.2fG", v/1e9)
	case v >= 1e6:
		return fmt.Sprintf("%.2fM", v/1e6)
	case v >= 1e4:
		return fmt.Sprintf("%.1fk", v/1e3)
	default:
		return strings.TrimSuffix(fmt.Sprintf("%.1f", v), ".0")
	}
}

func seconds(s float64) time.Duration {
	return time.Duration(s * float64(time.Second)).Round(time.Millisecond)
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
