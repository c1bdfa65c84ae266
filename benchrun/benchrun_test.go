package benchrun

import (
	"bytes"
	"context"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/plugctl/plugctl/sdk"
	"github.com/plugctl/plugctl/wire"
)

// envFixture makes the test binary a plugin: a polled source that sends
// 64-byte events as fast as the host takes them, without end ("flood"),
// ending after 5 ("five"), or failing 2 s after it opened ("fail-late").
const envFixture = "BENCHRUN_TEST_FIXTURE"

func TestMain(m *testing.M) {
	if mode := os.Getenv(envFixture); mode != "" {
		sdk.Main(sdk.Plugin{
			Spec: wire.Spec{Name: "flood", Version: "1.0.0", Role: wire.RoleSource,
				Events: []wire.EventKind{{Name: "tick"}}},
			Source: func(o sdk.Open) (sdk.Source, error) {
				f := &flood{next: o.ResumeFrom + 1}
				switch mode {
				case "five":
					f.last = 5
				case "fail-late":
					f.failAt = time.Now().Add(2 * time.Second)
				}
				return f, nil
			},
		})
		return
	}
	os.Exit(m.Run())
}

type flood struct {
	next, last uint64 // last 0: no end
	failAt     time.Time
}

func (f *flood) NextBatch(b *sdk.Batch) error {
	payload := make([]byte, 64)
	now := time.Now().UnixNano()
	if !f.failAt.IsZero() && time.Now().After(f.failAt) {
		return errors.New("sensor unplugged")
	}
	for !b.Full() {
		if f.last != 0 && f.next > f.last {
			if b.Len() > 0 {
				return nil
			}
			return sdk.ErrEndOfStream
		}
		if err := b.Append(f.next, now, 0, payload); err != nil {
			if errors.Is(err, sdk.ErrBatchFull) {
				return nil
			}
			return err
		}
		f.next++
	}
	return nil
}

// cancelAt is a progress writer that cancels when a line names round n.
type cancelAt struct {
	n      string
	cancel context.CancelFunc
}

func (c *cancelAt) Write(b []byte) (int, error) {
	if bytes.Contains(b, []byte("round "+c.n+"/")) {
		c.cancel()
	}
	return len(b), nil
}

// TestRunInterrupted: an interrupt during a later round gives the figures
// of the rounds that finished and an error saying so; during the first,
// no figures, and an error that says there are none.
func TestRunInterrupted(t *testing.T) {
	t.Setenv(envFixture, "flood")
	for _, tc := range []struct {
		at         string // the round during which ctx ends
		wantRounds int    // rounds in the result; 0: no result
		wantErr    string
	}{
		{"2", 1, "interrupted in round 2 of 3: the figures are of the 1 round before it"},
		{"3", 2, "interrupted in round 3 of 3: the figures are of the 2 rounds before it"},
		{"1", 0, "interrupted in round 1 of 3, before any round finished: no figures"},
	} {
		ctx, cancel := context.WithCancel(context.Background())
		res, err := Run(ctx, Options{
			Command:  []string{os.Args[0]},
			Rounds:   3,
			Duration: 3 * time.Second,
			Progress: &cancelAt{n: tc.at, cancel: cancel},
		})
		cancel()
		if !errors.Is(err, ErrInterrupted) || err.Error() != tc.wantErr {
			t.Errorf("interrupted in round %s: error %v, want %q", tc.at, err, tc.wantErr)
		}
		switch {
		case tc.wantRounds == 0 && res != nil:
			t.Errorf("interrupted in round %s: a result of %d rounds, want none", tc.at, res.Rounds)
		case tc.wantRounds > 0 && (res == nil || res.Rounds != tc.wantRounds):
			t.Errorf("interrupted in round %s: result %+v, want %d rounds", tc.at, res, tc.wantRounds)
		case tc.wantRounds > 0 && res.EventsPerSec.Min <= 0:
			t.Errorf("interrupted in round %s: events/s %+v in the rounds that finished", tc.at, res.EventsPerSec)
		}
	}
}

// TestRunSourceEnds: a source that ends before the measured window is
// told so, not that it waits between events.
func TestRunSourceEnds(t *testing.T) {
	t.Setenv(envFixture, "five")
	res, err := Run(context.Background(), Options{Command: []string{os.Args[0]}, Rounds: 1, Duration: time.Second})
	want := "the source ended its stream (END) during the warm-up, after 5 events"
	if res != nil || err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("Run = %+v, %v; want no result and %q", res, err, want)
	}
}

// TestRunSourceFails: an instance that fails partway gives no figures
// (they would be of part of the round) but its failure.
func TestRunSourceFails(t *testing.T) {
	t.Setenv(envFixture, "fail-late")
	res, err := Run(context.Background(), Options{Command: []string{os.Args[0]}, Rounds: 1, Duration: 3 * time.Second})
	want := "instance 1 failed: sensor unplugged"
	if res != nil || err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("Run = %+v, %v; want no result and %q", res, err, want)
	}
}
