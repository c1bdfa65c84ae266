package host

import (
	"io"

	"github.com/plugctl/plugctl/internal/linelog"
)

// Limits of the stderr tail kept for error messages.
const (
	tailLines   = 20
	tailLineMax = 512
	stderrLine  = 16 << 10 // longer lines are forwarded in pieces
)

// newStderrLog forwards a plugin's standard error line by line with a
// "[name] " prefix and keeps the last lines to explain failures.
func newStderrLog(out io.Writer, name string) *linelog.Log {
	return linelog.New(tailLines, tailLineMax, stderrLine, out, stderrPrefix(name))
}

func stderrPrefix(name string) string { return "[" + name + "] " }
