package generate

import (
	"fmt"

	"github.com/dave/jennifer/jen"

	"github.com/plugctl/plugctl/manifest"
)

// eventsTestFile generates events_gen_test.go: for each event kind, tests
// that AppendJSON writes what encoding/json writes and allocates nothing,
// and benchmarks of both. The checks are sdktest's; the file holds the
// sample events and the names. The SDK's encoders that AppendJSON calls
// are tested in the SDK.
func eventsTestFile(p *project) (File, error) {
	f := newGoFile(p, "")
	if len(p.events) > 0 {
		kindsTest(f.Group, p)
	}
	for _, e := range p.events {
		eventTests(f.Group, p, e)
	}
	return renderGo("events_gen_test.go", f)
}

// samples is how many values of each field type the sample events use.
// Event i holds value i-1 of each field; event 0 is the zero value. Only
// the last value of a string holds invalid UTF-8, which does not survive a
// round trip.
const samples = 3

// fieldSample is sample value i (0 to samples-1) of a field type.
func fieldSample(typ string, i int) jen.Code {
	t := func(name string) *jen.Statement { return jen.Qual("time", name) }
	zone := func(name string, secs int) jen.Code { return t("FixedZone").Call(jen.Lit(name), jen.Lit(secs)) }
	date := func(y, mo, d, h, mi, s, ns int, loc jen.Code) jen.Code {
		return t("Date").Call(jen.Lit(y), t(months[mo]), jen.Lit(d), jen.Lit(h), jen.Lit(mi), jen.Lit(s), jen.Lit(ns), loc)
	}
	bytes := func(b ...byte) jen.Code {
		items := make([]jen.Code, len(b))
		for i, x := range b {
			items[i] = jen.Op(fmt.Sprintf("0x%02x", x))
		}
		return jen.Index().Byte().Values(items...)
	}
	var values [samples]jen.Code
	switch typ {
	case manifest.FieldString:
		values = [samples]jen.Code{
			jen.Lit("hello, world"),
			jen.Lit("<a href=\"x\">&amp;</a> \\ \n\r\t\b\f \x00\x1f\x7f é 😀 \u2028\u2029"),
			jen.Lit("bad UTF-8: \xff\xfe \xed\xa0\x80 \xc3("),
		}
	case manifest.FieldInt:
		values = [samples]jen.Code{jen.Lit(42), jen.Qual("math", "MinInt64"), jen.Qual("math", "MaxInt64")}
	case manifest.FieldFloat:
		values = [samples]jen.Code{jen.Lit(3.14159), jen.Lit(-1e-9), jen.Lit(1e21)}
	case manifest.FieldBool:
		values = [samples]jen.Code{jen.True(), jen.False(), jen.True()}
	case manifest.FieldTime:
		values = [samples]jen.Code{
			date(2024, 2, 29, 23, 59, 59, 123456789, t("UTC")),
			date(1999, 12, 31, 1, 2, 3, 0, zone("IST", 5*3600+30*60)),
			date(2038, 1, 19, 3, 14, 7, 100, zone("PST", -8*3600)),
		}
	case manifest.FieldDuration:
		values = [samples]jen.Code{
			jen.Lit(1500).Op("*").Add(t("Millisecond")),
			jen.Op("-").Add(t("Nanosecond")),
			t("Duration").Call(jen.Qual("math", "MaxInt64")),
		}
	case manifest.FieldBytes:
		values = [samples]jen.Code{
			jen.Index().Byte().Call(jen.Lit("hello")),
			jen.Index().Byte().Values(),
			bytes(0x00, 0xff, '<', 0x10, 0x80),
		}
	case manifest.FieldStrings:
		values = [samples]jen.Code{
			jen.Index().String().Values(jen.Lit("a"), jen.Lit("b")),
			jen.Index().String().Values(),
			jen.Index().String().Values(jen.Lit("<x>"), jen.Lit(""), jen.Lit("\xff")),
		}
	}
	return values[i]
}

// months names the months the samples use.
var months = [...]string{1: "January", 2: "February", 12: "December"}

