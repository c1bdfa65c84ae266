package host

import (
	"os"
	"os/exec"
	"strconv"
	"sync/atomic"

	"github.com/plugctl/plugctl/wire"
)

// sharedRing is a ring offered to a launched plugin, with what unmaps it.
type sharedRing struct {
	ring  *wire.Ring
	unmap func()
}

// offerRing creates a ring of size data bytes (none when size is not
// positive) and adds it to cmd's descriptors and environment. Without a ring (none asked, or none
// possible here) the plugin keeps every frame on its pipe, which is only
// slower, so a failure is not an error. The returned file is the host's
// copy, to close once the plugin has started.
func offerRing(cmd *exec.Cmd, size int) (*sharedRing, *os.File) {
	if size <= 0 {
		return nil, nil
	}
	f, r, unmap, err := newRing(size)
	if err != nil {
		return nil, nil
	}
	cmd.ExtraFiles = append(cmd.ExtraFiles, f)
	cmd.Env = append(cmd.Env, wire.EnvRingFD+"="+strconv.Itoa(2+len(cmd.ExtraFiles)))
	return &sharedRing{ring: r, unmap: unmap}, f
}

// ringFlushBytes is how much a ring that never runs dry yields between
// flushes of the deferred ACKs: about half the default window of batches
// of the default ring, so a busy instance is acknowledged about as often
// as ackEvery would, and a quiet one within milliseconds. Flushing more
// often costs the busy stream a fifth of its speed in ACK traffic.
const ringFlushBytes = 2 << 20

// ringStream is the read side of a session on the ring transport. Unlike
// a pipe, the ring goes on yielding what the plugin wrote after the host
// closed the connection, so it checks closed itself.
//
// It also calls flush after every ringFlushBytes: a ring that never runs
// dry (a busy instance) must not hold back the deferred ACKs of a quiet
// one until the next heartbeat.
type ringStream struct {
	rr      *wire.RingReader
	closed  *atomic.Bool
	flush   func()
	unacked int // bytes read since flush
}

func (s *ringStream) Read(p []byte) (int, error) {
	if s.closed.Load() {
		return 0, os.ErrClosed
	}
	if s.unacked >= ringFlushBytes {
		s.unacked = 0
		s.flush()
	}
	n, err := s.rr.Read(p)
	s.unacked += n
	return n, err
}

// useRing moves the read side of the session to the ring, once HELLO_ACK
// has chosen it: from then on the pipe only wakes the host. Deferred acks
// go out when the ring runs dry and after every ringFlushBytes.
func (p *Plugin) useRing() {
	rr := wire.NewRingReader(p.ring.ring, p.rd.r)
	rr.OnIdle = p.flushAcks
	p.rd.r = &ringStream{rr: rr, closed: &p.closed, flush: p.flushAcks}
	p.fr = wire.NewFrameReader(p.rd, p.opts.MaxFrame)
}

// releaseRing unmaps the ring, if one was offered. The read loop has
// stopped, or never started, so nothing reads it any more.
func (p *Plugin) releaseRing() {
	if p.ring != nil {
		p.ring.unmap()
		p.ring = nil
	}
}
