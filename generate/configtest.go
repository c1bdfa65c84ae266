package generate

import (
	"fmt"
	"slices"
	"time"

	"github.com/dave/jennifer/jen"

	"github.com/plugctl/plugctl/manifest"
	"github.com/plugctl/plugctl/wire"
)

// configTestFile generates config_gen_test.go: tests of ParseConfig and
// ParseGlobalConfig for this manifest's parameters. They check defaults,
// each rule, wrong types, unknown settings and secrets, so that a change
// to the generator that breaks parsing fails in every project.
func configTestFile(p *project) (File, error) {
	f := newGoFile(p, "")
	configTests(f.Group, p, scope{"ParseConfig", "Config", "validConfigSettings", "instance", p.config})
	configTests(f.Group, p, scope{"ParseGlobalConfig", "GlobalConfig", "validGlobalSettings", "process-wide", p.global})

	f.Line()
	comment(f.Group, "problems returns the problems in err, failing the test when err is not a *sdk.ConfigError.")
	f.Func().Id("problems").Params(jen.Id("t").Op("*").Qual("testing", "T"), jen.Err().Error()).Index().Qual(p.wire, "Problem").Block(
		jen.Id("t").Dot("Helper").Call(),
		jen.Var().Id("ce").Op("*").Qual(p.sdk, "ConfigError"),
		jen.If(jen.Op("!").Qual("errors", "As").Call(jen.Err(), jen.Op("&").Id("ce"))).Block(
			jen.Id("t").Dot("Fatalf").Call(jen.Lit("error %v is a %T, want a *sdk.ConfigError"), jen.Err(), jen.Err()),
		),
		jen.Return(jen.Id("ce").Dot("Problems")),
	)
	f.Line()
	comment(f.Group, "params returns the parameters that problems name, in order, each once.")
	f.Func().Id("params").Params(jen.Id("problems").Index().Qual(p.wire, "Problem")).Index().String().Block(
		jen.Var().Id("names").Index().String(),
		jen.For(jen.List(jen.Id("_"), jen.Id("p")).Op(":=").Range().Id("problems")).Block(
			jen.If(jen.Len(jen.Id("names")).Op("==").Lit(0).Op("||").Id("names").Index(jen.Len(jen.Id("names")).Op("-").Lit(1)).Op("!=").Id("p").Dot("Param")).Block(
				jen.Id("names").Op("=").Append(jen.Id("names"), jen.Id("p").Dot("Param")),
			),
		),
		jen.Return(jen.Id("names")),
	)
	return renderGo("config_gen_test.go", f)
}

// scope is one of the two configurations and the names of its code.
type scope struct {
	parse, typ, valid, what string
	params                  []*param
}