// eventTests declares the sample events, tests and benchmarks of one kind.
func eventTests(g *jen.Group, p *project, e *event) {
	samplesFn := sampleEvents(g, e)
	// A kind without fields has one value, its zero value, which is then
	// also the one benchmarked and read back.
	fieldless := len(e.fields) == 0
	bench := jen.Id(samplesFn).Call().Index(jen.Lit(1))
	if fieldless {
		bench = jen.Id(samplesFn).Call().Index(jen.Lit(0))
	}

	// test declares a test (param tt) or benchmark (bb) whose body is the
	// statements.
	tt, bb := jen.Id("t").Op("*").Qual("testing", "T"), jen.Id("b").Op("*").Qual("testing", "B")
	test := func(name, doc string, param *jen.Statement, body ...jen.Code) {
		g.Line()
		comment(g, doc)
		g.Func().Id(name).Params(param.Clone()).Block(body...)
	}
	check := func(name string, args ...jen.Code) jen.Code { return jen.Qual(p.sdktest, name).Call(args...) }
	t := jen.Id("t")

	test("Test"+e.typ+"AppendJSON", fmt.Sprintf("Test%sAppendJSON checks that AppendJSON writes what "+
		"json.Marshal writes, and that it appends to what dst holds.", e.typ), tt,
		check("AppendJSON", t, jen.Id(samplesFn).Call()))
	test("Test"+e.typ+"AppendJSONAllocs", fmt.Sprintf("Test%sAppendJSONAllocs checks that AppendJSON "+
		"allocates nothing when dst has room.", e.typ), tt,
		check("AppendJSONAllocs", t, jen.Id(samplesFn).Call()))

	// A round trip shows the JSON reads back as the same event; a sink
	// reads it with the generated Decode function. The last sample holds
	// invalid UTF-8, which does not survive one.
	name, what := "Test"+e.typ+"RoundTrip", "json.Unmarshal"
	if p.m.Kind == "sink" {
		name, what = "TestDecode"+e.goName, "Decode"+e.goName
	}
	doc := fmt.Sprintf("%s checks that %s reads what AppendJSON writes back as the same event, "+
		"for the samples that are valid UTF-8.", name, what)
	var body []jen.Code
	valid := jen.Id("events")
	if fieldless {
		doc = fmt.Sprintf("%s checks that %s reads what AppendJSON writes back as the same event.", name, what)
		valid = jen.Id(samplesFn).Call()
	} else {
		body = append(body, jen.Id("events").Op(":=").Id(samplesFn).Call())
		valid = valid.Index(jen.Op(":").Len(jen.Id("events")).Op("-").Lit(1))
	}
	if p.m.Kind == "sink" {
		body = append(body, check("Decode", t, valid, jen.Lit(what), jen.Id(what)))
	} else {
		body = append(body, check("RoundTrip", t, valid))
	}
	test(name, doc, tt, body...)

	test("BenchmarkAppendJSON"+e.goName, fmt.Sprintf("BenchmarkAppendJSON%s measures AppendJSON; "+
		"compare with BenchmarkMarshal%s.", e.goName, e.goName), bb,
		check("BenchmarkAppendJSON", jen.Id("b"), bench.Clone()))
	test("BenchmarkMarshal"+e.goName, fmt.Sprintf("BenchmarkMarshal%s measures encoding/json on the same "+
		"event as BenchmarkAppendJSON%s.", e.goName, e.goName), bb,
		check("BenchmarkMarshal", jen.Id("b"), bench.Clone()))
}

// sampleEvents declares the function returning the sample events of a
// kind, and returns its name.
func sampleEvents(g *jen.Group, e *event) string {
	name := "sample" + e.typ + "s"
	g.Line()
	events := []jen.Code{jen.Values()}
	if len(e.fields) == 0 {
		comment(g, fmt.Sprintf("%s returns the one %s value there is: the kind has no fields.", name, e.typ))
	} else {
		comment(g, fmt.Sprintf("%s returns %s values to encode: the zero value, then values with escapes, "+
			"extremes and time zones. Only the last holds invalid UTF-8.", name, e.typ))
		for i := range samples {
			var fs fields
			for _, f := range e.fields {
				fs.add(f.goName, fieldSample(f.Type, i))
			}
			events = append(events, fs.lines())
		}
	}
	g.Func().Id(name).Params().Index().Id(e.typ).Block(
		jen.Return(jen.Index().Id(e.typ).Add(lines(events))),
	)
	return name
}

// kindsTest declares the test that each Kind constant indexes its own kind
// in the specification's kind table.
func kindsTest(g *jen.Group, p *project) {
	kinds := jen.Dict{}
	for _, e := range p.events {
		kinds[jen.Lit(e.Name)] = jen.Id(e.kind)
	}
	g.Line()
	comment(g, "TestKinds checks that each Kind constant is the index of its kind in Spec().Events, "+
		"the kind table the host receives.")
	g.Func().Id("TestKinds").Params(jen.Id("t").Op("*").Qual("testing", "T")).Block(
		jen.Qual(p.sdktest, "Kinds").Call(jen.Id("t"), jen.Id("Spec").Call(),
			jen.Map(jen.String()).Qual(p.sdk, "Kind").Values(kinds)),
	)
}
