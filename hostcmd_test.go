//go:build unix

package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/plugctl/plugctl/enroll"
	"github.com/plugctl/plugctl/eventline"
	"github.com/plugctl/plugctl/sdk"
	"github.com/plugctl/plugctl/wire"
)

// hostEnv is a registry, an output, a state directory and a fixture
// directory, in a short temporary directory (a socket may go in it).
type hostEnv struct {
	t                    *testing.T
	dir, out, state, fix string
	reg                  *enroll.Registry
	stdout               bool // hosts write to standard output (--out -), which goes to out
}

func newHostEnv(t *testing.T) *hostEnv {
	dir, err := os.MkdirTemp("", "plugctl-host")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	h := &hostEnv{t: t, dir: dir, out: filepath.Join(dir, "events.jsonl"), state: filepath.Join(dir, "state"),
		fix: filepath.Join(dir, "fixture"), reg: enroll.Open(filepath.Join(dir, "reg"))}
	if err := os.Mkdir(h.fix, 0o700); err != nil {
		t.Fatal(err)
	}
	return h
}

// binary copies the fixture command name from $PATH into the environment,
// with extra bytes after its end (which change its hash, not what it
// does), and returns its path.
func (h *hostEnv) binary(name, extra string) string {
	h.t.Helper()
	src, err := exec.LookPath(name)
	if err != nil {
		h.t.Fatal(err)
	}
	data, err := os.ReadFile(src)
	if err != nil {
		h.t.Fatal(err)
	}
	bin := filepath.Join(h.dir, "bin", name)
	os.MkdirAll(filepath.Dir(bin), 0o700)
	if err := os.WriteFile(bin+".tmp", append(data, extra...), 0o755); err != nil {
		h.t.Fatal(err)
	}
	if err := os.Rename(bin+".tmp", bin); err != nil { // never write over a binary that may run
		h.t.Fatal(err)
	}
	return bin
}

// enroll writes an entry for the binary at path, pinned by its hash.
func (h *hostEnv) enroll(path string, edit func(*enroll.Entry)) *enroll.Entry {
	h.t.Helper()
	d, err := enroll.HashFile(path)
	if err != nil {
		h.t.Fatal(err)
	}
	e := &enroll.Entry{ID: enroll.NewID(), Name: filepath.Base(path), Version: "0.0.1", Role: "source", Path: path,
		SHA256: d.Hex(), EnrolledAt: time.Now().UTC().Truncate(time.Second), MaxSessions: 1,
		AutoLaunch: true, Env: map[string]string{envFixtureDir: h.fix}}
	if edit != nil {
		edit(e)
	}
	h.edit(e.ID, func(*enroll.Entry) {}, e)
	return e
}

// edit changes the entry with id under the registry's lock, as plugctl
// manifest does; put, if set, is written as it is.
func (h *hostEnv) edit(id string, change func(*enroll.Entry), put *enroll.Entry) {
	h.t.Helper()
	err := h.reg.Edit(func(tx *enroll.Tx) error {
		e := put
		if e == nil {
			if e = tx.ByID(id); e == nil {
				return fmt.Errorf("no entry %s", id)
			}
		}
		change(e)
		tx.Put(e)
		return nil
	})
	if err != nil {
		h.t.Fatal(err)
	}
}

func (h *hostEnv) config(text string) string {
	path := filepath.Join(h.dir, "host.toml")
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		h.t.Fatal(err)
	}
	return path
}

// hostProc is plugctl host running as a process; its log goes to a file,
// which survives a SIGKILL.
type hostProc struct {
	t    *testing.T
	cmd  *exec.Cmd
	log  string
	done chan struct{}
	err  error
}

