//go:build !unix || solaris

package sdk

import (
	"net"
	"os"
)

var shutdownSignals = []os.Signal{os.Interrupt}

// takeStdio keeps the protocol on standard input and output and points
// os.Stdout at standard error, so the plugin's own prints stay off the
// stream. Descriptors cannot be moved portably here, nor the pipe's
// capacity known (0).
func takeStdio() (*os.File, *os.File, int, error) {
	out := os.Stdout
	os.Stdout = os.Stderr
	return os.Stdin, out, 0, nil
}

// dialHost connects to the host's Unix socket.
func dialHost(path string) (net.Conn, error) { return net.Dial("unix", path) }
