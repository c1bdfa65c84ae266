package sdk

import (
	"encoding/base64"
	"math"
	"strconv"
	"time"
	"unicode/utf8"
)

// The JSON encoders of event payloads. The AppendJSON methods generated for
// each event kind call them, one per field; each writes exactly what
// encoding/json writes for its type, byte for byte, without reflection and
// without allocating beyond growing dst.

// PayloadBuffer is the size of the stack buffer the generated Add and
// Emit functions encode a payload in, so that adding an event allocates
// nothing. A larger payload still works: the buffer then grows on the heap.
const PayloadBuffer = 1024

// hexDigits are the digits of \u escapes.
const hexDigits = "0123456789abcdef"

// jsonSafe marks the bytes AppendJSONString copies as they are: printable
// ASCII but for quote, backslash, <, > and &. A byte from 0x80 up starts a
// UTF-8 sequence, which is checked rune by rune.
var jsonSafe = func() (safe [256]bool) {
	for c := ' '; c < utf8.RuneSelf; c++ {
		safe[c] = c != '"' && c != '\\' && c != '<' && c != '>' && c != '&'
	}
	return safe
}()

// AppendJSONString appends s as a JSON string, escaped as encoding/json
// escapes it: quote, backslash and control characters; <, > and &, so that
// the JSON is safe inside HTML; U+2028 and U+2029, so that it is safe inside
// JavaScript; and each byte that is not valid UTF-8 becomes \ufffd.
func AppendJSONString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if jsonSafe[c] {
			i++
			continue
		}
		if c < utf8.RuneSelf {
			dst = append(dst, s[start:i]...)
			switch c {
			case '"', '\\':
				dst = append(dst, '\\', c)
			case '\b':
				dst = append(dst, '\\', 'b')
			case '\f':
				dst = append(dst, '\\', 'f')
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				// Other control characters, and <, > and &.
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hexDigits[r&0xF])
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

// AppendJSONStrings appends ss as encoding/json writes a []string: an array
// of strings, or null for a nil slice.
func AppendJSONStrings(dst []byte, ss []string) []byte {
	if ss == nil {
		return append(dst, "null"...)
	}
	dst = append(dst, '[')
	for i, s := range ss {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = AppendJSONString(dst, s)
	}
	return append(dst, ']')
}

// AppendJSONFloat appends f as encoding/json writes a float64: the shortest
// form that reads back as f, in 'e' notation below 1e-6 and from 1e21 up,
// with e-09 shortened to e-9. encoding/json refuses NaN and the infinities
// with an error; with no error to return, they are written as null.
func AppendJSONFloat(dst []byte, f float64) []byte {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return append(dst, "null"...)
	}
	format := byte('f')
	if abs := math.Abs(f); abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	dst = strconv.AppendFloat(dst, f, format, -1, 64)
	if format == 'e' {
		// e-09 becomes e-9, as encoding/json writes it.
		if n := len(dst); n >= 4 && dst[n-4] == 'e' && dst[n-3] == '-' && dst[n-2] == '0' {
			dst[n-2] = dst[n-1]
			dst = dst[:n-1]
		}
	}
	return dst
}

// AppendJSONTime appends t as encoding/json writes a time.Time: RFC 3339
// with nanoseconds, in quotes. encoding/json refuses a year outside 0 to
// 9999 and a zone offset of a day or more with an error; with no error to
// return, such a time is written as AppendFormat gives it.
func AppendJSONTime(dst []byte, t time.Time) []byte {
	dst = append(dst, '"')
	dst = t.AppendFormat(dst, time.RFC3339Nano)
	return append(dst, '"')
}

// AppendJSONBytes appends b as encoding/json writes a []byte: standard
// base64 in quotes, or null for a nil slice.
func AppendJSONBytes(dst, b []byte) []byte {
	if b == nil {
		return append(dst, "null"...)
	}
	dst = append(dst, '"')
	dst = base64.StdEncoding.AppendEncode(dst, b)
	return append(dst, '"')
}
