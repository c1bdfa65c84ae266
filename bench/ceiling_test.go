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
	fr := wire.NewFrameReader(r, wire.MaxFrameLimit)
	_, body, err := fr.Next()
	if err != nil {
		tb.Fatal(err)
	}
	first, err := wire.ParseEvents(body, []string{workload.Kind}, wire.MsgEvents)
	if err != nil {
		tb.Fatal(err)
	}
	c := newChecker(size)
	var e wire.Event
	rd := first.Reader()
	for rd.Next(&e) {
		if err := c.check(e.Position, e.Kind, e.Payload); err != nil {
			tb.Fatal(err)
		}
	}
	m.start(pid)
	for got := 0; got < n; {
		h, body, err := fr.Next()
		if err != nil {
			tb.Fatal(err)
		}
		if h.Type != wire.MsgEvents || len(body) < 4 {
			tb.Fatalf("rawframe sent a %d-byte %s frame", len(body), h.Type)
		}
		got += int(binary.LittleEndian.Uint32(body))
	}
	m.stop()
}
