package acceptance

import (
	"errors"
	"fmt"
	"sync"

	"github.com/plugctl/plugctl/manifest"
	"github.com/plugctl/plugctl/sdk"
	"github.com/plugctl/plugctl/wire"
)

// goodEmitters is how many goroutines emit a good source's burst at once.
const goodEmitters = 50

// runGood serves a plugin built with the SDK, as a plugin author
// would write it: the baseline every check must pass. It never returns.
func runGood(m *manifest.Manifest) {
	spec := m.Spec()
	p := sdk.Plugin{
		Spec:  spec,
		Setup: func(global map[string]string) error { return validateFixture(spec.Global, global, "") },
	}
	if spec.Role == wire.RoleSource {
		p.Run = func(o sdk.Open, sink sdk.EventSink, s *sdk.Session) error {
			if err := validateFixture(spec.Params, o.Settings, ""); err != nil {
				return err
			}
			return goodSource(o, sink, s)
		}
	} else {
		p.Sink = func(o sdk.Open) (sdk.Sink, error) {
			if err := validateFixture(spec.Params, o.Settings, ""); err != nil {
				return nil, err
			}
			return &goodSink{retried: map[uint64]bool{}}, nil
		}
	}
	sdk.Main(p)
}

// goodSource emits the burst from many goroutines at once, then ticks,
// then ends. Positions are the SDK's: after ResumeFrom, one by one, so
// a resumed stream re-delivers the same positions.
func goodSource(o sdk.Open, sink sdk.EventSink, s *sdk.Session) error {
	set := parseFixtureSettings(o.Settings)
	limit, pos := set.burst+set.ticks, uint64(0)
	if o.Resuming {
		pos = o.ResumeFrom
	}
	burst := min(set.burst, limit-min(pos, limit))
	var wg sync.WaitGroup
	errs := make(chan error, goodEmitters)
	for g := range uint64(goodEmitters) {
		wg.Go(func() {
			for i := g; i < burst; i += goodEmitters {
				if err := sink.Emit("tick", fmt.Appendf(nil, `{"seq":%d}`, i)); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return err
	}
	for pos += burst; pos < limit; pos++ {
		if !s.Sleep(set.interval) {
			return nil
		}
		if err := sink.Emit("tick", fmt.Appendf(nil, `{"seq":%d}`, pos+1)); err != nil {
			return err
		}
		sink.Progress(float64(pos+1)/float64(limit)*100, "")
	}
	return sdk.ErrEndOfStream
}

// goodSink answers the first attempt of every batch starting at a position
// 3n+1 with retry, so that hosts' retrying is exercised.
type goodSink struct {
	mu      sync.Mutex
	retried map[uint64]bool
}

func (k *goodSink) Write(b *wire.Events) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	if first := b.First(); first%3 == 1 && !k.retried[first] {
		k.retried[first] = true
		return sdk.Retry(errors.New("busy, try again"))
	}
	return nil
}