func (h *hostEnv) start(args ...string) *hostProc {
	h.t.Helper()
	log := filepath.Join(h.dir, fmt.Sprintf("host-%d.log", time.Now().UnixNano()))
	f, err := os.Create(log)
	if err != nil {
		h.t.Fatal(err)
	}
	defer f.Close()
	out := h.out
	if h.stdout {
		out = "-"
	}
	args = append([]string{"host", "--registry", h.reg.Dir, "--out", out, "--state", h.state}, args...)
	cmd := exec.Command("plugctl", args...)
	cmd.Stderr = f
	if h.stdout {
		so, err := os.OpenFile(h.out, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
		if err != nil {
			h.t.Fatal(err)
		}
		defer so.Close()
		cmd.Stdout = so
	}
	if err := cmd.Start(); err != nil {
		h.t.Fatal(err)
	}
	p := &hostProc{t: h.t, cmd: cmd, log: log, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	h.t.Cleanup(func() {
		cmd.Process.Kill()
		<-p.done
	})
	return p
}

func (p *hostProc) logText() string {
	b, _ := os.ReadFile(p.log)
	return string(b)
}

// waitLog waits until the log matches re, and returns the match.
func (p *hostProc) waitLog(re string) []string {
	p.t.Helper()
	rx := regexp.MustCompile(re)
	var m []string
	waitFor(p.t, 20*time.Second, "host log to match "+re, func() bool {
		m = rx.FindStringSubmatch(p.logText())
		return m != nil
	}, p.logText)
	return m
}

func (p *hostProc) kill() {
	p.t.Helper()
	p.cmd.Process.Signal(syscall.SIGKILL)
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
		p.t.Fatal("the host did not die of SIGKILL within 10s")
	}
}

// stop sends SIGTERM and wants exit status 0 within 20s.
func (p *hostProc) stop() {
	p.t.Helper()
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(20 * time.Second):
		p.t.Fatalf("the host did not exit within 20s of SIGTERM; log:\n%s", p.logText())
	}
	if p.err != nil {
		p.t.Fatalf("the host exited with %v after SIGTERM; log:\n%s", p.err, p.logText())
	}
}

// waitFor polls cond every 20ms until it holds, failing after d with
// what's output.
func waitFor(t *testing.T, d time.Duration, what string, cond func() bool, show func() string) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			extra := ""
			if show != nil {
				extra = "\n" + show()
			}
			t.Fatalf("waited %v for %s%s", d, what, extra)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// lines reads the output's complete lines, checking that each is an event
// line with plugin and plugin_id set.
func lines(t *testing.T, path string) []eventline.Line {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		t.Fatal(err)
	}
	var out []eventline.Line
	for len(data) > 0 {
		i := bytes.IndexByte(data, '\n')
		if i < 0 {
			break // a line being written
		}
		l, err := eventline.Parse(data[:i])
		if err != nil || l.Plugin == "" || l.PluginID == "" {
			t.Fatalf("output line %d %q: %v (plugin and plugin_id must be set)", len(out)+1, data[:i], err)
		}
		out = append(out, l)
		data = data[i+1:]
	}
	return out
}

// exactlyOnce checks that each instance slot of plugin id holds every
// position from 1 to its last exactly once, in order, with the payload
// the fixture gives it, and returns the last position of each slot.
func exactlyOnce(t *testing.T, all []eventline.Line, id string, slots int) []uint64 {
	t.Helper()
	last := make([]uint64, slots+1)
	for n, l := range all {
		if l.PluginID != id {
			continue
		}
		if l.Instance < 1 || int(l.Instance) > slots {
			t.Fatalf("line %d: instance %d, want a slot from 1 to %d", n+1, l.Instance, slots)
		}
		if want := last[l.Instance] + 1; l.Position != want {
			t.Fatalf("line %d: slot %d position %d, want %d: an event duplicated, lost or out of order", n+1, l.Instance, l.Position, want)
		}
		if want := fmt.Sprintf(`{"n":%d}`, l.Position); string(l.Payload) != want {
			t.Fatalf("line %d: payload %s, want %s", n+1, l.Payload, want)
		}
		last[l.Instance] = l.Position
	}
	return last[1:]
}

// pluginPid returns the running fixture's pid once it differs from not.
func (h *hostEnv) pluginPid(not int) int {
	h.t.Helper()
	var pid int
	waitFor(h.t, 20*time.Second, fmt.Sprintf("a fixture process other than %d", not), func() bool {
		b, err := os.ReadFile(filepath.Join(h.fix, "pid"))
		pid, _ = strconv.Atoi(string(b))
		return err == nil && pid != not && pid > 0 && syscall.Kill(pid, 0) == nil
	}, nil)
	return pid
}

func (h *hostEnv) waitLines(n int) {
	h.t.Helper()
	waitFor(h.t, 20*time.Second, fmt.Sprintf("%d lines in the output", n), func() bool { return countLines(h.out) >= n }, nil)
}

