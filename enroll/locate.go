package enroll

import (
	"strconv"
	"strings"
	"unicode/utf8"
)

// keyOffsets maps every key path set in src (joined by pathKey) to the byte
// offset of the first place that sets it: the key of a key/value pair, a
// dotted key's first segment, a key inside an inline table, or the [ of a
// table header. The decoder does not make its own positions public, so this
// is a small scanner of its own; it is only run on text the decoder has
// accepted, and on anything else it stops early rather than fail.
//
// It knows enough TOML to skip what could be mistaken for keys: comments,
// single- and multi-line strings of both kinds, arrays and inline tables
// over several lines, and quoted keys with escapes.
func keyOffsets(src string) map[string]int {
	s := &keyScanner{src: src, at: map[string]int{}}
	s.document()
	return s.at
}

// pathKey joins a key path into a map key; quoting keeps "a.b" (one key)
// apart from a.b (two).
func pathKey(path []string) string {
	q := make([]string, len(path))
	for i, k := range path {
		q[i] = strconv.Quote(k)
	}
	return strings.Join(q, ".")
}

// lineCol turns a byte offset in src into a 1-based line and column (in
// bytes), clamping offsets outside src.
func lineCol(src string, off int) (line, col int) {
	off = min(max(off, 0), len(src))
	before := src[:off]
	line = strings.Count(before, "\n") + 1
	col = off - (strings.LastIndexByte(before, '\n') + 1) + 1
	return line, col
}

type keyScanner struct {
	src string
	i   int
	at  map[string]int
}

func (s *keyScanner) eof() bool { return s.i >= len(s.src) }

func (s *keyScanner) peek() byte {
	if s.eof() {
		return 0
	}
	return s.src[s.i]
}

// record notes off as where path, and each of its prefixes, is first set.
func (s *keyScanner) record(path []string, off int) {
	for n := 1; n <= len(path); n++ {
		k := pathKey(path[:n])
		if _, ok := s.at[k]; !ok {
			s.at[k] = off
		}
	}
}

// blank skips spaces and tabs (and a \r, which may only precede \n).
func (s *keyScanner) blank() {
	for !s.eof() && (s.src[s.i] == ' ' || s.src[s.i] == '\t' || s.src[s.i] == '\r') {
		s.i++
	}
}

// space skips blanks, newlines and comments: what may separate the items
// of arrays and (since TOML 1.1) inline tables.
func (s *keyScanner) space() {
	for !s.eof() {
		switch s.src[s.i] {
		case ' ', '\t', '\r', '\n':
			s.i++
		case '#':
			s.line()
		default:
			return
		}
	}
}

// line skips to the start of the next line.
func (s *keyScanner) line() {
	if j := strings.IndexByte(s.src[s.i:], '\n'); j >= 0 {
		s.i += j + 1
	} else {
		s.i = len(s.src)
	}
}

func (s *keyScanner) document() {
	var table []string
	if strings.HasPrefix(s.src, "\uFEFF") {
		s.i = len("\uFEFF") // a byte order mark
	}
	for !s.eof() {
		s.blank()
		switch s.peek() {
		case 0:
			return
		case '\n':
			s.i++
		case '#':
			s.line()
		case '[':
			off := s.i
			s.i++
			if s.peek() == '[' {
				s.i++
			}
			table = s.key()
			s.record(table, off)
			s.line()
		default:
			start := s.i
			path := join(table, s.key())
			s.record(path, start)
			s.blank()
			if s.peek() != '=' {
				s.line() // not a key/value line after all; cannot happen in valid TOML
				continue
			}
			s.i++
			s.blank()
			s.value(path)
			s.line()
		}
	}
}

func join(a, b []string) []string {
	return append(append(make([]string, 0, len(a)+len(b)), a...), b...)
}

// key reads a dotted key, and always advances.
func (s *keyScanner) key() []string {
	var path []string
	for {
		s.blank()
		start := s.i
		var seg string
		switch s.peek() {
		case '"':
			seg = unescape(s.basicString())
		case '\'':
			s.i++
			j := strings.IndexAny(s.src[s.i:], "'\n")
			if j < 0 {
				j = len(s.src) - s.i
			}
			seg = s.src[s.i : s.i+j]
			s.i = min(s.i+j+1, len(s.src))
		default:
			for !s.eof() && !strings.ContainsRune(" \t\r\n.=]#\"'{}[,", rune(s.src[s.i])) {
				s.i++
			}
			seg = s.src[start:s.i]
		}
		if s.i == start && !s.eof() {
			s.i++ // a byte no key may hold: step over it
		}
		path = append(path, seg)
		s.blank()
		if s.peek() != '.' {
			return path
		}
		s.i++
	}
}

