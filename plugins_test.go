package main

import (
	"time"

	"github.com/plugctl/plugctl/sdk"
	"github.com/plugctl/plugctl/wire"
)

// progressPlugin is a source that emits an event every 10 ms and reports
// its progress, so that plugctl run has a bar to draw. The test binary
// runs it when started under the name "progress-plugin".
func progressPlugin() {
	sdk.Main(sdk.Plugin{
		Spec:   wire.Spec{Name: "progress", Version: "1.0.0", Events: []wire.EventKind{{Name: "tick"}}},
		Source: func(sdk.Open) (sdk.Source, error) { return &progressSource{}, nil },
	})
}

type progressSource struct{ n uint64 }

func (s *progressSource) NextBatch(b *sdk.Batch) error {
	time.Sleep(10 * time.Millisecond)
	s.n++
	println("a log line", s.n)
	return b.Append(s.n, time.Now().UnixNano(), 0, []byte(`{"n":1}`))
}

func (s *progressSource) Progress() (float64, string) { return 42, "reading part 3 of 7" }
