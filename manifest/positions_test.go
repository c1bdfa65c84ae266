package manifest

import (
	"fmt"
	"strings"
	"testing"

	"github.com/BurntSushi/toml"
)

// TestPositions checks the scanner on the TOML forms that could mislead it:
// text that looks like keys inside strings and comments, multi-line values,
// quoted keys, inline tables, CRLF line ends and a byte order mark.
func TestPositions(t *testing.T) {
	src := "\xef\xbb\xbf" + `# [commented.out] = 1
a = 1
"quoted key" = """
[not.a.table]
b = 2 """
'lit.key' = '''
c = 3 '''''
d = [
  "x", # [e]
  { f = 1 },
  1979-05-27 07:32:00Z,
]
	g . "h\u0041" . i = { j = "}", k = { l = [1] },
  m = 2 }
[ t . "u.v" ]
w = 'x'
[[arr]]
y = 1` + "\r\nz = \"\\\"\" \r\n"
	want := map[string]string{
		"a":                "2:1",
		`"quoted key"`:     "3:1",
		`"lit.key"`:        "6:1",
		"d":                "8:1",
		"g":                "13:2",
		"g.hA":             "13:6",
		"g.hA.i":           "13:18",
		"g.hA.i.j":         "13:24",
		"g.hA.i.k":         "13:33",
		"g.hA.i.k.l":       "13:39",
		"g.hA.i.m":         "14:3",
		"t":                "15:3",
		`t."u.v"`:          "15:7",
		`t."u.v".w`:        "16:1",
		"arr":              "17:3",
		"arr.y":            "18:1",
		"arr.z":            "19:1",
		"commented":        "",
		"not.a.table":      "",
		"b":                "",
		"c":                "",
		"e":                "",
		"d.f":              "",
		"g.hA.i.k.l.extra": "13:39", // falls back to its nearest ancestor
	}
	var raw map[string]any
	md, err := toml.Decode(src, &raw)
	if err != nil {
		t.Fatalf("the test document is not valid TOML: %v", err)
	}
	// The decoder's own reading of the document, to show what the scanner
	// is up against.
	var keys []string
	for _, k := range md.Keys() {
		keys = append(keys, k.String())
	}
	if got, want := strings.Join(keys, " "), `a "quoted key" "lit.key" d d.f g.hA.i g.hA.i.j g.hA.i.k g.hA.i.k.l g.hA.i.m t."u.v" t."u.v".w arr arr.y arr.z`; got != want {
		t.Errorf("the decoder saw keys %s, want %s", got, want)
	}
	pos := newPositions(src)
	pos.scanKeys()
	for key, want := range want {
		k := parseKey(t, key)
		_, found := pos.first[toml.Key(k).String()]
		if want == "" {
			if found {
				t.Errorf("%s: found, but it is not a key", key)
			}
			continue
		}
		p := pos.of(k)
		if got := fmt.Sprintf("%d:%d", p.line, p.col); got != want {
			t.Errorf("%s: at %s, want %s", key, got, want)
		}
	}
}

func parseKey(t *testing.T, s string) []string {
	var m map[string]any
	md, err := toml.Decode(s+" = 0", &m)
	if err != nil {
		t.Fatal(err)
	}
	return md.Keys()[len(md.Keys())-1]
}