func countLines(path string) int {
	b, _ := os.ReadFile(path)
	return bytes.Count(b, []byte{'\n'})
}

// TestHostFaults: a source streams two instances into the output while
// its process is killed with SIGKILL again and again, and the host itself
// twice. In the end every position of each instance is in the output
// exactly once, in order, with no gap, and each position the plugin saw
// acknowledged is among them.
func TestHostFaults(t *testing.T) {
	t.Parallel()
	start := time.Now()
	h := newHostEnv(t)
	e := h.enroll(h.binary("faultsrc", ""), nil)
	cfg := h.config("[plugins.faultsrc]\ninstances = 2\nsettings = { per = 10, every = 5 }\n")
	args := []string{"--config", cfg, "--backoff-min", "20ms", "--backoff-max", "200ms", "--crash-loop", "1000"}
	pluginKills, hostKills := 0, 0
	pid := 0
	// midStream waits for a running plugin that has streamed a while, and
	// then a random moment, so kills fall anywhere in a batch's handling.
	midStream := func() {
		pid = h.pluginPid(pid)
		h.waitLines(countLines(h.out) + 100)
		time.Sleep(time.Duration(100+rand.IntN(600)) * time.Millisecond)
	}
	var logs []string
	for round := range 3 {
		p := h.start(args...)
		logs = append(logs, p.log)
		for range 3 {
			midStream()
			if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
			pluginKills++
		}
		midStream()
		if round < 2 {
			p.kill()
			hostKills++
			continue
		}
		p.stop()
		p.waitLog(`msg="host stopped"`)
		if n := strings.Count(p.logText(), `msg="plugin stopped; restarting"`); n != 3 {
			t.Errorf("the last host logged %d restarts, want 3", n)
		}
	}
	all := lines(t, h.out)
	last := exactlyOnce(t, all, e.ID, 2)
	for i, l := range last {
		b, err := os.ReadFile(filepath.Join(h.fix, fmt.Sprintf("acked.%d", i+1)))
		if err != nil {
			t.Fatal(err)
		}
		acked, _ := strconv.ParseUint(strings.TrimSpace(string(b)), 10, 64)
		if acked == 0 || acked > l {
			t.Errorf("slot %d: the plugin saw position %d acknowledged, the output ends at %d", i+1, acked, l)
		}
	}
	marks := stateMarks(t, h.state)
	for i, l := range last {
		if got := marks[fmt.Sprintf("%s.%d", e.ID, i+1)]; got != l {
			t.Errorf("state of slot %d: position %d, want the output's last, %d", i+1, got, l)
		}
	}
	// What the restarts of the host found: lines written after the last
	// checkpoint (which a resume from the state alone would duplicate),
	// and partial lines cut off.
	recovered, cut := 0, 0
	for _, log := range logs {
		b, _ := os.ReadFile(log)
		if m := regexp.MustCompile(`msg="output recovered" .* lines=(\d+)`).FindSubmatch(b); m != nil {
			n, _ := strconv.Atoi(string(m[1]))
			recovered += n
		}
		cut += bytes.Count(b, []byte("cut off a partial last line"))
	}
	t.Logf("%d events (slots end at %v), %d SIGKILLs of the plugin, %d of the host; the restarted hosts read %d lines past the offsets in the state and cut %d partial lines; %v",
		len(all), last, pluginKills, hostKills, recovered, cut, time.Since(start).Round(100*time.Millisecond))
}

// stateMarks reads the state directory: file name without .json →
// position.
func stateMarks(t *testing.T, dir string) map[string]uint64 {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	marks := map[string]uint64{}
	for _, f := range files {
		var m struct {
			Position uint64 `json:"position"`
		}
		b, _ := os.ReadFile(f)
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		marks[strings.TrimSuffix(filepath.Base(f), ".json")] = m.Position
	}
	return marks
}

