package generate

import (
	"fmt"
	"slices"
	"strings"
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
	// Settings that give each required parameter a value it accepts; the
	// checks change one thing in them at a time.
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

	check := func(name, doc string, args ...jen.Code) {
		g.Line()
		comment(g, doc)
		g.Func().Id(name).Params(jen.Id("t").Op("*").Qual("testing", "T")).Block(
			jen.Id(s.parser).Dot(strings.TrimPrefix(name, "Test"+s.parse)).Call(append([]jen.Code{jen.Id("t")}, args...)...),
		)
	}
	check("Test"+s.parse+"Defaults", fmt.Sprintf("Test%sDefaults checks that unset parameters take their "+
		"defaults and that the settings given are converted to their types.", s.parse),
		jen.Id(s.typ).Values(want))

	// One case per rule of each parameter, and the value that breaks each
	// breakable parameter first, for the test that breaks them all at once.
	var cases, all []jen.Code
	for _, prm := range s.params {
		bad := prm.badValues()
		for _, b := range bad {
			cases = append(cases, jen.Values(keyed("Param", prm.Name), keyed("Rule", b.rule), keyed("Value", b.text)))
		}
		if len(bad) > 0 {
			all = append(all, setting(prm.Name, bad[0].text))
		}
	}
	unknown := unusedName("not_a_parameter", known)
	all = append(all, setting(unknown, "1"))

	if len(cases) > 0 {
		check("Test"+s.parse+"Invalid", fmt.Sprintf("Test%sInvalid changes one setting at a time to a value that "+
			"breaks a rule, or leaves out a required one (an empty value), and checks that the error names that "+
			"parameter and no other.", s.parse),
			jen.Index().Qual(p.sdktest, "Case").Add(lines(cases)))
	}
	check("Test"+s.parse+"AllProblems", fmt.Sprintf("Test%sAllProblems breaks every parameter that can be "+
		"broken, and adds an unknown setting, and checks that one error names them all, in this order.", s.parse),
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
	check("Test"+s.parse+"Unknown", fmt.Sprintf("Test%sUnknown checks that a setting naming no parameter is "+
		"reported, with a suggestion when it is close to one.", s.parse),
		jen.Lit(typo), jen.Lit(msg))

	var secrets []jen.Code
	for _, prm := range s.params {
		if prm.Secret {
			secrets = append(secrets, setting(prm.Name, prm.secretProbe()))
		}
	}
	if len(secrets) > 0 {
		check("Test"+s.parse+"Secrets", fmt.Sprintf("Test%sSecrets sets each secret parameter to a value it "+
			"refuses where it refuses any, adds an unknown setting so that there is an error, and checks that "+
			"the error never shows the values.", s.parse),
			jen.Index().Qual(p.sdktest, "Setting").Add(lines(secrets)), jen.Lit(unknown))
	}
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
