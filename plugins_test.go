package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/plugctl/plugctl/sdk"
	"github.com/plugctl/plugctl/wire"
)

// progressPlugin is a source that emits an event every 10 ms and reports
// its progress, so that plugctl run has a bar to draw. The test binary
// runs it when started under the name "progress-plugin".
func progressPlugin() {
	sdk.Main(sdk.Plugin{
		Spec:   wire.Spec{Name: "progress", Version: "1.0.0", Events: []wire.EventKind{{Name: "tick"}}},
		Source: func(sdk.Open) (sdk.Source, error) { return &progressSource{}, nil },
	})
}

type progressSource struct{ n uint64 }

func (s *progressSource) NextBatch(b *sdk.Batch) error {
	time.Sleep(10 * time.Millisecond)
	s.n++
	println("a log line", s.n)
	return b.Append(s.n, time.Now().UnixNano(), 0, []byte(`{"n":1}`))
}

func (s *progressSource) Progress() (float64, string) { return 42, "reading part 3 of 7" }

// The fault fixtures below run as plugins when the test binary is started
// under their name (testscript.Main puts copies of it on $PATH). Each
// writes what the tests check into $FIXTURE_DIR.
const envFixtureDir = "FIXTURE_DIR"

// faultSource is a source of positions resume+1, resume+2, … without end,
// each payload {"n":position}: per events, then a pause of every
// milliseconds (settings; default 10 and 5); its Stop takes stop_ms. It writes its pid to
// $FIXTURE_DIR/pid at start, and the newest position the host
// acknowledged for instance I to $FIXTURE_DIR/acked.I. The host opens
// slots 1..N in order in each session, so instance I is slot I.
func faultSource() {
	dir := os.Getenv(envFixtureDir)
	writeAtomic(filepath.Join(dir, "pid"), strconv.Itoa(os.Getpid()))
	sdk.Main(sdk.Plugin{
		Spec: wire.Spec{Name: "faultsrc", Version: "0.0.1", Role: wire.RoleSource, Events: []wire.EventKind{{Name: "tick"}}},
		Source: func(o sdk.Open) (sdk.Source, error) {
			f, err := os.OpenFile(filepath.Join(dir, fmt.Sprintf("acked.%d", o.Instance)), os.O_RDWR|os.O_CREATE, 0o600)
			if err != nil {
				return nil, err
			}
			s := &counting{next: o.ResumeFrom + 1, per: 10, every: 5 * time.Millisecond, acked: f}
			if n, err := strconv.Atoi(o.Settings["per"]); err == nil {
				s.per = n
			}
			if ms, err := strconv.Atoi(o.Settings["every"]); err == nil {
				s.every = time.Duration(ms) * time.Millisecond
			}
			if ms, err := strconv.Atoi(o.Settings["stop_ms"]); err == nil {
				s.stop = time.Duration(ms) * time.Millisecond
			}
			return s, nil
		},
	})
}

type counting struct {
	next  uint64
	per   int
	every time.Duration
	stop  time.Duration
	acked *os.File
}

func (c *counting) NextBatch(b *sdk.Batch) error {
	time.Sleep(c.every)
	for range c.per {
		if err := b.Append(c.next, time.Now().UnixNano(), 0, fmt.Appendf(nil, `{"n":%d}`, c.next)); err != nil {
			if errors.Is(err, sdk.ErrBatchFull) {
				return nil
			}
			return err
		}
		c.next++
	}
	return nil
}

// Ack keeps the newest acknowledged position, fixed-width at offset 0: the
// page cache keeps it when the process is killed.
func (c *counting) Ack(position uint64) error {
	_, err := c.acked.WriteAt(fmt.Appendf(nil, "%020d\n", position), 0)
	return err
}

func (c *counting) Stop() error {
	time.Sleep(c.stop)
	return nil
}

func (c *counting) Close() error { return c.acked.Close() }

// crashSource counts its start in $FIXTURE_DIR/starts and exits 1 at once.
func crashSource() {
	f, err := os.OpenFile(filepath.Join(os.Getenv(envFixtureDir), "starts"), os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err == nil {
		f.WriteString("start\n")
		f.Close()
	}
	fmt.Fprintln(os.Stderr, "crashsrc: failing at once")
	os.Exit(1)
}

func writeAtomic(path, text string) {
	os.WriteFile(path+".tmp", []byte(text), 0o600)
	os.Rename(path+".tmp", path)
}
