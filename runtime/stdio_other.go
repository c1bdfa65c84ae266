//go:build !unix || solaris

package runtime

import "os"

var shutdownSignals = []os.Signal{os.Interrupt}

// takeStdio keeps the protocol on standard input and output and points
// os.Stdout at standard error, so the plugin's own prints stay off the
// stream. Descriptors cannot be moved portably here.
func takeStdio() (*os.File, *os.File, error) {
	out := os.Stdout
	os.Stdout = os.Stderr
	return os.Stdin, out, nil
}
