package manifest

import (
	"bytes"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/BurntSushi/toml"
)

// FuzzParse checks that Parse never panics and always answers with either a
// manifest or an *Errors whose errors are located inside the file and
// sorted, and that the scanner finds every key the decoder sees. Seeds are
// in testdata/fuzz/FuzzParse.
func FuzzParse(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := Parse("fuzz.toml", data)
		if err != nil {
			checkErrors(t, data, m, err)
		} else {
			checkManifest(t, m)
		}
		checkScanner(t, data)
	})
}

func checkErrors(t *testing.T, data []byte, m *Manifest, err error) {
	var errs *Errors
	if !errors.As(err, &errs) || len(errs.List) == 0 {
		t.Fatalf("error %T %v, want a non-empty *Errors", err, err)
	}
	if m != nil {
		t.Fatalf("a manifest and an error")
	}
	lines := bytes.Count(data, []byte("\n")) + 1
	for i, e := range errs.List {
		if e.File != "fuzz.toml" || e.Msg == "" || e.Line < 1 || e.Line > lines || e.Col < 1 {
			t.Fatalf("bad error %+v in a file of %d lines", e, lines)
		}
		if i > 0 {
			p := errs.List[i-1]
			if e.Line < p.Line || e.Line == p.Line && e.Col < p.Col {
				t.Fatalf("errors out of order:\n%v", err)
			}
		}
	}
}

func checkManifest(t *testing.T, m *Manifest) {
	if !pluginNameRE.MatchString(m.Name) || !slices.Contains(kinds, m.Kind) || !semverRE.MatchString(m.Version) || len(m.Events) == 0 {
		t.Fatalf("accepted a manifest that breaks the rules: %+v", m)
	}
	for _, ps := range [][]Param{m.Config, m.Global} {
		for i, p := range ps {
			if !slices.Contains(paramTypes, p.Type) || !paramNameRE.MatchString(p.Name) || i > 0 && ps[i-1].Name >= p.Name {
				t.Fatalf("bad or unsorted parameter %+v", p)
			}
		}
	}
	for i, e := range m.Events {
		if !kindNameRE.MatchString(e.Name) || i > 0 && m.Events[i-1].Name >= e.Name {
			t.Fatalf("bad or unsorted event kind %+v", e)
		}
		for _, f := range e.Fields {
			if !fieldNameRE.MatchString(f.Name) || !slices.Contains(fieldTypes, f.Type) {
				t.Fatalf("bad field %+v of event kind %s", f, e.Name)
			}
		}
	}
}

// checkScanner checks that every key of a document the decoder accepts is
// found, at text that spells it, except keys inside arrays, which the
// checker never needs to place. The decoder lists keys in the order they
// are defined, so the first definitions must be found in increasing order:
// a key found too early (say, in a string that looks like a key) breaks it.
func checkScanner(t *testing.T, data []byte) {
	var raw map[string]any
	md, err := toml.Decode(string(data), &raw)
	if err != nil {
		return
	}
	src := strings.TrimPrefix(string(data), "\xef\xbb\xbf")
	pos := newPositions(string(data))
	pos.scanKeys()
	seen := map[string]bool{} // keys defined, and their prefixes
	last := -1                // offset of the last key first defined
keys:
	for _, k := range md.Keys() {
		for i := 1; i < len(k); i++ {
			if md.Type(k[:i]...) == "Array" {
				continue keys
			}
		}
		off, ok := pos.first[k.String()]
		if !ok {
			t.Fatalf("key %s not found", k)
		}
		if name := k[len(k)-1]; !strings.HasPrefix(src[off:], name) && src[off] != '"' && src[off] != '\'' {
			t.Fatalf("key %s found at %q", k, src[off:min(off+20, len(src))])
		}
		if !seen[k.String()] { // not a table defined again, nor one a longer key made first
			if off <= last {
				t.Fatalf("key %s found at offset %d, before the key defined before it (%d)", k, off, last)
			}
			last = off
		}
		for i := 1; i <= len(k); i++ {
			seen[k[:i].String()] = true
		}
	}
}
