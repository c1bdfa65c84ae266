package sdk

import (
	"fmt"
	"io"
	"os"
	"os/signal"

	"github.com/plugctl/plugctl/wire"
)

// Main serves p for the host that started this process, on standard input
// and output, or on the Unix socket named by wire.EnvSocket, then exits
// with one of the Exit codes. It never returns.
//
// With standard input and output, the protocol moves to descriptors of its
// own first: standard output then writes to standard error and standard
// input reads nothing, so a stray print, or a child process, cannot
// corrupt the stream or steal from it.
//
// SIGINT and SIGTERM shut the plugin down gracefully; a second one exits
// at once.
func Main(p Plugin) {
	if os.Getenv(wire.EnvSocket) == "" && (isTerminal(os.Stdin) || isTerminal(os.Stdout)) {
		fmt.Fprintf(os.Stderr, "%s is a plugctl %s plugin: it talks to a host over its standard input and output, not to a terminal; to watch it work, run: plugctl run DIR\n",
			orName(p.Spec.Name), roleOf(p))
		os.Exit(ExitRejected)
	}
	r, w, capacity, err := transport()
	if err != nil {
		fmt.Fprintf(os.Stderr, "plugctl runtime: %v\n", err)
		os.Exit(ExitConnectionLost)
	}
	opts := ServeOptions{BatchBytes: batchBytes(capacity)}
	// A ring only makes the session faster: without one, go on on the stream.
	var ringErr, inputErr error
	if opts.Ring, ringErr = OfferedRing(); ringErr != nil {
		fmt.Fprintf(os.Stderr, "plugctl runtime: cannot use the shared ring the host offers, so frames stay on the stream: %v\n", ringErr)
	}
	if opts.InputRing, inputErr = OfferedInputRing(); inputErr != nil {
		fmt.Fprintf(os.Stderr, "plugctl runtime: cannot use the input ring the host offers, so the host's frames stay on the stream: %v\n", inputErr)
	}
	opts.Versions = protocolVersions(ringErr == nil, inputErr == nil)
	signals := make(chan os.Signal, 2)
	signal.Notify(signals, shutdownSignals...)
	opts.Signals = signals
	os.Exit(ExitCode(Serve(r, w, p, opts)))
}

// transport opens the protocol stream and reports the capacity of its
// output pipe, 0 when unknown.
func transport() (io.Reader, io.Writer, int, error) {
	if path := os.Getenv(wire.EnvSocket); path != "" {
		c, err := dialHost(path)
		if err != nil {
			return nil, nil, 0, fmt.Errorf("cannot reach the host at %s: %w", path, err)
		}
		return c, c, 0, nil
	}
	return takeStdio()
}

// batchBytes sizes batches for a pipe of the given capacity: a quarter of
// it, so several batches are in the pipe while the host reads. Fewer,
// larger writes are what moves large events fast; a pipe of unknown or
// default size keeps DefaultBatchBytes, which fits it.
func batchBytes(capacity int) int {
	if b := capacity/4 - wire.HeaderSize; b > DefaultBatchBytes {
		return b
	}
	return 0
}

// isTerminal reports whether f is a terminal: a character device that is
// not the null device, the one a host might give a plugin it sends nothing.
func isTerminal(f *os.File) bool {
	fi, err := f.Stat()
	if err != nil || fi.Mode()&os.ModeCharDevice == 0 {
		return false
	}
	null, err := os.Stat(os.DevNull)
	return err != nil || !os.SameFile(fi, null)
}

func roleOf(p Plugin) wire.Role {
	if p.Sink != nil {
		return wire.RoleSink
	}
	return wire.RoleSource
}

func orName(name string) string {
	if name == "" {
		return "this program"
	}
	return name
}
