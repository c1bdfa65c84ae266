package manifest

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/BurntSushi/toml"
)

// Load reads and checks the manifest at path. A manifest with problems gives
// an *Errors listing all of them; a file that cannot be read gives the
// error from os.ReadFile.
func Load(path string) (*Manifest, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return Parse(path, data)
}

// Parse checks the manifest in data; path only names the file in messages.
// It returns either a checked Manifest or an *Errors with every problem
// found, each located at file:line:col.
func Parse(path string, data []byte) (*Manifest, error) {
	// A checkout on Windows may turn line ends into CRLF, which TOML
	// reads as newlines, but keeps in multi-line strings; normalised
	// here, the same manifest gives the same specification and files on
	// every system. Nothing else can hold a raw CR: TOML refuses it in
	// other strings, and an escaped "\r" stays.
	data = bytes.ReplaceAll(data, []byte("\r\n"), []byte("\n"))

	// The document is decoded into maps rather than structs: struct decoding
	// matches keys case-insensitively and would accept "Type" for "type",
	// and walking the maps lets every key, known or not, be checked in one
	// pass. MetaData.Undecoded would report nothing for a map target.
	pos := newPositions(string(data))
	pos.scanKeys()
	var raw map[string]any
	if _, err := toml.Decode(string(data), &raw); err != nil {
		return nil, &Errors{List: []*Error{syntaxError(path, pos, err)}}
	}
	c := &checker{file: path, pos: pos}
	m := c.manifest(raw)
	if len(c.errs) > 0 {
		sort.SliceStable(c.errs, func(i, j int) bool {
			a, b := c.errs[i], c.errs[j]
			return a.Line < b.Line || a.Line == b.Line && a.Col < b.Col
		})
		return nil, &Errors{List: c.errs}
	}
	return m, nil
}

// syntaxError turns the decoder's error into an *Error. Nothing can be
// checked in a document that does not parse, so it is the only one.
func syntaxError(path string, pos *positions, err error) *Error {
	e := &Error{File: path, Line: 1, Col: 1, Msg: err.Error(), Hint: "see https://toml.io for the syntax"}
	var pe toml.ParseError
	if errors.As(err, &pe) {
		e.Msg = "invalid TOML: " + pe.Message
		e.Line, e.Col = max(pe.Position.Line, 1), max(pe.Position.Col, 1)
		// The decoder's column is off when the error starts a line (it is
		// counted from the line before), so it is computed again from the
		// byte offset, which is right, whenever both agree on the line.
		if at := pos.at(pe.Position.Start); at.line == pe.Position.Line {
			e.Col = at.col
		}
		redefined(e, pos, pe.Message)
	}
	return e
}

// redefinedRE matches the decoder's messages about a key defined twice.
var redefinedRE = regexp.MustCompile(`^Key '(.+)' (has already been defined|was already created and cannot be used as an array)\.$`)

// redefined rewrites e, at the second definition of a key, in plugctl's
// form when msg is the decoder's message about it: the key, where it was
// first defined, and what to do.
func redefined(e *Error, pos *positions, msg string) {
	m := redefinedRE.FindStringSubmatch(msg)
	if m == nil {
		return
	}
	off, ok := pos.first[m[1]]
	if !ok {
		return
	}
	e.Key, e.Hint = m[1], "remove one of them"
	first := pos.at(off).line
	if m[2] == "has already been defined" {
		e.Msg = fmt.Sprintf("defined twice, first at line %d", first)
		return
	}
	e.Msg = fmt.Sprintf("[[%s]] declares an array of tables, but %s is a table since line %d", m[1], m[1], first)
	what := map[string]string{"events": "event kind", "config": "parameter", "global": "parameter"}[m[1]]
	if what == "" {
		what = "entry"
	}
	e.Hint = fmt.Sprintf("declare each %s as a table of its own: [%s.<name>], not [[%s]]", what, m[1], m[1])
}

// positions turns byte offsets into lines and columns and, once scanKeys
// has run, knows where each key of the document first appears.
// BurntSushi/toml keeps the key positions it records private, so the source
// is scanned again here.
type positions struct {
	src        string
	lineStarts []int          // byte offset of each line's first byte
	first      map[string]int // toml.Key(path).String() → offset of the key
}

type position struct{ line, col int }

func (a position) before(b position) bool {
	return a.line < b.line || a.line == b.line && a.col < b.col
}

