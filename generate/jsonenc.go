package generate

import (
	"github.com/dave/jennifer/jen"

	"github.com/plugctl/plugctl/manifest"
)

// jsonHelpers says which encoders the event kinds' fields need.
type jsonHelpers struct {
	str, strs, float, time, bytes bool
}

// neededJSONHelpers looks at every field of every event kind.
func neededJSONHelpers(p *project) jsonHelpers {
	var h jsonHelpers
	for _, e := range p.events {
		for _, f := range e.fields {
			switch f.Type {
			case manifest.FieldString:
				h.str = true
			case manifest.FieldStrings:
				h.str, h.strs = true, true
			case manifest.FieldFloat:
				h.float = true
			case manifest.FieldTime:
				h.time = true
			case manifest.FieldBytes:
				h.bytes = true
			}
		}
	}
	return h
}

// jsonencFile generates jsonenc_gen.go: the encoders the AppendJSON
// methods share, each written once and only when a field needs it. Each
// writes exactly what encoding/json writes for its type.
func jsonencFile(p *project) (File, error) {
	h := neededJSONHelpers(p)
	doc := "This file holds the JSON encoders that the AppendJSON methods of the " +
		"event types share. Each writes what encoding/json writes for its type, byte for byte, " +
		"without reflection and without allocating."
	if h == (jsonHelpers{}) {
		doc += " The event types of this plugin need none: strconv writes their fields."
	}
	f := newGoFile(p, doc)
	if h.str {
		jsonString(f.Group)
	}
	if h.strs {
		jsonStrings(f.Group)
	}
	if h.float {
		jsonFloat(f.Group)
	}
	if h.time {
		jsonTime(f.Group)
	}
	if h.bytes {
		jsonBytes(f.Group)
	}
	return renderGo("jsonenc_gen.go", f)
}

// null is the statement `return append(dst, "null"...)`.
func null() *jen.Statement { return jen.Return(jen.Append(jen.Id("dst"), jen.Lit("null").Op("..."))) }

