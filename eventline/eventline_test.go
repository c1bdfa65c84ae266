package eventline

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/plugctl/plugctl/wire"
)

func TestRoundTrip(t *testing.T) {
	at := time.Date(2026, 12, 2, 13, 25, 56, 123456789, time.UTC).UnixNano()
	for _, e := range []wire.Event{
		{Position: 42, Time: at, Kind: "tick", Payload: []byte(`{"seq":42,"note":"a\nb"}`)},
		{Position: 1, Time: at, Kind: "raw", Payload: []byte{0, 1, 2, 0xff}},
		{Position: 2, Time: at, Kind: "ping"},
		{Position: 3, Time: at, Kind: "m", Payload: []byte(`[1,2]`), Metadata: map[string]string{"k": "v"}},
		{Position: 4, Time: at, Kind: "spaced", Payload: []byte("{ \"a\": 1 }\n")}, // JSON, but not byte for byte on one line
	} {
		l := FromEvent(7, &e)
		b := Append(nil, &l)
		if strings.Count(string(b), "\n") != 1 || b[len(b)-1] != '\n' {
			t.Fatalf("%q is not one line", b)
		}
		back, err := Parse(b)
		if err != nil {
			t.Fatalf("Parse(%s): %v", b, err)
		}
		got, err := back.Event()
		if err != nil {
			t.Fatal(err)
		}
		if back.Instance != 7 || !reflect.DeepEqual(got, e) && !(len(got.Payload) == 0 && len(e.Payload) == 0) {
			t.Errorf("round trip of %+v gave %+v (line %s)", e, got, b)
		}
	}
}

func TestFromEventForm(t *testing.T) {
	e := wire.Event{Position: 9, Time: time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC).UnixNano(), Kind: "tick", Payload: []byte(`{"seq":9}`)}
	l := FromEvent(1, &e)
	got := string(Append(nil, &l))
	want := `{"instance":1,"position":9,"time":"2026-01-02T03:04:05.000000006Z","kind":"tick","payload":{"seq":9}}` + "\n"
	if got != want {
		t.Errorf("line\n%s want\n%s", got, want)
	}
}

func TestParseRefuses(t *testing.T) {
	for line, want := range map[string]string{
		`{"kind":"tick","paylod":{}}`:                       `unknown field "paylod"`,
		`{"position":1}`:                                    `"kind" is missing`,
		`{"kind":"x","payload":{},"payload_base64":"AA=="}`: "not both",
		`not json`:                            "not an event line",
		`{"kind":"x"} {"kind":"y"}`:           "more than one",
		`{"kind":"x","instance":70000}`:       "not an event line",
		`{"kind":"x","time":"yesterday"}`:     "",
		`{"kind":"x","payload_base64":"***"}`: "",
	} {
		l, err := Parse([]byte(line))
		if err == nil {
			_, err = l.Event()
		}
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: err %v, want one saying %q", line, err, want)
		}
	}
}