// newPositions indexes the lines of src. A UTF-8 byte order mark is skipped,
// as the decoder skips it, so that offsets and columns agree with its own.
func newPositions(src string) *positions {
	src = strings.TrimPrefix(src, "\xef\xbb\xbf")
	p := &positions{src: src, lineStarts: []int{0}, first: map[string]int{}}
	for i := 0; i < len(src); i++ {
		if src[i] == '\n' {
			p.lineStarts = append(p.lineStarts, i+1)
		}
	}
	return p
}

// scanKeys finds the keys. It is meant for text the decoder accepted, and
// needs no more than that to be right.
func (p *positions) scanKeys() {
	s := &scanner{src: p.src, first: p.first}
	s.document()
}

// of returns where key first appears. A key the scan missed falls back to its
// nearest ancestor, and the document's start when there is none, so an error
// is never without a place.
func (p *positions) of(key []string) position {
	for n := len(key); n > 0; n-- {
		if off, ok := p.first[toml.Key(key[:n]).String()]; ok {
			return p.at(off)
		}
	}
	return position{line: 1, col: 1}
}

// at converts a byte offset into a position.
func (p *positions) at(off int) position {
	line := sort.Search(len(p.lineStarts), func(i int) bool { return p.lineStarts[i] > off })
	if line == 0 { // a negative offset
		return position{line: 1, col: 1}
	}
	return position{line: line, col: off - p.lineStarts[line-1] + 1}
}

// scanner walks a TOML document just far enough to note where keys start:
// it skips over values, stepping into inline tables (whose keys it notes)
// and arrays (whose keys it does not: they are not addressable by path).
// It never fails; on text the decoder rejected it stops at the end without
// looping or panicking.
type scanner struct {
	src   string
	i     int
	first map[string]int
}

func (s *scanner) document() {
	var table []string
	for s.i < len(s.src) {
		start := s.i
		s.blank()
		switch {
		case s.i >= len(s.src):
		case s.src[s.i] == '[': // [table] or [[array.of.tables]]
			s.i++
			s.skip("[")
			table = s.key(nil, true)
			s.skip(" \t]")
		default: // key = value
			k := s.key(table, true)
			s.skip(" \t=")
			s.value(join(table, k), true)
		}
		if s.i == start {
			s.i++
		}
	}
}

// key reads a dotted key, noting where each of its prefixes, below prefix,
// starts when note is set.
func (s *scanner) key(prefix []string, note bool) []string {
	var k []string
	for {
		s.skip(" \t")
		at := s.i
		seg, ok := s.keyPart()
		if !ok {
			return k
		}
		k = append(k, seg)
		if note {
			path := toml.Key(join(prefix, k)).String()
			if _, seen := s.first[path]; !seen {
				s.first[path] = at
			}
		}
		s.skip(" \t")
		if !strings.HasPrefix(s.src[s.i:], ".") {
			return k
		}
		s.i++
	}
}

func (s *scanner) keyPart() (string, bool) {
	start := s.i
	switch {
	case s.i >= len(s.src):
		return "", false
	case s.src[s.i] == '"':
		return unescape(s.basicString()), true
	case s.src[s.i] == '\'':
		return s.literalString(), true
	}
	for s.i < len(s.src) && isBareKeyChar(s.src[s.i]) {
		s.i++
	}
	return s.src[start:s.i], s.i > start
}

// value skips one value. The keys of an inline table are noted under path
// when note is set.
func (s *scanner) value(path []string, note bool) {
	rest := s.src[s.i:]
	switch {
	case rest == "":
	case strings.HasPrefix(rest, `"""`):
		s.multiline(`"""`)
	case strings.HasPrefix(rest, `'''`):
		s.multiline(`'''`)
	case rest[0] == '"':
		s.basicString()
	case rest[0] == '\'':
		s.literalString()
	case rest[0] == '[':
		s.i++
		s.items("]", func() { s.value(nil, false) })
	case rest[0] == '{':
		s.i++
		s.items("}", func() {
			k := s.key(path, note)
			s.skip(" \t=")
			s.value(join(path, k), note)
		})
	default: // number, bool or date-time, which may hold a space
		for s.i < len(s.src) && !strings.ContainsRune(",]}#\r\n", rune(s.src[s.i])) {
			s.i++
		}
	}
}

// items skips the comma-separated items of an array or inline table, up to
// and including end. Both may span lines and hold comments since TOML 1.1.
func (s *scanner) items(end string, item func()) {
	for {
		s.blank()
		if s.i >= len(s.src) {
			return
		}
		if strings.HasPrefix(s.src[s.i:], end) {
			s.i++
			return
		}
		start := s.i
		item()
		s.blank()
		s.skip(",")
		if s.i == start {
			s.i++
		}
	}
}

