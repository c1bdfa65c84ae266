package host

import (
	"errors"
	"fmt"

	"github.com/plugctl/plugctl/enroll"
	"github.com/plugctl/plugctl/wire"
)

// Candidate is a plugin asking to be accepted, as an Enrollment sees it.
type Candidate struct {
	Hello wire.Hello

	// Binary is the absolute path of the plugin's executable: the file the
	// host launched, or for a plugin accepted on a socket the executable
	// of the process that connected (Linux only; "" where unknown).
	Binary string

	// Digest is of the bytes the kernel runs. On Linux a launched
	// plugin's binary is copied into sealed memory as it is digested, and
	// the copy is what the host executes, so a binary changed on disk in
	// between is not what runs (elsewhere the file is digested, then run
	// by path); an accepted one is digested through /proc/PID/exe.
	// DigestErr says why there is none; Digest is computed only when
	// Options.Check is set.
	Digest    enroll.Digest
	DigestErr error

	Pid      int  // the plugin's process id; 0 where unknown
	Launched bool // the host started it (else it connected to a socket)

	p *Plugin
}

// End ends the session for a cause of the host's own, such as a revoked
// enrollment: the plugin is sent GOODBYE with reason revoked and cause's
// text, given Options.Grace to drain and exit, and the session's Err wraps
// cause. It may be called from any goroutine at any time after Admit
// accepted the plugin, also before Launch or Accept has returned; the
// first cause wins.
func (c *Candidate) End(cause error) { c.p.endFor(cause) }

// ErrRevoked: the host's Enrollment ended the session because it no longer
// accepts the plugin (its entry was revoked, removed or changed).
var ErrRevoked = errors.New("enrollment withdrawn")

// identity is what the host knows of a plugin's executable before its
// HELLO arrives.
type identity struct {
	binary    string
	digest    enroll.Digest
	digestErr error
	pid       int
	launched  bool
}

func (id identity) candidate(p *Plugin) *Candidate {
	return &Candidate{Hello: p.hello, Binary: id.binary, Digest: id.digest, DigestErr: id.digestErr,
		Pid: id.pid, Launched: id.launched, p: p}
}

// refusal turns an enroll.Refusal into the protocol's reject reason.
func refusal(err error) error {
	var r *enroll.Refusal
	if !errors.As(err, &r) {
		return err
	}
	reason, ok := map[enroll.Reason]wire.RejectReason{
		enroll.MissingID:        wire.RejectMissingID,
		enroll.NotEnrolled:      wire.RejectNotEnrolled,
		enroll.Revoked:          wire.RejectRevoked,
		enroll.HashMismatch:     wire.RejectHashMismatch,
		enroll.IdentityMismatch: wire.RejectIdentityMismatch,
		enroll.PathMismatch:     wire.RejectPathMismatch,
		enroll.BadSignature:     wire.RejectBadSignature,
		enroll.TooManySessions:  wire.RejectTooManySessions,
	}[r.Reason]
	if !ok {
		reason = wire.RejectPolicy
	}
	return &RejectError{Reason: reason, Message: r.Msg}
}

// revokedf is the cause of a session the Enrollment ended.
func revokedf(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrRevoked, fmt.Sprintf(format, args...))
}
