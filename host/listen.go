package host

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"syscall"
	"time"
)

// socketBuffer is the kernel buffer asked for on accepted sockets, for the
// same reason launched plugins' pipes are grown.
const socketBuffer = 1 << 20

// Listener accepts plugins started elsewhere, which connect to its Unix
// socket when run with PLUGCTL_SOCKET=<path> (wire.EnvSocket).
type Listener struct {
	ln   *net.UnixListener
	opts Options
}

// Listen creates the Unix socket at socketPath, readable and writable by
// the host's user only, and listens on it. Close removes it.
func Listen(socketPath string, opts Options) (*Listener, error) {
	addr := &net.UnixAddr{Name: socketPath, Net: "unix"}
	ln, err := net.ListenUnix("unix", addr)
	if errors.Is(err, syscall.EADDRINUSE) && removeStale(socketPath) {
		ln, err = net.ListenUnix("unix", addr)
	}
	if err != nil {
		return nil, fmt.Errorf("listen: %w", err)
	}
	if err := os.Chmod(socketPath, 0o600); err != nil {
		ln.Close()
		return nil, fmt.Errorf("listen: %w", err)
	}
	return &Listener{ln: ln, opts: opts.withDefaults()}, nil
}

// removeStale removes the socket at path if nothing listens on it: one
// left by a host that was killed, which would refuse every later start.
// A socket that answers, or a file that is not a socket, stays. (Two
// hosts started at the same moment on one stale path race here.)
func removeStale(path string) bool {
	fi, err := os.Lstat(path)
	if err != nil || fi.Mode().Type() != os.ModeSocket {
		return false
	}
	c, err := net.DialTimeout("unix", path, time.Second)
	if err == nil {
		c.Close()
		return false // a live listener: the caller reports the address in use
	}
	if !errors.Is(err, syscall.ECONNREFUSED) {
		return false
	}
	return os.Remove(path) == nil
}

// Accept waits, until ctx ends, for a plugin to connect, then runs the
// handshake (bounded by ctx and Options.Timeout). On Linux the Enrollment
// sees the executable of the process that connected, from the socket's
// peer credentials; elsewhere, or when it cannot be read, an empty path.
// Unlike a launched plugin's, that path is advice, not proof: the process
// that connected may have passed the socket to another and run some other
// program since, so a host that must know what it runs launches it.
// Call Accept from one goroutine at a time.
func (l *Listener) Accept(ctx context.Context) (*Plugin, error) {
	fired := make(chan struct{})
	stop := context.AfterFunc(ctx, func() {
		l.ln.SetDeadline(time.Unix(1, 0)) // wakes AcceptUnix
		close(fired)
	})
	c, err := l.ln.AcceptUnix()
	if !stop() {
		<-fired
		l.ln.SetDeadline(time.Time{})
	}
	if err != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("accept: %w", ctx.Err())
		}
		return nil, fmt.Errorf("accept: %w", err)
	}
	c.SetReadBuffer(socketBuffer)
	c.SetWriteBuffer(socketBuffer)
	return start(ctx, c, nil, offers{}, peerIdentity(c, l.opts.Check != nil), "on "+l.ln.Addr().String(), l.opts)
}

// Close stops listening and removes the socket. Plugins already accepted
// are not affected.
func (l *Listener) Close() error {
	if err := l.ln.Close(); err != nil && !errors.Is(err, net.ErrClosed) {
		return err
	}
	return nil
}
