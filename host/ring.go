package host

import (
	"io"
	"os"
	"os/exec"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/plugctl/plugctl/wire"
)

// sharedRing is a ring offered to a launched plugin, with what unmaps it.
type sharedRing struct {
	ring  *wire.Ring
	unmap func()
}

// offers are the rings offered to a launched plugin, each nil when none
// was: ring for the plugin's frames, input for the host's (version 4 on).
type offers struct {
	ring, input *sharedRing
}

// offerRings offers a launched plugin a ring of size data bytes for its
// frames and, unless the host wants a source, an input ring of at most
// wire.DefaultInputRingSize for the host's own: a source's input (acks, requests, heartbeats) is too small to gain
// from one. Without a ring (none asked, or none possible here) the frames
// stay on the pipes, which is only slower, so a failure is not an error.
// The returned files are the host's copies, to close once the plugin has
// started.
func offerRings(cmd *exec.Cmd, size int, role wire.Role) (offers, []*os.File) {
	var o offers
	var files []*os.File
	if size <= 0 {
		return o, nil
	}
	var f *os.File
	if o.ring, f = offerRing(cmd, size, wire.EnvRingFD); f != nil {
		files = append(files, f)
	}
	if role != wire.RoleSource {
		if o.input, f = offerRing(cmd, min(size, wire.DefaultInputRingSize), wire.EnvInputRingFD); f != nil {
			files = append(files, f)
		}
	}
	return o, files
}

// offerRing creates a ring of size data bytes and adds it to cmd's
// descriptors, and its number to cmd's environment as env.
func offerRing(cmd *exec.Cmd, size int, env string) (*sharedRing, *os.File) {
	f, r, unmap, err := newRing(size)
	if err != nil {
		return nil, nil
	}
	cmd.ExtraFiles = append(cmd.ExtraFiles, f)
	cmd.Env = append(cmd.Env, env+"="+strconv.Itoa(2+len(cmd.ExtraFiles)))
	return &sharedRing{ring: r, unmap: unmap}, f
}

// unmap releases every ring offered, for a plugin that never started.
func (o offers) unmap() {
	for _, r := range []*sharedRing{o.ring, o.input} {
		if r != nil {
			r.unmap()
		}
	}
}

// ringAckDelay is the longest a ring that never runs dry holds back the
// deferred ACKs: a busy instance is acknowledged about that often, and a
// quiet one sharing the session with it is not kept waiting. Each ACK
// wakes a plugin thread, which on a busy machine costs both sides tens of
// microseconds; acknowledging every few batches instead halves a busy
// stream's throughput.
const ringAckDelay = 10 * time.Millisecond

// ringStream is the read side of a session on the ring transport. Unlike
// a pipe, the ring goes on yielding what the plugin wrote after the host
// closed the connection, so it checks closed itself.
//
// It also calls flush every ringAckDelay: a ring that never runs dry
// must not hold back the deferred ACKs until the next heartbeat.
type ringStream struct {
	rr      *wire.RingReader
	closed  *atomic.Bool
	flush   func()
	flushed time.Time // when flush was last called
}

func (s *ringStream) Read(p []byte) (int, error) {
	if s.closed.Load() {
		return 0, os.ErrClosed
	}
	if now := time.Now(); now.Sub(s.flushed) >= ringAckDelay {
		s.flushed = now
		s.flush()
	}
	return s.rr.Read(p)
}

// useRing moves the read side of the session to the ring, once HELLO_ACK
// has chosen it: from then on the pipe only wakes the host. Deferred acks
// go out when the ring runs dry and every ringAckDelay.
func (p *Plugin) useRing() {
	rr := wire.NewRingReader(p.ring.ring, p.rd.r)
	rr.OnIdle = p.flushAcks
	rr.Poll = p.opts.Poll
	p.rd.r = &ringStream{rr: rr, closed: &p.closed, flush: p.flushAcks}
	p.fr = wire.NewFrameReader(p.rd, p.opts.MaxFrame)
}

// useInputRing moves the host's frames to the input ring, once HELLO_ACK
// has chosen it: from then on the plugin's standard input only wakes it.
// The writer, not yet started, is the ring's only producer.
func (p *Plugin) useInputRing() io.Writer {
	w := wire.NewRingWriter(p.inRing.ring, p.conn, p.quit)
	w.Chunk = inputChunk
	return w
}

// inputChunk is how often the host publishes what it has copied of a
// large frame into the input ring: the sink copies each piece out while
// the next goes in, instead of waiting for the whole WRITE.
const inputChunk = 32 << 10

// releaseRing unmaps the ring, if one was offered. The read loop has
// stopped, or never started, so nothing reads it any more.
func (p *Plugin) releaseRing() {
	if p.ring != nil {
		p.ring.unmap()
		p.ring = nil
	}
}

// releaseInputRing unmaps the input ring, if one was offered. The writer
// has stopped, or never started, so nothing writes it any more.
func (p *Plugin) releaseInputRing() {
	if p.inRing != nil {
		p.inRing.unmap()
		p.inRing = nil
	}
}
