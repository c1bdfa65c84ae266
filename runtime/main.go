package runtime

import (
	"fmt"
	"io"
	"os"
	"os/signal"
)

// Main serves p for the host that started this process, on standard input
// and output, or on the Unix socket named by EnvSocket, then exits with one
// of the Exit codes. It never returns.
//
// With standard input and output, the protocol moves to descriptors of its
// own first: standard output then writes to standard error and standard
// input reads nothing, so a stray print, or a child process, cannot
// corrupt the stream or steal from it.
//
// SIGINT and SIGTERM shut the plugin down gracefully; a second one exits
// at once.
func Main(p Plugin) {
	r, w, err := transport()
	if err != nil {
		fmt.Fprintf(os.Stderr, "plugctl runtime: %v\n", err)
		os.Exit(ExitConnectionLost)
	}
	signals := make(chan os.Signal, 2)
	signal.Notify(signals, shutdownSignals...)
	os.Exit(ExitCode(Serve(r, w, p, ServeOptions{Signals: signals})))
}

func transport() (io.Reader, io.Writer, error) {
	if path := os.Getenv(EnvSocket); path != "" {
		c, err := dialHost(path)
		if err != nil {
			return nil, nil, fmt.Errorf("cannot reach the host at %s: %w", path, err)
		}
		return c, c, nil
	}
	return takeStdio()
}
