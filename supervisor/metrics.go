package supervisor

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// metrics are the host's Prometheus metrics; docs/HOST.md lists them.
type metrics struct {
	reg      *prometheus.Registry
	events   *prometheus.CounterVec
	bytes    *prometheus.CounterVec
	batches  *prometheus.CounterVec
	acks     *prometheus.CounterVec
	position *prometheus.GaugeVec
	lag      *prometheus.GaugeVec
	restarts *prometheus.CounterVec
	up       *prometheus.GaugeVec
	parked   *prometheus.GaugeVec
	rejects  *prometheus.CounterVec
	fsync    prometheus.Histogram
}

func newMetrics() *metrics {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	slot := []string{"plugin", "plugin_id", "slot"}
	plugin := []string{"plugin", "plugin_id"}
	m := &metrics{
		reg: reg,
		events: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "plugctl_host_events_total",
			Help: "Events written to the output and acknowledged."}, slot),
		bytes: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "plugctl_host_output_bytes_total",
			Help: "Bytes of JSON lines written to the output."}, slot),
		batches: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "plugctl_host_batches_total",
			Help: "Batches received from plugins."}, slot),
		acks: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "plugctl_host_acks_total",
			Help: "Batches acknowledged to plugins, each after its lines were written and synced."}, slot),
		position: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "plugctl_host_acked_position",
			Help: "The last position acknowledged: a restarted instance resumes after it."}, slot),
		lag: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "plugctl_host_lag_seconds",
			Help: "Time from the newest event's timestamp to its write, at the last batch."}, slot),
		restarts: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "plugctl_host_restarts_total",
			Help: "Restarts of a plugin after it exited or failed."}, plugin),
		up: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "plugctl_host_plugin_up",
			Help: "1 while a session with the plugin runs."}, plugin),
		parked: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "plugctl_host_plugin_parked",
			Help: "1 while the plugin is parked in a crash loop, until its registry entry changes."}, plugin),
		rejects: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "plugctl_host_rejects_total",
			Help: "Plugins refused at the handshake, by reason."}, []string{"reason"}),
		fsync: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "plugctl_host_output_fsync_seconds",
			Help: "Duration of the output file's fsyncs.", Buckets: prometheus.ExponentialBuckets(0.0001, 4, 8)}),
	}
	reg.MustRegister(m.events, m.bytes, m.batches, m.acks, m.position, m.lag, m.restarts, m.up, m.parked, m.rejects, m.fsync)
	return m
}

// slotMetrics are one slot's series, looked up once rather than per batch.
type slotMetrics struct {
	events, bytes, batches, acks prometheus.Counter
	position, lag                prometheus.Gauge
}

func (m *metrics) slot(plugin string, k Slot) slotMetrics {
	l := []string{plugin, k.PluginID, strconv.Itoa(k.Slot)}
	return slotMetrics{events: m.events.WithLabelValues(l...), bytes: m.bytes.WithLabelValues(l...),
		batches: m.batches.WithLabelValues(l...), acks: m.acks.WithLabelValues(l...),
		position: m.position.WithLabelValues(l...), lag: m.lag.WithLabelValues(l...)}
}

// CheckMetricsAddr refuses an address that is not on the loopback
// interface unless public is set: the metrics name every plugin the host
// runs, and the endpoint has no authentication.
func CheckMetricsAddr(addr string, public bool) error {
	h, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("--metrics %q: want HOST:PORT, as 127.0.0.1:9464", addr)
	}
	if public {
		return nil
	}
	if ip := net.ParseIP(h); h == "localhost" || ip != nil && ip.IsLoopback() {
		return nil
	}
	return fmt.Errorf("--metrics %q is not a loopback address: serve on 127.0.0.1 or [::1], or add --metrics-public to expose the metrics beyond this machine", addr)
}

// serve serves the metrics on addr at /metrics until stop is called.
func (m *metrics) serve(addr string, log *slog.Logger) (stop func(), err error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("metrics: %w", err)
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{}))
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second, WriteTimeout: 30 * time.Second}
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			log.Error("metrics server stopped", "err", err)
		}
	}()
	log.Info("serving metrics", "addr", ln.Addr().String(), "path", "/metrics")
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		if srv.Shutdown(ctx) != nil {
			srv.Close() // a scrape still running after 2s is cut off
		}
		<-done
	}, nil
}