// TestHostCrashLoop: a plugin that exits at once is restarted with
// backoff until it has failed --crash-loop times, then parked, reported in
// the log and the metrics, and not started again; a change of its entry
// retries it.
func TestHostCrashLoop(t *testing.T) {
	t.Parallel()
	h := newHostEnv(t)
	e := h.enroll(h.binary("crashsrc", ""), nil)
	p := h.start("--crash-loop", "3", "--crash-window", "1m", "--backoff-min", "20ms", "--backoff-max", "100ms", "--metrics", "127.0.0.1:0")
	addr := p.waitLog(`msg="serving metrics" addr=(\S+)`)[1]
	p.waitLog(`level=ERROR msg="crash loop: 3 failures within 1m0s; plugin parked, not restarted until its registry entry changes" plugin=crashsrc plugin_id=` + e.ID)
	p.waitLog(`msg="plugin stderr" plugin=crashsrc plugin_id=` + e.ID + ` line="crashsrc: failing at once"`)
	metrics := scrape(t, addr)
	for _, want := range []string{
		`plugctl_host_plugin_parked{plugin="crashsrc",plugin_id="` + e.ID + `"} 1`,
		`plugctl_host_restarts_total{plugin="crashsrc",plugin_id="` + e.ID + `"} 2`,
	} {
		if !strings.Contains(metrics, want+"\n") {
			t.Errorf("metrics lack %s", want)
		}
	}
	starts := func() int { b, _ := os.ReadFile(filepath.Join(h.fix, "starts")); return bytes.Count(b, []byte("\n")) }
	time.Sleep(time.Second) // 10 times the largest delay: a restart would have happened
	if n := starts(); n != 3 {
		t.Fatalf("started %d times, want 3: parked means not restarted", n)
	}
	h.edit(e.ID, func(e *enroll.Entry) { e.Args = []string{"--retry"}; e.UpdatedAt = time.Now().UTC() }, nil)
	waitFor(t, 10*time.Second, "a retry after the entry changed", func() bool { return starts() == 6 }, p.logText)
	waitFor(t, 10*time.Second, "the second park", func() bool {
		return strings.Count(p.logText(), `msg="crash loop:`) == 2
	}, p.logText)
	p.stop()
}

func scrape(t *testing.T, addr string) string {
	t.Helper()
	c := &http.Client{Timeout: 5 * time.Second}
	resp, err := c.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// metricValue returns the value of the series in a scrape, -1 if absent.
func metricValue(metrics, series string) float64 {
	m := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(series) + `(\S+)$`).FindStringSubmatch(metrics)
	if m == nil {
		return -1
	}
	v, err := strconv.ParseFloat(m[1], 64)
	if err != nil {
		return -1
	}
	return v
}

// TestHostUpdateThenRevoke: an entry enrolled while the host runs (in a
// registry created meanwhile) is started; an updated entry restarts its
// plugin with the new binary, its streams going on where they were; a
// revoked entry's plugin is stopped and not started again.
func TestHostUpdateThenRevoke(t *testing.T) {
	t.Parallel()
	h := newHostEnv(t)
	p := h.start()
	p.waitLog(`msg="host running"`)
	p.waitLog(`level=WARN msg="the registry does not exist: no plugin runs until one is enrolled there`) // nothing enrolled yet
	bin := h.binary("faultsrc", "")
	e := h.enroll(bin, nil)
	h.waitLines(50)
	first := h.pluginPid(0)

	h.binary("faultsrc", "rebuilt") // a rebuild at the same path: the running process is the old one
	d, err := enroll.HashFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	h.edit(e.ID, func(e *enroll.Entry) { e.SHA256, e.Version, e.UpdatedAt = d.Hex(), "0.0.2", time.Now().UTC() }, nil)
	p.waitLog(`msg="registry entry changed: restarting the plugin" plugin=faultsrc plugin_id=` + e.ID + ` version=0.0.2`)
	second := h.pluginPid(first)
	n := countLines(h.out)
	h.waitLines(n + 50)

	h.edit(e.ID, func(e *enroll.Entry) { e.Revoked, e.RevokedAt, e.Reason = true, time.Now().UTC(), "test revoke" }, nil)
	p.waitLog(`msg="stopping plugin, not to be restarted: its entry is revoked: test revoke" plugin=faultsrc plugin_id=` + e.ID)
	waitFor(t, 10*time.Second, "the revoked plugin to exit", func() bool { return syscall.Kill(second, 0) != nil }, p.logText)
	// Its session's end: what it sent before it exited is written by then.
	// The host logs it one of two ways, as the registry's end of the
	// session or the host's own stop of the plugin comes first.
	p.waitLog(`msg="plugin did not close cleanly" plugin=faultsrc plugin_id=` + e.ID + ` pid=` + strconv.Itoa(second) + ` ` +
		`|msg="session ended by the registry" plugin=faultsrc plugin_id=` + e.ID + ` err=".*: test revoke`)
	n = countLines(h.out)
	time.Sleep(1500 * time.Millisecond)
	if got := countLines(h.out); got != n {
		t.Errorf("the output grew from %d to %d lines after the revoke", n, got)
	}
	if b, _ := os.ReadFile(filepath.Join(h.fix, "pid")); string(b) != strconv.Itoa(second) {
		t.Errorf("a plugin process %s started after the revoke", b)
	}
	p.stop()
	last := exactlyOnce(t, lines(t, h.out), e.ID, 1)
	t.Logf("slot 1 ends at %d across the update", last[0])
}