// basicString reads a single-line "..." string and returns its raw body.
func (s *keyScanner) basicString() string {
	s.i++ // "
	start := s.i
	for !s.eof() {
		switch s.src[s.i] {
		case '\\':
			s.i += 2
			continue
		case '"':
			body := s.src[start:s.i]
			s.i++
			return body
		case '\n':
			return s.src[start:s.i]
		}
		s.i++
	}
	s.i = len(s.src)
	return s.src[start:]
}

// value skips one value. The keys of an inline table are recorded under
// path; nil path records nothing (an inline table inside an array).
func (s *keyScanner) value(path []string) {
	switch {
	case strings.HasPrefix(s.src[s.i:], `"""`), strings.HasPrefix(s.src[s.i:], `'''`):
		q := s.src[s.i : s.i+3]
		s.i += 3
		for !s.eof() {
			if q[0] == '"' && s.src[s.i] == '\\' {
				s.i += 2
				continue
			}
			if strings.HasPrefix(s.src[s.i:], q) {
				s.i += 3
				for n := 0; n < 2 && s.peek() == q[0]; n++ {
					s.i++ // a body may end in up to two quotes
				}
				return
			}
			s.i++
		}
		s.i = len(s.src)
	case s.peek() == '"':
		s.basicString()
	case s.peek() == '\'':
		s.i++
		if j := strings.IndexAny(s.src[s.i:], "'\n"); j >= 0 {
			s.i += j + 1
		} else {
			s.i = len(s.src)
		}
	case s.peek() == '[':
		s.i++
		for {
			s.space()
			switch s.peek() {
			case 0:
				return
			case ']':
				s.i++
				return
			case ',':
				s.i++
				continue
			}
			before := s.i
			s.value(nil)
			if s.i == before {
				s.i++
			}
		}
	case s.peek() == '{':
		s.i++
		for {
			s.space()
			switch s.peek() {
			case 0:
				return
			case '}':
				s.i++
				return
			case ',':
				s.i++
				continue
			}
			start := s.i
			k := s.key()
			var sub []string
			if path != nil {
				sub = join(path, k)
				s.record(sub, start)
			}
			s.blank()
			if s.peek() == '=' {
				s.i++
			}
			s.blank()
			before := s.i
			s.value(sub)
			if s.i == before && !s.eof() {
				s.i++
			}
		}
	default:
		// A number, boolean or date and time. A date and its time may be
		// separated by a space: 2026-12-02 13:25:56Z.
		start := s.i
		for !s.eof() && !strings.ContainsRune(" \t\r\n,]}#", rune(s.src[s.i])) {
			s.i++
		}
		if s.i-start == 10 && s.src[start+4] == '-' && strings.HasPrefix(s.src[s.i:], " ") &&
			s.i+1 < len(s.src) && '0' <= s.src[s.i+1] && s.src[s.i+1] <= '9' {
			s.i++
			for !s.eof() && !strings.ContainsRune(" \t\r\n,]}#", rune(s.src[s.i])) {
				s.i++
			}
		}
	}
}

// unescape decodes the escapes of a TOML basic string body, as far as they
// matter to compare keys; a malformed escape is kept as written.
func unescape(body string) string {
	if !strings.Contains(body, `\`) {
		return body
	}
	var b strings.Builder
	for i := 0; i < len(body); i++ {
		c := body[i]
		if c != '\\' || i+1 >= len(body) {
			b.WriteByte(c)
			continue
		}
		i++
		switch e := body[i]; e {
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
		case '"', '\\':
			b.WriteByte(e)
		case 'x', 'u', 'U':
			n := 2 // \xHH
			switch e {
			case 'u':
				n = 4
			case 'U':
				n = 8
			}
			if i+1+n > len(body) {
				b.WriteByte('\\')
				b.WriteByte(e)
				continue
			}
			v, err := strconv.ParseUint(body[i+1:i+1+n], 16, 32)
			if err != nil || !utf8.ValidRune(rune(v)) {
				b.WriteByte('\\')
				b.WriteByte(e)
				continue
			}
			b.WriteRune(rune(v))
			i += n
		default:
			b.WriteByte('\\')
			b.WriteByte(e)
		}
	}
	return b.String()
}
