package sdk

import (
	"fmt"

	"github.com/plugctl/plugctl/wire"
)

// read runs the handshake, then reads and dispatches every frame. It never
// writes and never runs plugin code, so the host is always heard.
func (s *server) read() {
	if !s.handshake() {
		return
	}
	for {
		h, body, err := s.fr.Next()
		if err != nil {
			s.readFailed(err)
			return
		}
		select {
		case <-s.abort:
			// The session is over: nothing more may start.
			return
		default:
		}
		s.recv.Add(1)
		if h.Type == wire.MsgError {
			s.hostError(body)
			return
		}
		if err := s.dispatch(h, body); err != nil {
			s.violation(err)
			return
		}
	}
}

// dispatch handles one frame of an established session.
func (s *server) dispatch(h wire.Header, body []byte) error {
	switch h.Type {
	case wire.MsgHeartbeat:
		var m wire.Heartbeat
		return m.Decode(body)
	case wire.MsgAck:
		// A sink takes no ACK at all, so neither its body nor the
		// instance it names matters (PROTOCOL.md §4.6.2), as WRITE to a
		// source below.
		if s.p.Sink != nil {
			return protoError{wire.ErrCodeUnexpected, fmt.Errorf("ACK for instance %d, but this plugin is a sink", h.Instance)}
		}
		var m wire.Ack
		if err := m.Decode(body); err != nil {
			return err
		}
		in, err := s.target(h)
		if err != nil {
			return err
		}
		if err := in.out.ack(m.Position); err != nil {
			return protoError{wire.ErrCodeUnexpected, err}
		}
		return nil
	case wire.MsgWrite:
		if s.p.Sink == nil {
			return protoError{wire.ErrCodeUnexpected, fmt.Errorf("WRITE for instance %d, but this plugin is a source", h.Instance)}
		}
		in, err := s.target(h)
		if err != nil {
			return err
		}
		if in.writesClosed {
			return protoError{wire.ErrCodeUnexpected, fmt.Errorf("WRITE for instance %d after its STOP or CLOSE", h.Instance)}
		}
		select {
		case <-s.quit:
			// Shutting down: unanswered, the batch stays the host's.
			return nil
		default:
		}
		return in.acceptWrite(body)
	case wire.MsgSpecRequest, wire.MsgSetup, wire.MsgOpen, wire.MsgStop, wire.MsgClose:
		var req wire.Request
		if err := req.Decode(body, h.Type); err != nil {
			return err
		}
		s.request(h, req)
		return nil
	case wire.MsgGoodbye:
		var m wire.Goodbye
		if err := m.Decode(body); err != nil {
			return err
		}
		if m.Reason != wire.GoodbyeNormal {
			s.logf("plugctl runtime: the host is ending the session: %s: %s", m.Reason, m.Message)
		}
		s.hostGoodbye.Store(true)
		s.end(outcome{code: ExitOK, goodbye: &wire.Goodbye{Reason: wire.GoodbyeRequested}})
		return nil
	case wire.MsgHelloAck, wire.MsgReject:
		return protoError{wire.ErrCodeUnexpected, fmt.Errorf("%s frame after the handshake", h.Type)}
	}
	return protoError{wire.ErrCodeUnexpected, fmt.Errorf("%s frame from the host: only a plugin sends it", h.Type)}
}

// target is the open instance a frame names.
func (s *server) target(h wire.Header) (*instance, error) {
	if in := s.lookup(h.Instance); in != nil {
		return in, nil
	}
	return nil, protoError{wire.ErrCodeUnknownInstance, fmt.Errorf("%s for instance %d, which is not open", h.Type, h.Instance)}
}

func (s *server) lookup(id uint16) *instance {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.insts[id]
}

func (s *server) remove(in *instance) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.insts[in.id] == in {
		delete(s.insts, in.id)
	}
}

func (s *server) snapshot() []*instance {
	s.mu.Lock()
	defer s.mu.Unlock()
	l := make([]*instance, 0, len(s.insts))
	for _, in := range s.insts {
		l = append(l, in)
	}
	return l
}
