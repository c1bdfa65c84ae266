package hostwire

import (
	"time"

	"github.com/plugctl/plugctl/wire"
)

// Heartbeats sends a HEARTBEAT frame every interval until stop is closed
// or send fails, so that the plugin never declares its host dead.
func Heartbeats(every time.Duration, stop <-chan struct{}, send func(frame []byte) error) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case now := <-t.C:
			m := wire.Heartbeat{UnixNano: now.UnixNano()}
			if send(m.AppendTo(wire.AppendHeader(nil, wire.MsgHeartbeat, 0, 8))) != nil {
				return
			}
		}
	}
}
