package sdk

import (
	"bytes"
	"encoding/json"
	"math"
	"testing"
	"time"
)

// TestAppendJSONStringBytes checks AppendJSONString on each byte value alone
// and on all of them in one string, where valid and invalid UTF-8 meet.
func TestAppendJSONStringBytes(t *testing.T) {
	var all []byte
	for b := range 256 {
		all = append(all, byte(b))
		s := string([]byte{byte(b)})
		want, _ := json.Marshal(s)
		if got := AppendJSONString(nil, s); !bytes.Equal(got, want) {
			t.Errorf("byte %#x: AppendJSONString = %s, json.Marshal gives %s", b, got, want)
		}
	}
	want, _ := json.Marshal(string(all))
	if got := AppendJSONString(nil, string(all)); !bytes.Equal(got, want) {
		t.Errorf("all bytes: AppendJSONString = %s, json.Marshal gives %s", got, want)
	}
}

// TestAppendJSONString checks AppendJSONString on the strings encoding/json
// escapes in its own ways.
func TestAppendJSONString(t *testing.T) {
	for _, v := range []string{
		"",
		"plain ASCII",
		"\"quoted\" \\back\\slashed/",
		"<script>&</script>",
		"\u2028\u2029 line and paragraph separators",
		"é ü ß 中文 😀",
		"\xff",
		"\xc3",
		"\xe2\x80",
		"\xed\xa0\x80 a surrogate",
		"\xf4\x90\x80\x80 beyond U+10FFFF",
		"ends in \u2028",
		"\x7f DEL",
		"� replacement character",
	} {
		want, err := json.Marshal(v)
		if err != nil {
			t.Fatalf("json.Marshal(%#v): %v", v, err)
		}
		if got := AppendJSONString(nil, v); !bytes.Equal(got, want) {
			t.Errorf("AppendJSONString(%#v) = %s, json.Marshal gives %s", v, got, want)
		}
	}
}

// TestAppendJSONFloat checks AppendJSONFloat around the points where
// encoding/json switches notation, and at the extremes.
func TestAppendJSONFloat(t *testing.T) {
	for _, v := range []float64{
		0.0,
		math.Copysign(0, -1),
		1.0,
		-1.5,
		0.1,
		1e-06,
		9.99e-07,
		1e-07,
		1e-09,
		1.5e-10,
		-2.5e-300,
		1e+20,
		1e+21,
		1.23456789125e+08,
		1e+300,
		9.007199254740992e+15,
		math.MaxFloat64,
		math.SmallestNonzeroFloat64,
		-math.MaxFloat64,
	} {
		want, err := json.Marshal(v)
		if err != nil {
			t.Fatalf("json.Marshal(%#v): %v", v, err)
		}
		if got := AppendJSONFloat(nil, v); !bytes.Equal(got, want) {
			t.Errorf("AppendJSONFloat(%#v) = %s, json.Marshal gives %s", v, got, want)
		}
	}
}

// TestAppendJSONFloatNotFinite checks that NaN and the infinities, which
// json.Marshal refuses, are written as null.
func TestAppendJSONFloatNotFinite(t *testing.T) {
	for _, f := range []float64{math.NaN(), math.Inf(1), math.Inf(-1)} {
		if got := AppendJSONFloat(nil, f); string(got) != "null" {
			t.Errorf("AppendJSONFloat(%v) = %s, want null", f, got)
		}
	}
}

// TestAppendJSONTime checks AppendJSONTime on the edges of the years
// encoding/json accepts, on fractions of a second and on zone offsets.
func TestAppendJSONTime(t *testing.T) {
	for _, v := range []time.Time{
		time.Time{},
		time.Date(0, time.March, 4, 5, 6, 7, 0, time.UTC),
		time.Date(9999, time.March, 4, 5, 6, 7, 999999999, time.UTC),
		time.Date(2024, time.March, 4, 5, 6, 7, 100, time.UTC),
		time.Date(2024, time.March, 4, 5, 6, 7, 120000000, time.FixedZone("", -12600)),
		time.Date(2024, time.March, 4, 5, 6, 7, 1, time.FixedZone("", 50400)),
		time.Date(1970, time.March, 4, 5, 6, 7, 0, time.FixedZone("", 3540)),
		time.Unix(1700000000, 5).UTC(),
	} {
		want, err := json.Marshal(v)
		if err != nil {
			t.Fatalf("json.Marshal(%#v): %v", v, err)
		}
		if got := AppendJSONTime(nil, v); !bytes.Equal(got, want) {
			t.Errorf("AppendJSONTime(%#v) = %s, json.Marshal gives %s", v, got, want)
		}
	}
}