// configTests declares the tests of one scope's parse function.
func configTests(g *jen.Group, p *project, s scope) {
	settings := jen.Id("settings")
	// Settings that give each required parameter a value it accepts; the
	// tests change one thing in them at a time.
	valid := jen.Dict{}
	want := jen.Dict{}
	var missing []string // required parameters no accepted value was found for
	known := make([]string, len(s.params))
	for i, prm := range s.params {
		known[i] = prm.Name
		text := prm.def
		if prm.Required {
			v, ok := prm.validValue()
			if !ok {
				missing = append(missing, prm.Name)
				continue
			}
			valid[jen.Lit(prm.Name)] = jen.Lit(v)
			text = v
		}
		if text != "" {
			if v := settingCode(prm, text); v != nil {
				want[jen.Id(prm.goName)] = v
			}
		}
	}
	// skip is the first statement of the tests that need valid settings.
	skip := jen.Null()
	if len(missing) > 0 {
		skip = jen.Id("t").Dot("Skip").Call(jen.Lit(fmt.Sprintf("plugctl found no value that required parameter %s accepts; "+
			"the tests that need one are skipped", missing[0])))
	}

	g.Line()
	comment(g, fmt.Sprintf("%s returns settings that give each required %s parameter a value it accepts "+
		"and leave the others to their defaults.", s.valid, s.what))
	g.Func().Id(s.valid).Params().Map(jen.String()).String().Block(
		jen.Return(jen.Map(jen.String()).String().Values(valid)),
	)

	g.Line()
	comment(g, fmt.Sprintf("Test%sDefaults checks that unset parameters take their defaults and that the "+
		"settings given are converted to their types.", s.parse))
	g.Func().Id("Test"+s.parse+"Defaults").Params(jen.Id("t").Op("*").Qual("testing", "T")).Block(
		skip,
		jen.List(jen.Id("got"), jen.Err()).Op(":=").Id(s.parse).Call(jen.Id(s.valid).Call()),
		jen.If(jen.Err().Op("!=").Nil()).Block(
			jen.Id("t").Dot("Fatalf").Call(jen.Lit(s.parse+"(%v): %v"), jen.Id(s.valid).Call(), jen.Err()),
		),
		jen.Id("want").Op(":=").Id(s.typ).Values(want),
		jen.If(jen.Op("!").Qual("reflect", "DeepEqual").Call(jen.Id("got"), jen.Id("want"))).Block(
			jen.Id("t").Dot("Errorf").Call(jen.Lit(s.parse+"(%v) =\n%+v\nwant\n%+v"), jen.Id(s.valid).Call(), jen.Id("got"), jen.Id("want")),
		),
	)

	// One case per rule of each parameter, and the value that breaks each
	// breakable parameter first, for the test that breaks them all at once.
	var cases []jen.Code
	all := []jen.Code{settings.Clone().Op(":=").Id(s.valid).Call()}
	var allWant []jen.Code
	for _, prm := range s.params {
		bad := prm.badValues()
		for _, b := range bad {
			cases = append(cases, jen.Values(jen.Lit(prm.Name), jen.Lit(b.rule), jen.Lit(b.text)))
		}
		if len(bad) == 0 {
			continue
		}
		if bad[0].text == "" {
			all = append(all, jen.Delete(settings, jen.Lit(prm.Name)))
		} else {
			all = append(all, settings.Clone().Index(jen.Lit(prm.Name)).Op("=").Lit(bad[0].text))
		}
		allWant = append(allWant, jen.Lit(prm.Name))
	}
	unknown := unusedName("not_a_parameter", known)
	all = append(all, settings.Clone().Index(jen.Lit(unknown)).Op("=").Lit("1"))
	allWant = append(allWant, jen.Lit(unknown))

	if len(cases) > 0 {
		g.Line()
		comment(g, fmt.Sprintf("Test%sInvalid changes one setting at a time to a value that breaks a rule, "+
			"or leaves out a required one, and checks that the error names that parameter and no other.", s.parse))
		g.Func().Id("Test"+s.parse+"Invalid").Params(jen.Id("t").Op("*").Qual("testing", "T")).Block(
			skip,
			jen.For(jen.List(jen.Id("_"), jen.Id("tc")).Op(":=").Range().Index().Struct(
				jen.List(jen.Id("param"), jen.Id("rule"), jen.Id("value")).String().Comment("an empty value leaves the parameter out"),
			).Add(lines(cases))).Block(
				jen.Id("t").Dot("Run").Call(jen.Id("tc").Dot("param").Op("+").Lit("/").Op("+").Id("tc").Dot("rule"), jen.Func().Params(jen.Id("t").Op("*").Qual("testing", "T")).Block(
					settings.Clone().Op(":=").Id(s.valid).Call(),
					jen.If(jen.Id("tc").Dot("value").Op("==").Lit("")).Block(
						jen.Delete(settings, jen.Id("tc").Dot("param")),
					).Else().Block(
						settings.Clone().Index(jen.Id("tc").Dot("param")).Op("=").Id("tc").Dot("value"),
					),
					jen.List(jen.Id("_"), jen.Err()).Op(":=").Id(s.parse).Call(settings),
					jen.If(jen.Err().Op("==").Nil()).Block(
						jen.Id("t").Dot("Fatalf").Call(jen.Lit(s.parse+"(%v) accepted it"), settings),
					),
					jen.If(jen.Id("got").Op(":=").Id("params").Call(jen.Id("problems").Call(jen.Id("t"), jen.Err())),
						jen.Op("!").Qual("slices", "Equal").Call(jen.Id("got"), jen.Index().String().Values(jen.Id("tc").Dot("param")))).Block(
						jen.Id("t").Dot("Errorf").Call(jen.Lit(s.parse+"(%v): problems with %q, want with %q only: %v"), settings, jen.Id("got"), jen.Id("tc").Dot("param"), jen.Err()),
					),
				)),
			),
		)
	}

	g.Line()
	comment(g, fmt.Sprintf("Test%sAllProblems breaks every parameter that can be broken, and adds an unknown "+
		"setting, and checks that one error names them all.", s.parse))
	g.Func().Id("Test" + s.parse + "AllProblems").Params(jen.Id("t").Op("*").Qual("testing", "T")).BlockFunc(func(g *jen.Group) {
		g.Add(skip)
		for _, c := range all {
			g.Add(c)
		}
		g.List(jen.Id("_"), jen.Err()).Op(":=").Id(s.parse).Call(settings)
		g.Id("want").Op(":=").Index().String().Values(allWant...)
		g.If(jen.Id("got").Op(":=").Id("params").Call(jen.Id("problems").Call(jen.Id("t"), jen.Err())),
			jen.Op("!").Qual("slices", "Equal").Call(jen.Id("got"), jen.Id("want"))).Block(
			jen.Id("t").Dot("Errorf").Call(jen.Lit(s.parse+"(%v): problems with %q, want %q: %v"), settings, jen.Id("got"), jen.Id("want"), jen.Err()),
		)
	})

	unknownTest(g, s, skip, known)
	secretsTest(g, s, skip, known)
}

