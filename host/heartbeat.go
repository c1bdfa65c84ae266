package host

import (
	"fmt"
	"time"

	"github.com/plugctl/plugctl/wire"
)

// watch declares the plugin dead when the read loop has waited three
// heartbeat intervals for a byte (hostwire.Heartbeats sends the host's).
// Time the read loop spends in a Handler is not waiting, so a slow host
// never kills a healthy plugin.
func (p *Plugin) watch() {
	every := p.opts.Heartbeat
	tick := time.NewTicker(every / 4) // detect silence within a quarter interval
	defer tick.Stop()
	for {
		select {
		case <-p.quit:
			return
		case <-tick.C:
			waited := p.rd.waited()
			p.mu.Lock()
			closing := p.closing
			p.mu.Unlock()
			if waited >= 3*every && !closing { // once closing, Grace bounds the wait
				p.abort(fmt.Errorf("%w: nothing received for %v", ErrPluginSilent, waited.Round(time.Millisecond)), wire.ErrCodeHeartbeatTimeout)
				return
			}
			if waited >= every && p.proc != nil && p.proc.exitedFor() >= every {
				// The plugin is long gone but its stdout is still open, held
				// by a process it started: no byte that matters can come.
				p.mu.Lock()
				bye := p.goodbye != nil
				p.mu.Unlock()
				if bye {
					p.closeConn()
				} else {
					p.abort(fmt.Errorf("%w: the plugin exited but a process it started holds its stdout open", ErrConnectionLost), 0)
				}
				return
			}
		}
	}
}
