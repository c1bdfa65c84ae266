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
// to the generator that breaks parsing fails in every project. The checks
// are sdktest's; the file holds what depends on the manifest: the valid
// settings, the values wanted, and the cases.
func configTestFile(p *project) (File, error) {
	f := newGoFile(p, "")
	configTests(f.Group, p, scope{"ParseConfig", "Config", "configParser", "instance", p.config})
	configTests(f.Group, p, scope{"ParseGlobalConfig", "GlobalConfig", "globalConfigParser", "process-wide", p.global})
	return renderGo("config_gen_test.go", f)
}

// scope is one of the two configurations and the names of its code.
type scope struct {
	parse, typ string
	parser     string // the variable holding the sdktest.Parser of parse
	what       string
	params     []*param
}

// configTests declares the sdktest.Parser of one scope's parse function
// and the tests that run its checks.
func configTests(g *jen.Group, p *project, s scope) {
	known := make([]string, len(s.params))
	for i, prm := range s.params {
		known[i] = prm.Name
	}
	valid, want, missing := s.settings()
	parser := []jen.Code{
		jen.Id("Name").Op(":").Lit(s.parse),
		jen.Id("Parse").Op(":").Id(s.parse),
		jen.Id("Valid").Op(":").Map(jen.String()).String().Values(valid),
	}
	if len(missing) > 0 {
		parser = append(parser, jen.Id("Skip").Op(":").Lit(fmt.Sprintf("plugctl found no value that required "+
			"parameter %s accepts; the tests that need one are skipped", missing[0])))
	}
	g.Line()
	comment(g, fmt.Sprintf("%s is %s for the sdktest checks, with settings that give each required %s "+
		"parameter a value it accepts and leave the others to their defaults.", s.parser, s.parse, s.what))
	g.Var().Id(s.parser).Op("=").Qual(p.sdktest, "Parser").Types(jen.Id(s.typ)).Add(lines(parser))

	// check declares the test that calls one check of the parser: the one
	// its name ends in.
	check := func(name, doc string, args ...jen.Code) {
		g.Line()
		comment(g, fmt.Sprintf("Test%s%s %s", s.parse, name, doc))
		g.Func().Id("Test" + s.parse + name).Params(jen.Id("t").Op("*").Qual("testing", "T")).Block(
			jen.Id(s.parser).Dot(name).Call(append([]jen.Code{jen.Id("t")}, args...)...),
		)
	}
	check("Defaults", "checks that unset parameters take their defaults and that the settings given "+
		"are converted to their types.", jen.Id(s.typ).Values(want))

	unknown := unusedName("not_a_parameter", known)
	cases, all := s.breaks()
	all = append(all, setting(unknown, "1"))
	if len(cases) > 0 {
		check("Invalid", "changes one setting at a time to a value that breaks a rule, or leaves out a "+
			"required one (an empty value), and checks that the error names that parameter and no other.",
			jen.Index().Qual(p.sdktest, "Case").Add(lines(cases)))
	}
	check("AllProblems", "breaks every parameter that can be broken, and adds an unknown setting, and "+
		"checks that one error names them all, in this order.",
		jen.Index().Qual(p.sdktest, "Setting").Add(lines(all)))

	typo, hint := unusedName("unknown", known), ""
	if len(known) > 0 {
		typo = unusedName(known[0]+"x", known)
		hint = wire.Closest(typo, known)
	}
	msg := "unknown parameter"
	if hint != "" {
		msg += fmt.Sprintf("; did you mean %q?", hint)
	}
	check("Unknown", "checks that a setting naming no parameter is reported, with a suggestion when it "+
		"is close to one.", jen.Lit(typo), jen.Lit(msg))

	var secrets []jen.Code
	for _, prm := range s.params {
		if prm.Secret {
			secrets = append(secrets, setting(prm.Name, prm.secretProbe()))
		}
	}
	if len(secrets) > 0 {
		check("Secrets", "sets each secret parameter to a value it refuses where it refuses any, adds an "+
			"unknown setting so that there is an error, and checks that the error never shows the values.",
			jen.Index().Qual(p.sdktest, "Setting").Add(lines(secrets)), jen.Lit(unknown))
	}
}

// settings returns the settings that give each required parameter of s a
// value it accepts, which the checks change one thing in at a time; the
// fields of the configuration they give; and the required parameters no
// accepted value was found for.
func (s scope) settings() (valid, want jen.Dict, missing []string) {
	valid, want = jen.Dict{}, jen.Dict{}
	for _, prm := range s.params {
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
	return valid, want, missing
}

// breaks returns a case for each rule of each parameter of s that a value
// can be found to break, and the first of each parameter's, for the test
// that breaks them all at once.
func (s scope) breaks() (cases, first []jen.Code) {
	for _, prm := range s.params {
		bad := prm.badValues()
		for _, b := range bad {
			cases = append(cases, jen.Values(keyed("Param", prm.Name), keyed("Rule", b.rule), keyed("Value", b.text)))
		}
		if len(bad) > 0 {
			first = append(first, setting(prm.Name, bad[0].text))
		}
	}
	return cases, first
}

// setting is an sdktest.Setting literal, in a slice of them.
func setting(param, value string) jen.Code {
	return jen.Values(keyed("Param", param), keyed("Value", value))
}

// keyed is a keyed field of a struct literal, name: "value", as go vet
// wants them in literals of sdktest's types.
func keyed(name, value string) jen.Code { return jen.Id(name).Op(":").Lit(value) }

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
