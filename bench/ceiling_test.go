package bench

import (
	"encoding/binary"
	"io"
	"net"
	"os"
	"os/exec"
	"strconv"
	"testing"
	"time"

	"github.com/plugctl/plugctl/bench/internal/workload"
	"github.com/plugctl/plugctl/wire"
)

// receiveRawPipe reads the rawframe plugin's standard output, a pipe
// raised to 1 MiB as the host library raises a launched plugin's, in
// frames of the SDK's batches on such a pipe: a quarter of it.
func receiveRawPipe(tb testing.TB, size, n int, m meter) {
	r, w, err := os.Pipe()
	if err != nil {
		tb.Fatal(err)
	}
	defer r.Close()
	growPipe(r)
	cmd := startRaw(tb, size, w, "-batch", strconv.Itoa(1<<20/4-wire.HeaderSize))
	w.Close()
	receiveRaw(tb, r, cmd.Process.Pid, size, n, m)
}

// receiveRawRing reads the rawframe plugin's frames through a shared
// ring.
func receiveRawRing(tb testing.TB, size, n int, m meter) {
	r, pid := startRawRing(tb, size)
	receiveRaw(tb, r, pid, size, n, m)
}

// receiveRawRingChecked reads them through a shared ring and checks
// every one.
func receiveRawRingChecked(tb testing.TB, size, n int, m meter) {
	r, pid := startRawRing(tb, size)
	readRaw(tb, r, pid, size, n, m, true)
}

// receiveRawUnix accepts the rawframe plugin on a Unix socket whose
// buffers are asked for 1 MiB, as the host library's Listener does.
func receiveRawUnix(tb testing.TB, size, n int, m meter) {
	path := socketPath(tb)
	l, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		tb.Fatal(err)
	}
	defer l.Close()
	cmd := startRaw(tb, size, nil, "-socket", path)
	l.SetDeadline(time.Now().Add(10 * time.Second))
	c, err := l.AcceptUnix()
	if err != nil {
		tb.Fatal(err)
	}
	defer c.Close()
	c.SetReadBuffer(1 << 20)
	receiveRaw(tb, c, cmd.Process.Pid, size, n, m)
}

// startRaw starts the rawframe plugin with payloads of size bytes and its
// standard output on stdout.
func startRaw(tb testing.TB, size int, stdout *os.File, args ...string) *exec.Cmd {
	cmd := rawCommand(tb, size, args...)
	cmd.Stdout = stdout
	startCommand(tb, cmd)
	return cmd
}

// rawCommand is the command of the rawframe plugin with payloads of size
// bytes.
func rawCommand(tb testing.TB, size int, args ...string) *exec.Cmd {
	cmd := exec.Command(pluginPath(tb, "rawframe"), append([]string{"-size", strconv.Itoa(size)}, args...)...)
	cmd.Stderr = os.Stderr
	return cmd
}

// startCommand starts cmd and kills it when tb ends: a rawframe plugin
// would write forever.
func startCommand(tb testing.TB, cmd *exec.Cmd) {
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
}

// receiveRaw reads frames from r and counts their events. The first frame
// is checked in full, before m starts.
func receiveRaw(tb testing.TB, r io.Reader, pid, size, n int, m meter) {
	readRaw(tb, r, pid, size, n, m, false)
}

// readRaw reads frames from r until n events have come, checking the
// first frame in full before m starts and, with every, each later one as
// plugctl's host and the benchmark's handler do, and nothing else: it
// validates the batch (wire.ParseEvents) and checks each of its events.
func readRaw(tb testing.TB, r io.Reader, pid, size, n int, m meter, every bool) {
	fr := wire.NewFrameReader(r, wire.MaxFrameLimit)
	c := newChecker(size)
	check := func(body []byte) int {
		b, err := wire.ParseEvents(body, []string{workload.Kind}, wire.MsgEvents)
		if err != nil {
			tb.Fatal(err)
		}
		c.next = b.First() // rawframe repeats one frame
		var e wire.Event
		rd := b.Reader()
		for rd.Next(&e) {
			if err := c.check(e.Position, e.Kind, e.Payload); err != nil {
				tb.Fatal(err)
			}
		}
		return b.Len()
	}
	_, body, err := fr.Next()
	if err != nil {
		tb.Fatal(err)
	}
	check(body)
	m.start(pid)
	for got := 0; got < n; {
		h, body, err := fr.Next()
		if err != nil {
			tb.Fatal(err)
		}
		switch {
		case h.Type != wire.MsgEvents || len(body) < 4:
			tb.Fatalf("rawframe sent a %d-byte %s frame", len(body), h.Type)
		case every:
			got += check(body)
		default:
			got += int(binary.LittleEndian.Uint32(body))
		}
	}
	m.stop()
}
