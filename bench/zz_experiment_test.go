package bench

import (
	"testing"

	"github.com/plugctl/plugctl/runtime"
)

func BenchmarkExperimentCountOnly(b *testing.B) {
	for _, s := range sizes {
		b.Run(s.name, func(b *testing.B) {
			m := &benchMeter{b: b}
			got := 0
			runPlugctl(b, launch, nil, s.bytes, m, func(ev *runtime.Events) (bool, error) {
				got += ev.Len()
				return got >= b.N, nil
			})
			m.report()
		})
	}
}
