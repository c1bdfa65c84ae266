package generate

import (
	"bytes"
	"fmt"
	"go/format"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/dave/jennifer/jen"
)

// newGoFile starts a plugctl-owned file of the project's main package.
// fileDoc, when not empty, says what the file holds, in a comment between
// the header and the package clause that is not the package's documentation.
func newGoFile(p *project, fileDoc string) *jen.File {
	f := jen.NewFile("main")
	header := Header
	if fileDoc != "" {
		header += "\n"
		for _, line := range wrap(fileDoc, 74) {
			header += strings.TrimRight("\n// "+line, " ")
		}
	}
	// A comment starting with "//" is written as it is, blank line included.
	f.HeaderComment(header)
	f.ImportName(p.sdk, "sdk")
	f.ImportName(p.sdktest, "sdktest")
	f.ImportName(p.wire, "wire")
	// Formatting happens in renderGo, where a failure can name the file.
	f.NoFormat = true
	return f
}

// renderGo renders f and formats it with go/format, as gofmt would.
func renderGo(path string, f *jen.File) (File, error) {
	var b bytes.Buffer
	if err := f.Render(&b); err != nil {
		return File{}, fmt.Errorf("%s: %w", path, err)
	}
	src, err := formatGo(path, groupImports(b.Bytes()))
	if err != nil {
		return File{}, err
	}
	return File{Path: path, Data: src, Owner: Plugctl}, nil
}

// formatGo formats Go source. Generated code that does not format is a bug
// in plugctl; the error names the file so it can be found.
func formatGo(path string, src []byte) ([]byte, error) {
	out, err := format.Source(src)
	if err != nil {
		return nil, fmt.Errorf("%s: generated code does not format (a bug in plugctl): %w", path, err)
	}
	return out, nil
}

// comment adds text to g as line comments wrapped at about 77 columns; a
// blank line in text separates paragraphs.
func comment(g *jen.Group, text string) { commentWidth(g, text, 74) }

// commentWidth is comment with lines of at most width bytes of text, for
// comments that are indented.
func commentWidth(g *jen.Group, text string, width int) {
	for _, line := range wrap(text, width) {
		if line == "" {
			g.Comment("//")
		} else {
			// A leading "//" makes jennifer write the line as it is, so text
			// that itself starts with "//" or "/*" cannot change its form.
			g.Comment("// " + line)
		}
	}
}

// wrap splits text into lines of at most width bytes where words allow,
// keeping paragraphs (separated by a blank line) apart with an empty line.
// Its words are written as commentWord does, since every line goes into a
// comment.
func wrap(text string, width int) []string {
	text = strings.ReplaceAll(text, "\r\n", "\n")
	var lines []string
	for i, para := range strings.Split(strings.TrimSpace(text), "\n\n") {
		if i > 0 {
			lines = append(lines, "")
		}
		line := ""
		for _, w := range strings.Fields(para) {
			w = commentWord(w)
			switch {
			case line == "":
				line = w
			case len(line)+1+len(w) > width:
				lines = append(lines, line)
				line = w
			default:
				line += " " + w
			}
		}
		if line != "" {
			lines = append(lines, line)
		}
	}
	return lines
}

// commentWord writes a word of manifest text so that a comment can hold
// it and shows it: a control or format character is written as its Go
// escape, such as \x00 or \ufeff. Go source may not hold NUL or a byte
// order mark at all, and the others (a terminal escape, a bidirectional
// override) would hide what the comment says.
func commentWord(w string) string {
	if !strings.ContainsFunc(w, hidden) {
		return w
	}
	var b strings.Builder
	for _, r := range w {
		if hidden(r) {
			q := strconv.QuoteRuneToASCII(r)
			b.WriteString(q[1 : len(q)-1])
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// hidden reports whether r is a control or format character, or stands
// for invalid UTF-8, none of which a reader of the source would see.
func hidden(r rune) bool {
	return unicode.IsControl(r) || unicode.Is(unicode.Cf, r) || r == utf8.RuneError
}

// durationCode writes d as a person would: 90 * time.Second, time.Hour.
func durationCode(d time.Duration) *jen.Statement {
	if d == 0 {
		return jen.Lit(0)
	}
	units := []struct {
		d    time.Duration
		name string
	}{
		{time.Hour, "Hour"}, {time.Minute, "Minute"}, {time.Second, "Second"},
		{time.Millisecond, "Millisecond"}, {time.Microsecond, "Microsecond"},
	}
	unit, name := time.Duration(1), "Nanosecond"
	for _, u := range units {
		if d%u.d == 0 {
			unit, name = u.d, u.name
			break
		}
	}
	if d == unit {
		return jen.Qual("time", name)
	}
	return jen.Op(strconv.FormatInt(int64(d/unit), 10)).Op("*").Qual("time", name)
}

// stringCode writes s as a raw string when that reads better (regular
// expressions, JSON keys) and as an interpreted one otherwise.
func stringCode(s string) *jen.Statement {
	if strings.ContainsAny(s, "\\\"") && !strings.ContainsAny(s, "`\r") && printable(s) {
		return jen.Op("`" + s + "`")
	}
	return jen.Lit(s)
}

// printable reports whether every character of s shows as itself: a raw
// string would hide a control or format character, invalid UTF-8 or a
// space other than ' ', and Go source may not hold a NUL or a byte order
// mark at all.
func printable(s string) bool {
	for _, r := range s {
		if !strconv.IsPrint(r) || r == utf8.RuneError {
			return false
		}
	}
	return true
}

// groupImports puts the standard library's imports first and the others
// (the project's SDK) in a group of their own, as goimports does;
// jennifer writes them all in one sorted block.
func groupImports(src []byte) []byte {
	start := bytes.Index(src, []byte("\nimport (\n"))
	if start < 0 {
		return src
	}
	start += len("\nimport (\n")
	n := bytes.Index(src[start:], []byte("\n)\n"))
	if n < 0 {
		return src
	}
	var std, other []string
	for _, line := range strings.Split(string(src[start:start+n]), "\n") {
		// The first path element of a module outside the standard library
		// is a domain, so it has a dot.
		path := line[strings.IndexByte(line, '"')+1:]
		if first, _, _ := strings.Cut(path, "/"); strings.Contains(first, ".") {
			other = append(other, line)
		} else {
			std = append(std, line)
		}
	}
	if len(std) == 0 || len(other) == 0 {
		return src
	}
	block := strings.Join(std, "\n") + "\n\n" + strings.Join(other, "\n")
	return slices.Concat(src[:start], []byte(block), src[start+n:])
}
