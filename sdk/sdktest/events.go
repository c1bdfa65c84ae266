package sdktest

import (
	"bytes"
	"encoding/json"
	"maps"
	"slices"
	"testing"

	"github.com/plugctl/plugctl/sdk"
	"github.com/plugctl/plugctl/wire"
)

// Event is a generated event type: P is *E, whose AppendJSON appends the
// event to dst as a JSON object.
type Event[E any] interface {
	*E
	AppendJSON(dst []byte) []byte
}

// Kinds checks that each kind in kinds, by name, is the index of the kind
// of that name in spec.Events, the kind table the host receives.
func Kinds(t testing.TB, spec wire.Spec, kinds map[string]sdk.Kind) {
	t.Helper()
	for _, name := range slices.Sorted(maps.Keys(kinds)) {
		k := kinds[name]
		if int(k) >= len(spec.Events) || spec.Events[k].Name != name {
			t.Errorf("kind %d is not %q in Spec().Events", k, name)
		}
	}
}

// AppendJSON checks that AppendJSON writes what json.Marshal writes for
// each sample, and that it appends to what dst holds.
func AppendJSON[E any, P Event[E]](t testing.TB, samples []E) {
	t.Helper()
	for i := range samples {
		e := P(&samples[i])
		want, err := json.Marshal(e)
		if err != nil {
			t.Fatalf("sample %d: json.Marshal: %v", i, err)
		}
		if got := e.AppendJSON(nil); !bytes.Equal(got, want) {
			t.Errorf("sample %d:\nAppendJSON   %s\njson.Marshal %s", i, got, want)
		}
		if got := e.AppendJSON([]byte("x")); string(got) != "x"+string(want) {
			t.Errorf("sample %d: AppendJSON after \"x\" = %s", i, got)
		}
	}
}

// AppendJSONAllocs checks that AppendJSON allocates nothing for any sample
// when dst has room.
func AppendJSONAllocs[E any, P Event[E]](t testing.TB, samples []E) {
	t.Helper()
	buf := make([]byte, 0, 4096)
	for i := range samples {
		e := P(&samples[i])
		if n := testing.AllocsPerRun(100, func() {
			buf = e.AppendJSON(buf[:0])
		}); n != 0 {
			t.Errorf("sample %d: AppendJSON allocates %v times, want 0", i, n)
		}
	}
}

// RoundTrip checks that json.Unmarshal reads what AppendJSON writes for
// each sample back as the same event.
func RoundTrip[E any, P Event[E]](t testing.TB, samples []E) {
	t.Helper()
	Decode[E, P](t, samples, "json.Unmarshal", func(payload []byte) (E, error) {
		var e E
		err := json.Unmarshal(payload, &e)
		return e, err
	})
}

// Decode checks that decode, a generated decoding function called name,
// reads what AppendJSON writes for each sample back as the same event.
func Decode[E any, P Event[E]](t testing.TB, samples []E, name string, decode func(payload []byte) (E, error)) {
	t.Helper()
	for i := range samples {
		payload := P(&samples[i]).AppendJSON(nil)
		got, err := decode(payload)
		if err != nil {
			t.Fatalf("sample %d: %s(%s): %v", i, name, payload, err)
		}
		if again := P(&got).AppendJSON(nil); !bytes.Equal(again, payload) {
			t.Errorf("sample %d: read back as %s, want %s", i, again, payload)
		}
	}
}

// BenchmarkAppendJSON measures AppendJSON on e, into a buffer with room;
// compare with BenchmarkMarshal.
func BenchmarkAppendJSON[E any, P Event[E]](b *testing.B, e E) {
	buf := make([]byte, 0, 4096)
	b.ReportAllocs()
	for range b.N {
		buf = P(&e).AppendJSON(buf[:0])
	}
	b.SetBytes(int64(len(buf)))
}

// BenchmarkMarshal measures encoding/json on e.
func BenchmarkMarshal[E any](b *testing.B, e E) {
	var out []byte
	b.ReportAllocs()
	for range b.N {
		var err error
		if out, err = json.Marshal(&e); err != nil {
			b.Fatal(err)
		}
	}
	b.SetBytes(int64(len(out)))
}