// jsonString declares appendJSONString with its digit and byte tables.
func jsonString(g *jen.Group) {
	dst, s, i, c, start := jen.Id("dst"), jen.Id("s"), jen.Id("i"), jen.Id("c"), jen.Id("start")
	appendTo := func(items ...jen.Code) jen.Code {
		return dst.Clone().Op("=").Append(append([]jen.Code{dst.Clone()}, items...)...)
	}
	flush := appendTo(s.Clone().Index(start.Clone().Op(":").Add(i)).Op("..."))
	escape := func(r rune) []jen.Code { return []jen.Code{appendTo(jen.LitRune('\\'), jen.LitRune(r))} }
	safe := c.Clone().Op("!=").LitRune('"')
	for _, r := range []rune{'\\', '<', '>', '&'} {
		safe = safe.Op("&&").Add(c).Op("!=").LitRune(r)
	}

	g.Line()
	comment(g, "hexDigits are the digits of \\u escapes.")
	g.Const().Id("hexDigits").Op("=").Lit("0123456789abcdef")

	// A table lookup per byte is about a third faster than the comparisons.
	g.Line()
	comment(g, "jsonSafe marks the bytes appendJSONString copies as they are: printable ASCII but for "+
		"quote, backslash, <, > and &. A byte from 0x80 up starts a UTF-8 sequence, which is checked rune by rune.")
	g.Var().Id("jsonSafe").Op("=").Func().Params().Params(jen.Id("safe").Index(jen.Lit(256)).Bool()).Block(
		jen.For(c.Clone().Op(":=").LitRune(' '), c.Clone().Op("<").Qual("unicode/utf8", "RuneSelf"), c.Clone().Op("++")).Block(
			jen.Id("safe").Index(c).Op("=").Add(safe),
		),
		jen.Return(jen.Id("safe")),
	).Call()

	g.Line()
	comment(g, "appendJSONString appends s as a JSON string, escaped as encoding/json escapes it: "+
		"quote, backslash and control characters; <, > and &, so that the JSON is safe inside HTML; "+
		"U+2028 and U+2029, so that it is safe inside JavaScript; and each byte that is not valid "+
		"UTF-8 becomes \\ufffd.")
	g.Func().Id("appendJSONString").Params(dst.Clone().Index().Byte(), s.Clone().String()).Index().Byte().Block(
		appendTo(jen.LitRune('"')),
		start.Clone().Op(":=").Lit(0),
		jen.For(i.Clone().Op(":=").Lit(0), i.Clone().Op("<").Len(s), jen.Empty()).Block(
			c.Clone().Op(":=").Add(s).Index(i),
			jen.If(jen.Id("jsonSafe").Index(c)).Block(i.Clone().Op("++"), jen.Continue()),
			jen.If(c.Clone().Op("<").Qual("unicode/utf8", "RuneSelf")).Block(
				flush,
				jen.Switch(c).Block(
					jen.Case(jen.LitRune('"'), jen.LitRune('\\')).Block(appendTo(jen.LitRune('\\'), c)),
					jen.Case(jen.LitRune('\b')).Block(escape('b')...),
					jen.Case(jen.LitRune('\f')).Block(escape('f')...),
					jen.Case(jen.LitRune('\n')).Block(escape('n')...),
					jen.Case(jen.LitRune('\r')).Block(escape('r')...),
					jen.Case(jen.LitRune('\t')).Block(escape('t')...),
					jen.Default().Block(
						jen.Comment("Other control characters, and <, > and &."),
						appendTo(jen.LitRune('\\'), jen.LitRune('u'), jen.LitRune('0'), jen.LitRune('0'),
							jen.Id("hexDigits").Index(c.Clone().Op(">>").Lit(4)), jen.Id("hexDigits").Index(c.Clone().Op("&").Op("0xF"))),
					),
				),
				i.Clone().Op("++"),
				start.Clone().Op("=").Add(i),
				jen.Continue(),
			),
			jen.List(jen.Id("r"), jen.Id("size")).Op(":=").Qual("unicode/utf8", "DecodeRuneInString").Call(s.Clone().Index(i.Clone().Op(":"))),
			jen.Switch().Block(
				jen.Case(jen.Id("r").Op("==").Qual("unicode/utf8", "RuneError").Op("&&").Id("size").Op("==").Lit(1)).Block(
					flush,
					appendTo(jen.Op("`\\ufffd`..."))),
				jen.Case(jen.Id("r").Op("==").LitRune('\u2028').Op("||").Id("r").Op("==").LitRune('\u2029')).Block(
					flush,
					appendTo(jen.LitRune('\\'), jen.LitRune('u'), jen.LitRune('2'), jen.LitRune('0'), jen.LitRune('2'),
						jen.Id("hexDigits").Index(jen.Id("r").Op("&").Op("0xF")))),
				jen.Default().Block(
					i.Clone().Op("+=").Id("size"),
					jen.Continue(),
				),
			),
			i.Clone().Op("+=").Id("size"),
			start.Clone().Op("=").Add(i),
		),
		appendTo(s.Clone().Index(start.Clone().Op(":")).Op("...")),
		jen.Return(jen.Append(dst, jen.LitRune('"'))),
	)
}

// jsonStrings declares appendJSONStrings.
func jsonStrings(g *jen.Group) {
	dst := jen.Id("dst")
	g.Line()
	comment(g, "appendJSONStrings appends ss as encoding/json writes a []string: an array of strings, or null for a nil slice.")
	g.Func().Id("appendJSONStrings").Params(dst.Clone().Index().Byte(), jen.Id("ss").Index().String()).Index().Byte().Block(
		jen.If(jen.Id("ss").Op("==").Nil()).Block(null()),
		dst.Clone().Op("=").Append(dst, jen.LitRune('[')),
		jen.For(jen.List(jen.Id("i"), jen.Id("s")).Op(":=").Range().Id("ss")).Block(
			jen.If(jen.Id("i").Op(">").Lit(0)).Block(dst.Clone().Op("=").Append(dst, jen.LitRune(','))),
			dst.Clone().Op("=").Id("appendJSONString").Call(dst, jen.Id("s")),
		),
		jen.Return(jen.Append(dst, jen.LitRune(']'))),
	)
}

