package sdk

import (
	"fmt"
	"time"

	"github.com/plugctl/plugctl/wire"
)

// heartbeat sends HEARTBEAT every interval and declares the host dead
// after 3 intervals without a frame from it. Sending runs apart, so that
// a write stuck on a full pipe cannot stop the watch.
func (s *server) heartbeat() {
	interval := time.Duration(s.ack.HeartbeatMS) * time.Millisecond
	beat := make(chan struct{}, 1)
	go func() {
		for {
			select {
			case <-beat:
			case <-s.abort:
				return
			case <-s.finished:
				return
			}
			s.c.send(wire.MsgHeartbeat, 0, &wire.Heartbeat{UnixNano: nowNano()})
		}
	}()
	t := time.NewTicker(interval)
	defer t.Stop()
	var seen uint64
	silent := 0
	for {
		select {
		case <-t.C:
		case <-s.abort:
			return
		case <-s.finished:
			return
		}
		if n := s.recv.Load(); n != seen {
			seen, silent = n, 0
		} else if silent++; silent >= 3 {
			err := fmt.Errorf("no frame from the host for 3 heartbeat intervals (%v)", 3*interval)
			s.fatal(outcome{
				code:   ExitConnectionLost,
				err:    fmt.Errorf("host connection lost: %w", err),
				notice: &wire.ErrorMsg{Code: wire.ErrCodeHeartbeatTimeout, Message: err.Error()},
			})
			return
		}
		notify(beat)
	}
}
