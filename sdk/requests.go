package sdk

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/plugctl/plugctl/wire"
)

// request routes a request to the queue that answers it: process-wide
// ones in order on proc, an instance's in order on its own queue.
func (s *server) request(h wire.Header, req wire.Request) {
	switch h.Type {
	case wire.MsgSpecRequest:
		s.proc.do(func() { s.sendSpec(h.Instance, req.ID) })
	case wire.MsgSetup:
		s.setupAsked = true
		gate := make(chan struct{})
		s.setupGate = gate
		late := s.anyOpen
		s.proc.do(func() {
			defer close(gate)
			s.setup(h.Instance, req, late)
		})
	case wire.MsgOpen:
		s.open(h.Instance, req)
	case wire.MsgStop, wire.MsgClose:
		in := s.lookup(h.Instance)
		if in == nil {
			s.proc.do(func() { s.reply(h.Instance, notOpen(req.ID, h.Instance)) })
			return
		}
		in.writesClosed = true
		if h.Type == wire.MsgStop {
			in.jobs.do(func() { in.stopJob(req) })
		} else {
			in.jobs.do(func() { in.closeJob(req) })
		}
	}
}

func (s *server) open(id uint16, req wire.Request) {
	refuse := func(msg string) {
		s.proc.do(func() { s.reply(id, wire.Reply{ID: req.ID, Status: wire.StatusUnsupported, Message: msg}) })
	}
	if id == 0 {
		refuse("instance 0 is the process: OPEN takes an instance number from 1")
		return
	}
	s.mu.Lock()
	if _, dup := s.insts[id]; dup {
		s.mu.Unlock()
		refuse(fmt.Sprintf("instance %d is already open", id))
		return
	}
	in := newInstance(s, id, req)
	s.insts[id] = in
	s.mu.Unlock()
	if !s.anyOpen && !s.setupAsked && s.p.Setup != nil {
		s.implicitSetup()
	}
	s.anyOpen = true
	gate := s.setupGate
	in.jobs.do(func() { in.openJob(req, gate) })
}

// implicitSetup runs Setup with no settings before the first OPEN of a host
// that sent no SETUP, so the process-wide parameters take their defaults
// rather than zero values; if the defaults are not enough, every OPEN says
// why.
func (s *server) implicitSetup() {
	gate := make(chan struct{})
	s.setupGate = gate
	s.proc.do(func() {
		defer close(gate)
		if err := s.p.Setup(map[string]string{}); err != nil {
			s.setupErr = fmt.Errorf("no SETUP was sent and the process-wide configuration needs one: %w", err)
			return
		}
		s.setupDone = true
	})
}

func (s *server) sendSpec(instance uint16, id uint32) {
	err := s.c.send(wire.MsgSpec, instance, &wire.SpecReply{ID: id, Spec: s.spec})
	if errors.Is(err, wire.ErrFrameTooLarge) {
		s.reply(instance, wire.Reply{ID: id, Status: wire.StatusFailed, Message: err.Error()})
	}
}

func (s *server) setup(instance uint16, req wire.Request, late bool) {
	var r wire.Reply
	switch {
	case late && s.setupErr == nil:
		// With a refused configuration no instance opened, so a
		// corrected SETUP is still in time.
		r = wire.Reply{ID: req.ID, Status: wire.StatusUnsupported, Message: "SETUP after OPEN: the process-wide configuration comes before any instance"}
	case s.setupDone:
		r = wire.Reply{ID: req.ID, Status: wire.StatusUnsupported, Message: "SETUP was already done"}
	default:
		var err error
		if s.p.Setup != nil {
			err = s.p.Setup(req.Settings)
		}
		s.setupDone = err == nil
		s.setupErr = nil
		if err != nil {
			// No instance may run on a configuration that was refused.
			s.setupErr = fmt.Errorf("the process-wide configuration was refused: %w", err)
		}
		r = replyFor(req.ID, err)
	}
	s.reply(instance, r)
}

// replyFor answers request id with the outcome of plugin code.
func replyFor(id uint32, err error) wire.Reply {
	var ce *ConfigError
	switch {
	case err == nil:
		return wire.Reply{ID: id, Status: wire.StatusOK}
	case errors.As(err, &ce):
		// The problems travel one by one: the message says what was
		// refused without listing them again.
		msg := strings.Replace(err.Error(), ce.Error(), "invalid configuration", 1)
		return wire.Reply{ID: id, Status: wire.StatusInvalidConfig, Message: clip(msg), Problems: ce.Problems}
	}
	return wire.Reply{ID: id, Status: wire.StatusFailed, Message: clip(err.Error())}
}

func (s *server) reply(instance uint16, r wire.Reply) {
	if err := s.c.send(wire.MsgReply, instance, &r); errors.Is(err, wire.ErrFrameTooLarge) {
		// Too many problems for one frame: say so in few words.
		s.c.send(wire.MsgReply, instance, &wire.Reply{ID: r.ID, Status: r.Status, Message: clip(err.Error())})
	}
}

func clip(s string) string {
	if len(s) <= maxText {
		return s
	}
	i := maxText
	for i > 0 && !utf8.RuneStart(s[i]) {
		i--
	}
	return s[:i] + "…"
}