// unknownTest declares the test of an unknown setting: it is named, and a
// near miss of a parameter's name gets that name as a suggestion.
func unknownTest(g *jen.Group, s scope, skip jen.Code, known []string) {
	typo, hint := unusedName("unknown", known), ""
	if len(known) > 0 {
		typo = unusedName(known[0]+"x", known)
		hint = wire.Closest(typo, known)
	}
	g.Line()
	comment(g, fmt.Sprintf("Test%sUnknown checks that a setting naming no parameter is reported, "+
		"with a suggestion when it is close to one.", s.parse))
	g.Func().Id("Test" + s.parse + "Unknown").Params(jen.Id("t").Op("*").Qual("testing", "T")).BlockFunc(func(g *jen.Group) {
		g.Add(skip)
		g.Id("settings").Op(":=").Id(s.valid).Call()
		g.Id("settings").Index(jen.Lit(typo)).Op("=").Lit("1")
		g.List(jen.Id("_"), jen.Err()).Op(":=").Id(s.parse).Call(jen.Id("settings"))
		g.Id("got").Op(":=").Id("problems").Call(jen.Id("t"), jen.Err())
		g.If(jen.Len(jen.Id("got")).Op("!=").Lit(1).Op("||").Id("got").Index(jen.Lit(0)).Dot("Param").Op("!=").Lit(typo)).Block(
			jen.Id("t").Dot("Fatalf").Call(jen.Lit(s.parse+"(%v): problems %v, want one with %q"), jen.Id("settings"), jen.Id("got"), jen.Lit(typo)),
		)
		msg := "unknown parameter"
		if hint != "" {
			msg += fmt.Sprintf("; did you mean %q?", hint)
		}
		g.If(jen.Id("got").Index(jen.Lit(0)).Dot("Message").Op("!=").Lit(msg)).Block(
			jen.Id("t").Dot("Errorf").Call(jen.Lit("message %q, want %q"), jen.Id("got").Index(jen.Lit(0)).Dot("Message"), jen.Lit(msg)),
		)
	})
}

// secretsTest declares the test that no secret value shows in an error.
func secretsTest(g *jen.Group, s scope, skip jen.Code, known []string) {
	var probes []*param
	for _, prm := range s.params {
		if prm.Secret {
			probes = append(probes, prm)
		}
	}
	if len(probes) == 0 {
		return
	}
	unknown := unusedName("not_a_parameter", known)
	g.Line()
	comment(g, fmt.Sprintf("Test%sSecrets sets each secret parameter to a value it refuses where it "+
		"refuses any, and checks that the error never shows the value.", s.parse))
	g.Func().Id("Test" + s.parse + "Secrets").Params(jen.Id("t").Op("*").Qual("testing", "T")).BlockFunc(func(g *jen.Group) {
		g.Add(skip)
		g.Id("settings").Op(":=").Id(s.valid).Call()
		var values []jen.Code
		for _, prm := range probes {
			g.Id("settings").Index(jen.Lit(prm.Name)).Op("=").Lit(prm.secretProbe())
			values = append(values, jen.Lit(prm.secretProbe()))
		}
		g.Id("settings").Index(jen.Lit(unknown)).Op("=").Lit("1").Comment("so that there is an error")
		g.List(jen.Id("_"), jen.Err()).Op(":=").Id(s.parse).Call(jen.Id("settings"))
		g.If(jen.Err().Op("==").Nil()).Block(
			jen.Id("t").Dot("Fatalf").Call(jen.Lit(s.parse+"(%v) accepted an unknown setting"), jen.Id("settings")),
		)
		g.For(jen.List(jen.Id("_"), jen.Id("secret")).Op(":=").Range().Index().String().Values(values...)).Block(
			jen.If(jen.Qual("strings", "Contains").Call(jen.Err().Dot("Error").Call(), jen.Id("secret"))).Block(
				jen.Id("t").Dot("Errorf").Call(jen.Lit("the error shows the secret value %q: %v"), jen.Id("secret"), jen.Err()),
			),
		)
	})
}

// unusedName returns name, with x appended as often as needed to make it
// no parameter's name.
func unusedName(name string, known []string) string {
	for slices.Contains(known, name) {
		name += "x"
	}
	return name
}

// settingCode is the Go value ParseConfig gives a parameter set to text,
// or nil for the zero value.
func settingCode(prm *param, text string) jen.Code {
	if prm.Type == manifest.TypeStrings {
		items := wire.SplitList(text)
		if len(items) == 0 {
			return nil
		}
		lits := make([]jen.Code, len(items))
		for i, it := range items {
			lits[i] = jen.Lit(it)
		}
		return jen.Index().String().Values(lits...)
	}
	v, _ := prm.convert(text)
	if prm.Type == manifest.TypeDuration {
		return durationCode(time.Duration(v.Int))
	}
	return valueCode(prm, v)
}
