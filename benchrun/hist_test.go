package benchrun

import (
	"math"
	"testing"
)

func TestBuckets(t *testing.T) {
	prev := -1
	for v := int64(0); v < 1<<20; v++ {
		b := bucketOf(v)
		if b < prev || b > prev+1 {
			t.Fatalf("bucketOf(%d) = %d after %d", v, b, prev)
		}
		if lo := lowOf(b); lo > v || lowOf(b+1) <= v {
			t.Fatalf("value %d in bucket %d of [%d, %d)", v, b, lo, lowOf(b+1))
		}
		prev = b
	}
	if b := bucketOf(math.MaxInt64); b >= len(hist{}.counts) {
		t.Fatalf("bucketOf(max) = %d, out of range", b)
	}
}

func TestQuantile(t *testing.T) {
	var h hist
	for v := int64(1); v <= 100000; v++ {
		h.add(v * 1000) // 1 µs to 100 ms
	}
	for _, c := range []struct{ q, want float64 }{{0.5, 50e6}, {0.99, 99e6}, {0.999, 99.9e6}} {
		got := h.quantile(c.q)
		if math.Abs(got-c.want)/c.want > 0.04 {
			t.Errorf("quantile(%v) = %v, want about %v", c.q, got, c.want)
		}
	}
}
