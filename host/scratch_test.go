package host

import (
	goruntime "runtime"
	"testing"
	"time"
)

func TestScratch(t *testing.T) {
	ctx := closeCtx(t)
	before := goruntime.NumGoroutine()
	p := mustLaunch(t, "count", Options{})
	st := newStream(0)
	src, err := p.OpenSource(ctx, map[string]string{"n": "1000"}, nil, st.handle)
	if err != nil {
		t.Fatal(err)
	}
	wait(t, src.Ended(), "END")
	begin := time.Now()
	err = p.Close(ctx)
	t.Log("close took", time.Since(begin), err)
	for goruntime.NumGoroutine() > before {
		time.Sleep(time.Millisecond)
	}
	t.Log("goroutines gone after", time.Since(begin))
}
