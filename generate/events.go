package generate

import (
	"fmt"
	"strings"

	"github.com/dave/jennifer/jen"

	"github.com/plugctl/plugctl/manifest"
)

// eventsFile generates events_gen.go: a Go type per event kind with its
// kind constant, its reflection-free JSON encoder, and the functions a
// source adds events with or a sink decodes them with.
func eventsFile(p *project) (File, error) {
	f := newGoFile(p, "")
	for i, e := range p.events {
		eventKind(f.Group, p, i, e)
	}
	return renderGo("events_gen.go", f)
}

// eventKind declares everything generated for one event kind.
func eventKind(g *jen.Group, p *project, index int, e *event) {
	sdkQual := func(name string) *jen.Statement { return jen.Qual(p.sdk, name) }

	g.Line()
	comment(g, fmt.Sprintf("%s is the kind of %s events: their index in the kind table.", e.kind, e.Name))
	g.Const().Id(e.kind).Add(sdkQual("Kind")).Op("=").Lit(index)

	g.Line()
	doc := fmt.Sprintf("%s is the payload of %s %s event.", e.typ, article(e.Name), e.Name)
	if d := strings.TrimSpace(e.Description); d != "" {
		doc += " " + d
	}
	comment(g, doc)
	g.Type().Id(e.typ).StructFunc(func(g *jen.Group) {
		for _, f := range e.fields {
			g.Id(f.goName).Add(fieldType(f.Type)).Tag(map[string]string{"json": f.Name})
		}
	})

	g.Line()
	comment(g, "AppendJSON appends e to dst as a JSON object: byte for byte what "+
		"encoding/json's Marshal writes for it, but without reflection and without allocating "+
		"beyond growing dst. Where Marshal would fail (such as on a NaN float, or a time "+
		"after the year 9999), AppendJSON writes what sdk.AppendJSONFloat and sdk.AppendJSONTime document.")
	g.Func().Params(jen.Id("e").Op("*").Id(e.typ)).Id("AppendJSON").Params(jen.Id("dst").Index().Byte()).Index().Byte().BlockFunc(func(g *jen.Group) {
		if len(e.fields) == 0 {
			g.Return(jen.Append(jen.Id("dst"), jen.Lit("{}").Op("...")))
			return
		}
		for i, f := range e.fields {
			sep := ","
			if i == 0 {
				sep = "{"
			}
			g.Id("dst").Op("=").Append(jen.Id("dst"), stringCode(sep+f.key).Op("..."))
			g.Id("dst").Op("=").Add(fieldEncoder(p, f))
		}
		g.Return(jen.Append(jen.Id("dst"), jen.LitRune('}')))
	})

	if p.m.Kind == "source" {
		g.Line()
		comment(g, fmt.Sprintf("Add%s adds e to b as %s %s event at position, stamped with unixNano. "+
			"It returns sdk.ErrBatchFull when b has no room left.", e.goName, article(e.Name), e.Name))
		g.Func().Id("Add"+e.goName).Params(
			jen.Id("b").Op("*").Add(sdkQual("Batch")), jen.Id("position").Uint64(), jen.Id("unixNano").Int64(), jen.Id("e").Op("*").Id(e.typ),
		).Error().Block(
			jen.Var().Id("buf").Index(sdkQual("PayloadBuffer")).Byte(),
			jen.Return(jen.Id("b").Dot("Append").Call(jen.Id("position"), jen.Id("unixNano"), jen.Id(e.kind),
				jen.Id("e").Dot("AppendJSON").Call(jen.Id("buf").Index(jen.Op(":").Lit(0))))),
		)

		g.Line()
		comment(g, fmt.Sprintf("Emit%s sends e through s as %s %s event stamped with the current time; "+
			"it is safe to call from many goroutines at once.", e.goName, article(e.Name), e.Name))
		g.Func().Id("Emit"+e.goName).Params(jen.Id("s").Add(sdkQual("EventSink")), jen.Id("e").Op("*").Id(e.typ)).Error().Block(
			jen.Var().Id("buf").Index(sdkQual("PayloadBuffer")).Byte(),
			jen.Return(jen.Id("s").Dot("EmitKind").Call(jen.Id(e.kind), jen.Lit(0),
				jen.Id("e").Dot("AppendJSON").Call(jen.Id("buf").Index(jen.Op(":").Lit(0))))),
		)
	} else {
		g.Line()
		comment(g, fmt.Sprintf("Decode%s parses the payload of %s %s event.", e.goName, article(e.Name), e.Name))
		g.Func().Id("Decode"+e.goName).Params(jen.Id("payload").Index().Byte()).Params(jen.Id(e.typ), jen.Error()).Block(
			jen.Var().Id("e").Id(e.typ),
			jen.Err().Op(":=").Qual("encoding/json", "Unmarshal").Call(jen.Id("payload"), jen.Op("&").Id("e")),
			jen.Return(jen.Id("e"), jen.Err()),
		)
	}
}

// fieldType is the Go type of an event field of manifest type t.
func fieldType(t string) *jen.Statement {
	switch t {
	case manifest.FieldInt:
		return jen.Int64()
	case manifest.FieldFloat:
		return jen.Float64()
	case manifest.FieldBool:
		return jen.Bool()
	case manifest.FieldTime:
		return jen.Qual("time", "Time")
	case manifest.FieldDuration:
		return jen.Qual("time", "Duration")
	case manifest.FieldBytes:
		return jen.Index().Byte()
	case manifest.FieldStrings:
		return jen.Index().String()
	}
	return jen.String()
}

// fieldEncoder is the call appending field f of e to dst.
func fieldEncoder(p *project, f *field) *jen.Statement {
	dst, v := jen.Id("dst"), jen.Id("e").Dot(f.goName)
	sdkQual := func(name string) *jen.Statement { return jen.Qual(p.sdk, name) }
	switch f.Type {
	case manifest.FieldInt:
		return jen.Qual("strconv", "AppendInt").Call(dst, v, jen.Lit(10))
	case manifest.FieldDuration:
		// encoding/json writes a time.Duration as its integer nanoseconds.
		return jen.Qual("strconv", "AppendInt").Call(dst, jen.Int64().Call(v), jen.Lit(10))
	case manifest.FieldBool:
		return jen.Qual("strconv", "AppendBool").Call(dst, v)
	case manifest.FieldFloat:
		return sdkQual("AppendJSONFloat").Call(dst, v)
	case manifest.FieldTime:
		return sdkQual("AppendJSONTime").Call(dst, v)
	case manifest.FieldBytes:
		return sdkQual("AppendJSONBytes").Call(dst, v)
	case manifest.FieldStrings:
		return sdkQual("AppendJSONStrings").Call(dst, v)
	}
	return sdkQual("AppendJSONString").Call(dst, v)
}

// article is the indefinite article for a name, by its first letter.
func article(name string) string {
	if name != "" && strings.ContainsRune("aeiou", rune(name[0])) {
		return "an"
	}
	return "a"
}