// jsonFloat declares appendJSONFloat.
func jsonFloat(g *jen.Group) {
	dst, n := jen.Id("dst"), jen.Id("n")
	at := func(back int) *jen.Statement { return dst.Clone().Index(n.Clone().Op("-").Lit(back)) }
	g.Line()
	comment(g, "appendJSONFloat appends f as encoding/json writes a float64: the shortest form that "+
		"reads back as f, in 'e' notation below 1e-6 and from 1e21 up, with e-09 shortened to e-9. "+
		"encoding/json refuses NaN and the infinities with an error; with no error to return, "+
		"they are written as null.")
	g.Func().Id("appendJSONFloat").Params(dst.Clone().Index().Byte(), jen.Id("f").Float64()).Index().Byte().Block(
		jen.If(jen.Qual("math", "IsNaN").Call(jen.Id("f")).Op("||").Qual("math", "IsInf").Call(jen.Id("f"), jen.Lit(0))).Block(null()),
		jen.Id("format").Op(":=").Byte().Parens(jen.LitRune('f')),
		jen.If(jen.Id("abs").Op(":=").Qual("math", "Abs").Call(jen.Id("f")), jen.Id("abs").Op("!=").Lit(0).Op("&&").
			Parens(jen.Id("abs").Op("<").Op("1e-6").Op("||").Id("abs").Op(">=").Op("1e21"))).Block(
			jen.Id("format").Op("=").LitRune('e'),
		),
		dst.Clone().Op("=").Qual("strconv", "AppendFloat").Call(dst, jen.Id("f"), jen.Id("format"), jen.Lit(-1), jen.Lit(64)),
		jen.If(jen.Id("format").Op("==").LitRune('e')).Block(
			jen.Comment("e-09 becomes e-9, as encoding/json writes it."),
			jen.If(n.Clone().Op(":=").Len(dst), n.Clone().Op(">=").Lit(4).Op("&&").Add(at(4)).Op("==").LitRune('e').
				Op("&&").Add(at(3)).Op("==").LitRune('-').Op("&&").Add(at(2)).Op("==").LitRune('0')).Block(
				at(2).Op("=").Add(at(1)),
				dst.Clone().Op("=").Add(dst).Index(jen.Op(":").Add(n).Op("-").Lit(1)),
			),
		),
		jen.Return(dst),
	)
}

// jsonTime declares appendJSONTime.
func jsonTime(g *jen.Group) {
	dst := jen.Id("dst")
	g.Line()
	comment(g, "appendJSONTime appends t as encoding/json writes a time.Time: RFC 3339 with "+
		"nanoseconds, in quotes. encoding/json refuses a year outside 0 to 9999 and a zone offset "+
		"of a day or more with an error; with no error to return, such a time is written as "+
		"AppendFormat gives it.")
	g.Func().Id("appendJSONTime").Params(dst.Clone().Index().Byte(), jen.Id("t").Qual("time", "Time")).Index().Byte().Block(
		dst.Clone().Op("=").Append(dst, jen.LitRune('"')),
		dst.Clone().Op("=").Id("t").Dot("AppendFormat").Call(dst, jen.Qual("time", "RFC3339Nano")),
		jen.Return(jen.Append(dst, jen.LitRune('"'))),
	)
}

// jsonBytes declares appendJSONBytes.
func jsonBytes(g *jen.Group) {
	dst := jen.Id("dst")
	g.Line()
	comment(g, "appendJSONBytes appends b as encoding/json writes a []byte: standard base64 in quotes, or null for a nil slice.")
	g.Func().Id("appendJSONBytes").Params(jen.List(dst, jen.Id("b")).Index().Byte()).Index().Byte().Block(
		jen.If(jen.Id("b").Op("==").Nil()).Block(null()),
		dst.Clone().Op("=").Append(dst, jen.LitRune('"')),
		dst.Clone().Op("=").Qual("encoding/base64", "StdEncoding").Dot("AppendEncode").Call(dst, jen.Id("b")),
		jen.Return(jen.Append(dst, jen.LitRune('"'))),
	)
}