// TestHostListen: on the socket, an enrolled plugin is accepted and
// streams into the output (and is drained at shutdown); plugins that are
// not enrolled are rejected, the reason logged and counted.
func TestHostListen(t *testing.T) {
	t.Parallel()
	h := newHostEnv(t)
	enrolledBin := h.binary("faultsrc", "")
	e := h.enroll(enrolledBin, func(e *enroll.Entry) { e.AutoLaunch = false })
	sock := filepath.Join(h.dir, "h.sock")
	p := h.start("--listen", sock, "--metrics", "127.0.0.1:0")
	addr := p.waitLog(`msg="serving metrics" addr=(\S+)`)[1]
	p.waitLog(`msg="host running"`)
	if strings.Contains(p.logText(), "the registry does not exist") {
		t.Error("the host says an existing registry does not exist")
	}

	// The same binary elsewhere; named as the fixture, since the test
	// binary's name chooses what it runs.
	stray := filepath.Join(h.dir, "stray", "faultsrc")
	os.Mkdir(filepath.Dir(stray), 0o700)
	if err := os.Link(enrolledBin, stray); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ id, reason string }{{"", "missing_id"}, {enroll.NewID(), "not_enrolled"}, {e.ID, "path_mismatch"}} {
		cmd := exec.Command(stray)
		cmd.Env = append(os.Environ(), wire.EnvSocket+"="+sock, wire.EnvPluginID+"="+tc.id, envFixtureDir+"="+h.fix)
		out, err := cmd.CombinedOutput()
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != sdk.ExitRejected {
			t.Errorf("a plugin with id %q on the socket: %v, want exit %d; output:\n%s", tc.id, err, sdk.ExitRejected, out)
		}
		p.waitLog(`level=WARN msg="plugin rejected" session=faultsrc reason=` + tc.reason + ` why=`)
	}
	metrics := scrape(t, addr)
	for _, reason := range []string{"missing_id", "not_enrolled", "path_mismatch"} {
		if want := `plugctl_host_rejects_total{reason="` + reason + `"} 1`; !strings.Contains(metrics, want+"\n") {
			t.Errorf("metrics lack %s", want)
		}
	}

	cmd := exec.Command(enrolledBin)
	cmd.Env = append(os.Environ(), wire.EnvSocket+"="+sock, wire.EnvPluginID+"="+e.ID, envFixtureDir+"="+h.fix)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() { cmd.Process.Kill() })
	p.waitLog(`msg="plugin connected on the socket" plugin=faultsrc plugin_id=` + e.ID)
	h.waitLines(50)
	// The counters move just after a batch's lines are written and synced.
	series := `{plugin="faultsrc",plugin_id="` + e.ID + `",slot="1"} `
	waitFor(t, 5*time.Second, "the metrics to count the 50 events written", func() bool {
		metrics = scrape(t, addr)
		return metricValue(metrics, "plugctl_host_events_total"+series) >= 50 &&
			metricValue(metrics, "plugctl_host_acked_position"+series) >= 50
	}, func() string { return metrics })
	if want := `plugctl_host_plugin_up{plugin="faultsrc",plugin_id="` + e.ID + `"} 1`; !strings.Contains(metrics, want+"\n") {
		t.Errorf("metrics lack %s", want)
	}
	p.stop()
	select {
	case err := <-exited:
		if err != nil {
			t.Errorf("the plugin on the socket exited with %v after the host's shutdown; stderr:\n%s", err, stderr.String())
		}
	case <-time.After(10 * time.Second):
		t.Error("the plugin on the socket still runs 10s after the host stopped")
	}
	exactlyOnce(t, lines(t, h.out), e.ID, 1)
	if _, err := os.Stat(sock); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the socket is still there after shutdown: %v", err)
	}
}