// basicString skips a "..." string and returns its text, escapes undecoded.
func (s *scanner) basicString() string {
	start := s.i + 1
	for s.i++; s.i < len(s.src); s.i++ {
		switch s.src[s.i] {
		case '\\':
			s.i++
		case '"':
			s.i++
			return s.src[start : s.i-1]
		case '\n':
			return s.src[start:s.i]
		}
	}
	s.i = len(s.src) // an escape at the end may have stepped past it
	return s.src[min(start, s.i):]
}

// literalString skips a '...' string, which has no escapes, and returns its
// text.
func (s *scanner) literalString() string {
	start := s.i + 1
	for s.i++; s.i < len(s.src); s.i++ {
		switch s.src[s.i] {
		case '\'':
			s.i++
			return s.src[start : s.i-1]
		case '\n':
			return s.src[start:s.i]
		}
	}
	return s.src[min(start, len(s.src)):]
}

// multiline skips a multi-line string, delimited by three double quotes
// (with escapes) or three single quotes (without). Up to two quotes right
// before the closing delimiter belong to the content, so a run of up to five
// quotes ends it.
func (s *scanner) multiline(delim string) {
	for s.i += 3; s.i < len(s.src); s.i++ {
		if delim == `"""` && s.src[s.i] == '\\' {
			s.i++
			continue
		}
		if strings.HasPrefix(s.src[s.i:], delim) {
			s.i += 3
			for n := 0; n < 2 && s.i < len(s.src) && s.src[s.i] == delim[0]; n++ {
				s.i++
			}
			return
		}
	}
	s.i = len(s.src) // an escape at the end may have stepped past it
}

// blank skips white space, line ends and comments.
func (s *scanner) blank() {
	for s.i < len(s.src) {
		switch s.src[s.i] {
		case ' ', '\t', '\r', '\n':
			s.i++
		case '#':
			for s.i < len(s.src) && s.src[s.i] != '\n' {
				s.i++
			}
		default:
			return
		}
	}
}

// skip skips any run of the bytes in set.
func (s *scanner) skip(set string) {
	for s.i < len(s.src) && strings.IndexByte(set, s.src[s.i]) >= 0 {
		s.i++
	}
}

func isBareKeyChar(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '-'
}

// unescape decodes the escapes of a TOML basic string, so that a quoted key
// is found under the name the decoder gave it.
func unescape(raw string) string {
	if !strings.Contains(raw, `\`) {
		return raw
	}
	var b strings.Builder
	for i := 0; i < len(raw); i++ {
		if raw[i] != '\\' || i+1 >= len(raw) {
			b.WriteByte(raw[i])
			continue
		}
		i++
		digits := 0
		switch raw[i] {
		case 'b':
			b.WriteByte('\b')
		case 't':
			b.WriteByte('\t')
		case 'n':
			b.WriteByte('\n')
		case 'f':
			b.WriteByte('\f')
		case 'r':
			b.WriteByte('\r')
		case 'e':
			b.WriteByte(0x1b)
		case 'x':
			digits = 2
		case 'u':
			digits = 4
		case 'U':
			digits = 8
		default: // \" and \\
			b.WriteByte(raw[i])
		}
		if digits == 0 || i+digits >= len(raw) {
			continue
		}
		if n, err := strconv.ParseUint(raw[i+1:i+1+digits], 16, 32); err == nil {
			b.WriteRune(rune(n))
		}
		i += digits
	}
	return b.String()
}

// join returns a new slice holding a then b, so that paths built from a
// shared prefix never overwrite each other.
func join(a, b []string) []string {
	return append(append(make([]string, 0, len(a)+len(b)), a...), b...)
}

// KeyPositions locates keys in a TOML document the decoder accepted, for
// the other TOML files plugctl reads (registry entries): the same scan
// that places the manifest's own problems.
type KeyPositions struct{ p *positions }

// NewKeyPositions scans src.
func NewKeyPositions(src string) KeyPositions {
	p := newPositions(src)
	p.scanKeys()
	return KeyPositions{p}
}

// Key returns the line and column where the key path is first set, or its
// nearest ancestor's when the path is not, and 1:1 when neither is.
func (k KeyPositions) Key(path ...string) (line, col int) {
	at := k.p.of(path)
	return at.line, at.col
}

// Offset returns the line and column of a byte offset, as the decoder
// reports offsets (after a byte order mark).
func (k KeyPositions) Offset(off int) (line, col int) {
	at := k.p.at(off)
	return at.line, at.col
}
