package host

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/plugctl/plugctl/internal/linelog"
	"github.com/plugctl/plugctl/wire"
)

// Sentinel causes, matched with errors.Is on the errors this package returns.
var (
	// ErrPluginSilent: the plugin sent nothing for three heartbeat
	// intervals while the host was waiting for it. It was killed.
	ErrPluginSilent = errors.New("plugin silent for 3 heartbeat intervals")

	// ErrTimeout: the plugin did not answer a request or a WRITE within
	// Options.Timeout, or did not complete the handshake in time.
	ErrTimeout = errors.New("plugin did not answer in time")

	// ErrConnectionLost: the plugin's stream ended without a GOODBYE, as
	// when the plugin crashes.
	ErrConnectionLost = errors.New("connection lost")

	// ErrProtocol: the plugin broke the wire protocol. The host sent it an
	// ERROR and killed it (without ERROR when what broke was the input
	// ring, which then carries nothing more).
	ErrProtocol = errors.New("protocol violation")

	// ErrKilled: the host killed the plugin (Kill, or Close that ran out
	// of time).
	ErrKilled = errors.New("killed by the host")

	// ErrClosed: the session ended cleanly before or during the call.
	ErrClosed = errors.New("plugin session closed")
)

// RejectError is a refused handshake. An Enrollment returns one to choose
// the reason sent to the plugin; Launch and Accept return it (inside a
// *SessionError) when the host rejected the plugin.
type RejectError struct {
	Reason  wire.RejectReason
	Message string
}

// Error says why the plugin was refused, with the reason's stable name.
func (e *RejectError) Error() string {
	return fmt.Sprintf("rejected (%s): %s", e.Reason, e.Message)
}

// RequestError is a plugin's refusal of a request: Status is not ok.
type RequestError struct {
	Op       string // what was asked, as "open instance 1"
	Status   wire.Status
	Message  string
	Problems []wire.Problem // one per invalid parameter, with invalid_config
}

// Error names the request, the status, the message and each invalid
// parameter. A problem the message already states is not written again:
// the SDK's message for a *sdk.ConfigError lists every problem itself.
func (e *RequestError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %s", e.Op, e.Status)
	if e.Message != "" {
		b.WriteString(": " + e.Message)
	}
	sep := ": "
	for _, p := range e.Problems {
		text := p.Param + ": " + p.Message
		if strings.Contains(e.Message, text) {
			continue
		}
		b.WriteString(sep + text)
		sep = "; "
	}
	return b.String()
}

// WriteError is a sink's final refusal of a batch: it answered error, or
// kept answering retry until the attempts ran out.
type WriteError struct {
	Status   wire.WriteStatus // wire.WriteError or wire.WriteRetry
	Message  string
	Attempts int
}

// Error says whether the sink refused the batch or kept asking to retry.
func (e *WriteError) Error() string {
	if e.Status == wire.WriteRetry {
		return fmt.Sprintf("write: sink still asked to retry after %d attempts: %s", e.Attempts, e.Message)
	}
	return "write: sink dropped the batch: " + e.Message
}

// InstanceError is the failure of one source instance, as the plugin
// reported it in END (protocol version 3 on). That instance is over; the
// session and the plugin's other instances go on.
type InstanceError struct {
	Plugin   string // name from HELLO
	Instance uint16
	Message  string // the plugin's reason
}

// Error names the plugin, the instance and the reason.
func (e *InstanceError) Error() string {
	return fmt.Sprintf("plugin %s: instance %d failed: %s", e.Plugin, e.Instance, e.Message)
}

// SessionError says why a plugin session failed: the cause, how the
// process ended and the last lines it wrote to standard error.
type SessionError struct {
	Plugin string           // name from HELLO, or the executable's base name
	Err    error            // the cause: ErrConnectionLost, ErrPluginSilent, ...
	Exit   *os.ProcessState // nil for plugins accepted on a socket
	Stderr []string         // the last lines of standard error, oldest first, after a panic's first line if they lost it
}

// Error gives the plugin, the cause, the exit and the last stderr lines.
func (e *SessionError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "plugin %s: %v", e.Plugin, e.Err)
	if e.Exit != nil {
		b.WriteString(" (" + exitText(e.Exit, e.Stderr) + ")")
	}
	if len(e.Stderr) > 0 {
		b.WriteString("; last stderr: " + strings.Join(e.Stderr, " | "))
	}
	return b.String()
}

// Unwrap returns the cause.
func (e *SessionError) Unwrap() error { return e.Err }

// exitText names an exit the way the SDK's exit codes mean it. A Go
// program that panics or dies of a fatal runtime error also exits 2, which
// to the SDK means rejected: its last stderr lines tell the two apart.
func exitText(ps *os.ProcessState, stderr []string) string {
	if ps.ExitCode() == 2 {
		for _, line := range stderr {
			switch linelog.CrashLine(line) {
			case "panic":
				return ps.String() + ": the plugin panicked"
			case "fatal error":
				return ps.String() + ": a fatal error of the Go runtime"
			}
		}
	}
	// Said as the SDK's meaning: a plugin written otherwise may use the
	// same numbers for other things.
	meaning := map[int]string{
		1: "a plugin error",
		2: "a rejection by the host",
		3: "a lost connection or a silent host",
		4: "a protocol violation by the host",
	}[ps.ExitCode()]
	if meaning == "" {
		return ps.String()
	}
	return ps.String() + ", the SDK's code for " + meaning
}

// violation is a breach of the protocol by the plugin; code goes in the
// ERROR frame the host sends before it kills the plugin.
type violation struct {
	code wire.ErrorCode
	err  error
}

func violationf(code wire.ErrorCode, format string, args ...any) *violation {
	return &violation{code, fmt.Errorf(format, args...)}
}

func (v *violation) Error() string        { return fmt.Sprintf("%v (%s): %v", ErrProtocol, v.code, v.err) }
func (v *violation) Unwrap() error        { return v.err }
func (v *violation) Is(target error) bool { return target == ErrProtocol }
