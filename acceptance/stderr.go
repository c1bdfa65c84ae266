package acceptance

import "github.com/plugctl/plugctl/internal/linelog"

// Bounds on what is kept of a plugin's standard error.
const (
	stderrMaxLines = 2000
	stderrMaxLine  = 4096
)

// newStderrLog collects a plugin's standard error as lines: for the
// report, and for the check that secrets never reach the log. The
// earliest lines are dropped past the bound, as the last ones say most
// about a failure. It is an io.Writer for the reference host's
// forwarding, and follows a pipe of the raw host's.
func newStderrLog() *linelog.Log {
	return linelog.New(stderrMaxLines, stderrMaxLine, stderrMaxLine, nil, "")
}
