package devhost

import (
	"strings"
	"testing"
	"time"
)

func TestSummaryResumeFlags(t *testing.T) {
	for _, tc := range []struct {
		s    Summary
		want string
	}{
		{Summary{Role: "source", Last: map[int]uint64{1: 41}}, "--resume 41"},
		{Summary{Role: "source", Last: map[int]uint64{1: 41, 2: 7}}, "--resume 1=41 --resume 2=7"},
		{Summary{Role: "source", Last: map[int]uint64{2: 7}}, "--resume 2=7"}, // instance 1 printed nothing
		{Summary{Role: "source", Last: map[int]uint64{3: 9}}, "--resume 3=9"},
		{Summary{Role: "source", Last: map[int]uint64{}}, ""},
		{Summary{Role: "sink", Last: map[int]uint64{1: 5}}, ""}, // a sink is not resumed
	} {
		if got := tc.s.ResumeFlags(); got != tc.want {
			t.Errorf("%+v: ResumeFlags %q, want %q", tc.s.Last, got, tc.want)
		}
	}
}

func TestSummaryWrite(t *testing.T) {
	s := Summary{Role: "source", Why: "interrupt", Events: 200, Duration: 2 * time.Second, Last: map[int]uint64{1: 200}}
	var b strings.Builder
	s.Write(&b)
	want := "plugctl run: 200 events received in 2s (100/s), 0 errors; stopped by interrupt\n" +
		"  instance 1: last position 200\n" +
		"  continue with: --resume 200\n"
	if b.String() != want {
		t.Errorf("summary\n%s\nwant\n%s", b.String(), want)
	}
}