// TestHostStdout: with --out -, a killed plugin resumes after the last
// line written, and after a clean shutdown the next host resumes every
// instance from the state.
func TestHostStdout(t *testing.T) {
	t.Parallel()
	h := newHostEnv(t)
	h.stdout = true
	e := h.enroll(h.binary("faultsrc", ""), nil)
	p := h.start("--backoff-min", "20ms")
	h.waitLines(100)
	if err := syscall.Kill(h.pluginPid(0), syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	p.waitLog(`msg="plugin stopped; restarting"`)
	h.waitLines(countLines(h.out) + 100)
	p.stop()
	n := countLines(h.out)
	p = h.start()
	p.waitLog(fmt.Sprintf(`msg="plugin running" plugin=faultsrc plugin_id=%s .* slot1_resumes_after=%d\b`, e.ID, n))
	h.waitLines(n + 100)
	p.stop()
	exactlyOnce(t, lines(t, h.out), e.ID, 1)
}

// TestHostSecondSignal: a second signal during the drain exits at once
// with status 1; nothing written is lost, and the next host resumes after
// it.
func TestHostSecondSignal(t *testing.T) {
	t.Parallel()
	h := newHostEnv(t)
	e := h.enroll(h.binary("faultsrc", ""), nil)
	cfg := h.config("[plugins.faultsrc]\nsettings = { stop_ms = 5000 }\n")
	p := h.start("--config", cfg)
	h.waitLines(50)
	pid := h.pluginPid(0)
	p.cmd.Process.Signal(syscall.SIGTERM)
	p.waitLog(`msg="shutting down: draining every plugin"`)
	time.Sleep(200 * time.Millisecond) // the plugin's Stop takes 5s: the drain is under way
	sent := time.Now()
	p.cmd.Process.Signal(syscall.SIGINT)
	select {
	case <-p.done:
	case <-time.After(3 * time.Second):
		t.Fatalf("the host still runs 3s after a second signal; log:\n%s", p.logText())
	}
	var ee *exec.ExitError
	if !errors.As(p.err, &ee) || ee.ExitCode() != 1 {
		t.Errorf("the host exited with %v after a second signal, want status 1", p.err)
	}
	if d := time.Since(sent); d > time.Second {
		t.Errorf("the host took %v to exit after the second signal", d)
	}
	p.waitLog(`plugctl: second signal: exiting without draining the plugins`)
	waitFor(t, 5*time.Second, "the plugin to die with its host", func() bool { return syscall.Kill(pid, 0) != nil }, nil)
	n := countLines(h.out)
	p = h.start()
	h.waitLines(n + 50)
	p.stop()
	exactlyOnce(t, lines(t, h.out), e.ID, 1)
}

// TestHostUsage: bad flags and a bad configuration exit 2 with the
// problem named; nothing starts.
func TestHostUsage(t *testing.T) {
	t.Parallel()
	h := newHostEnv(t)
	bad := h.config("[plugins.acme]\ninstances = 0\ncolour = 1\n")
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--metrics", "0.0.0.0:9464"}, `--metrics "0.0.0.0:9464" is not a loopback address`},
		{[]string{"--metrics", "nonsense"}, `want HOST:PORT`},
		{[]string{"--crash-loop", "0"}, `--crash-loop 0`},
		{[]string{"--backoff-min", "2s", "--backoff-max", "1s"}, `want 0 < min <= max`},
		{[]string{"extra"}, `unexpected argument "extra"`},
		{[]string{"--config", bad}, bad + ":2:1: plugins.acme.instances: want a whole number from 1 to 256\n" + bad + ":3:1: plugins.acme.colour: unknown key"},
	} {
		var stdout, stderr bytes.Buffer
		code := run(append([]string{"plugctl", "host", "--registry", h.reg.Dir}, tc.args...), nil, &stdout, &stderr)
		if code != 2 || !strings.Contains(stderr.String(), tc.want) {
			t.Errorf("plugctl host %v: exit %d, stderr\n%s\nwant exit 2 and %q", tc.args, code, stderr.String(), tc.want)
		}
	}
}
