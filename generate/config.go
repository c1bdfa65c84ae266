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

// configUses records which optional helpers the parsing code calls, so
// that config_gen.go holds no function nobody uses.
type configUses struct {
	invalid, invalidSecret, parseFloat, splitList bool
}

// configFile generates config_gen.go: the typed configuration structs and
// the functions that parse and check settings into them.
func configFile(p *project) (File, error) {
	f := newGoFile(p, "")
	u := &configUses{}

	configStruct(f.Group, "Config", "Config is the configuration of one instance of the plugin, "+
		"parsed by ParseConfig from the settings the host sends when it opens the instance "+
		"([config.*] in plugin.toml).", p.config)
	configStruct(f.Group, "GlobalConfig", "GlobalConfig is the process-wide configuration of the plugin, "+
		"parsed by ParseGlobalConfig from the settings the host sends once, in setup "+
		"([global.*] in plugin.toml).", p.global)

	var patterns []jen.Code
	for _, prm := range slices.Concat(p.config, p.global) {
		if prm.Regex != "" {
			patterns = append(patterns, jen.Id(patternVar(prm)).Op("=").Qual("regexp", "MustCompile").Call(stringCode(prm.Regex)))
		}
	}
	if len(patterns) > 0 {
		f.Line()
		comment(f.Group, "The patterns of the regex rules, compiled once. plugctl checked that they compile.")
		f.Var().Defs(patterns...)
	}

	paramNames(f.Group, "configParams", "the instance parameters", p.config)
	paramNames(f.Group, "globalParams", "the process-wide parameters", p.global)

	parseFunc(f.Group, "ParseConfig", "Config", "configParams", "one instance", p.config, u)
	parseFunc(f.Group, "ParseGlobalConfig", "GlobalConfig", "globalParams", "the process", p.global, u)

	parserHelpers(f.Group, p.sdk, u)
	return renderGo("config_gen.go", f)
}

// patternVar names the package variable holding prm's compiled regex. The
// scope in the name keeps an instance and a global parameter of the same
// name apart.
func patternVar(prm *param) string {
	if prm.scope == "global" {
		return "patternGlobal" + prm.goName
	}
	return "patternConfig" + prm.goName
}

// configStruct declares a configuration struct with a field per parameter.
func configStruct(g *jen.Group, name, doc string, params []*param) {
	g.Line()
	comment(g, doc)
	g.Type().Id(name).StructFunc(func(g *jen.Group) {
		for i, prm := range params {
			if i > 0 {
				g.Line()
			}
			commentWidth(g, fieldDoc(prm), 70)
			g.Id(prm.goName).Add(paramType(prm.Type))
		}
	})
}

// fieldDoc documents a configuration field: where it comes from, what the
// manifest says about it and the rules its value obeys.
func fieldDoc(prm *param) string {
	doc := fmt.Sprintf("%s is the %s parameter %q.", prm.goName, prm.Type, prm.Name)
	if d := strings.TrimSpace(prm.Description); d != "" {
		doc += " " + d
	}
	if prm.def != "" {
		doc += fmt.Sprintf(" Default: %s.", prm.def)
	}
	rules := prm.ruleTexts(backquote)
	if prm.Required {
		rules = append([]string{"required"}, rules...)
	}
	if len(rules) > 0 {
		doc += " Rules: " + strings.Join(rules, "; ") + "."
	}
	if prm.Secret {
		doc += " Secret: its value never appears in an error."
	}
	return doc
}

// paramType is the Go type of a parameter of manifest type t.
func paramType(t string) *jen.Statement {
	switch t {
	case manifest.TypeInt:
		return jen.Int()
	case manifest.TypeFloat:
		return jen.Float64()
	case manifest.TypeBool:
		return jen.Bool()
	case manifest.TypeDuration:
		return jen.Qual("time", "Duration")
	case manifest.TypeStrings:
		return jen.Index().String()
	}
	return jen.String()
}

// paramNames declares the sorted names of one scope's parameters, against
// which unknown settings are found.
func paramNames(g *jen.Group, name, what string, params []*param) {
	names := make([]jen.Code, len(params))
	for i, prm := range params {
		names[i] = jen.Lit(prm.Name)
	}
	g.Line()
	comment(g, fmt.Sprintf("%s names %s, sorted, to tell unknown settings apart.", name, what))
	if len(names) > 4 {
		g.Var().Id(name).Op("=").Index().String().Add(lines(names))
	} else {
		g.Var().Id(name).Op("=").Index().String().Values(names...)
	}
}

// parseFunc declares ParseConfig or ParseGlobalConfig.
func parseFunc(g *jen.Group, name, typ, names, what string, params []*param, u *configUses) {
	g.Line()
	comment(g, fmt.Sprintf("%s parses the settings of %s into a %s: it applies defaults, "+
		"converts each value to its parameter's type and checks every rule. A missing or "+
		"empty setting takes the parameter's default. All the problems found are "+
		"returned together, each naming its parameter, in one *sdk.ConfigError; "+
		"the value of a secret parameter is never part of it.", name, what, typ))
	g.Func().Id(name).Params(jen.Id("settings").Map(jen.String()).String()).Params(jen.Id(typ), jen.Error()).BlockFunc(func(g *jen.Group) {
		g.Id("p").Op(":=").Id("settingsParser").Values(jen.Dict{jen.Id("settings"): jen.Id("settings")})
		g.Var().Id("c").Id(typ)
		for _, prm := range params {
			g.Add(parseParam(prm, u))
		}
		g.Id("p").Dot("unknown").Call(jen.Id(names))
		g.If(jen.Err().Op(":=").Id("p").Dot("problems").Dot("Err").Call(), jen.Err().Op("!=").Nil()).Block(
			jen.Return(jen.Id(typ).Values(), jen.Err()),
		)
		g.Return(jen.Id("c"), jen.Nil())
	})
}

// parseParam reads one parameter into its field of c.
func parseParam(prm *param, u *configUses) jen.Code {
	report := func(text jen.Code, msg string) jen.Code {
		if prm.Secret {
			u.invalidSecret = true
			return jen.Id("p").Dot("invalidSecret").Call(jen.Lit(prm.Name), jen.Lit(msg))
		}
		u.invalid = true
		return jen.Id("p").Dot("invalid").Call(jen.Lit(prm.Name), text, jen.Lit(msg))
	}
	field := jen.Id("c").Dot(prm.goName)
	var body []jen.Code
	switch prm.Type {
	case manifest.TypeString:
		body = append(ruleChecks(prm, jen.Id("s"), jen.Id("s"), "", report), field.Clone().Op("=").Id("s"))
	case manifest.TypeStrings:
		u.splitList = true
		body = append(body, field.Clone().Op("=").Id("splitList").Call(jen.Id("s")))
		if len(prm.rules.List) > 0 {
			body = append(body, jen.For(jen.List(jen.Id("_"), jen.Id("item")).Op(":=").Range().Add(field.Clone())).Block(
				ruleChecks(prm, jen.Id("item"), jen.Id("item"), "each item ", report)...,
			))
		}
	default:
		conv, fail, msg := conversion(prm, u)
		good := append(ruleChecks(prm, jen.Id("v"), jen.Id("s"), "", report), field.Clone().Op("=").Id("v"))
		body = append(body, jen.If(conv, fail).Block(report(jen.Id("s"), msg)).Else().Block(good...))
	}
	read := jen.List(jen.Id("s"), jen.Id("ok")).Op(":=").Id("p").Dot("value").Call(jen.Lit(prm.Name), jen.Lit(prm.def), jen.Lit(prm.Required))
	return jen.If(read, jen.Id("ok")).Block(body...)
}

// conversion returns the statement converting s to v, the condition that
// says it failed, and the message for that failure.
func conversion(prm *param, u *configUses) (conv, fail jen.Code, msg string) {
	errFail := jen.Err().Op("!=").Nil()
	switch prm.Type {
	case manifest.TypeInt:
		return jen.List(jen.Id("v"), jen.Err()).Op(":=").Qual("strconv", "Atoi").Call(jen.Id("s")), errFail, "not an int"
	case manifest.TypeFloat:
		u.parseFloat = true
		return jen.List(jen.Id("v"), jen.Id("ok")).Op(":=").Id("parseFloat").Call(jen.Id("s")), jen.Op("!").Id("ok"), "not a float"
	case manifest.TypeBool:
		return jen.List(jen.Id("v"), jen.Err()).Op(":=").Qual("strconv", "ParseBool").Call(jen.Id("s")), errFail, "not a bool (true or false)"
	}
	return jen.List(jen.Id("v"), jen.Err()).Op(":=").Qual("time", "ParseDuration").Call(jen.Id("s")), errFail, "not a duration, such as 10s or 1m30s"
}

// ruleChecks returns one if statement per rule of prm, testing the
// converted value v, or text for a regex.
func ruleChecks(prm *param, v, text jen.Code, prefix string, report func(jen.Code, string) jen.Code) []jen.Code {
	var out []jen.Code
	for i := range prm.rules.List {
		r := &prm.rules.List[i]
		var cond jen.Code
		msg := prefix + "must be " + describe(r, prm, backquote)
		switch r.Type {
		case wire.ValidationGreaterThan:
			cond = jen.Add(v).Op("<=").Add(valueCode(prm, r.Bound))
		case wire.ValidationLessThan:
			cond = jen.Add(v).Op(">=").Add(valueCode(prm, r.Bound))
		case wire.ValidationInclusion:
			cond = jen.Op("!").Qual("slices", "Contains").Call(valuesCode(prm, r.Items), v)
		case wire.ValidationExclusion:
			cond = jen.Qual("slices", "Contains").Call(valuesCode(prm, r.Items), v)
			msg = prefix + "must not be one of " + strings.Join(r.Values, ", ")
			if prm.Secret {
				// Naming the excluded values would tell which one the secret is.
				msg = prefix + "must not be one of the excluded values"
			}
		case wire.ValidationRegex:
			cond = jen.Op("!").Id(patternVar(prm)).Dot("MatchString").Call(text)
			msg = prefix + "must match " + backquote(prm.Regex)
		}
		out = append(out, jen.If(cond).Block(report(text, msg)))
	}
	return out
}

// valueCode writes a value of prm's item type as a Go constant.
func valueCode(prm *param, v wire.Value) *jen.Statement {
	switch wire.ItemType(prm.Type) {
	case manifest.TypeInt:
		return jen.Lit(int(v.Int))
	case manifest.TypeFloat:
		return jen.Lit(v.Float)
	case manifest.TypeBool:
		return jen.Lit(v.Bool)
	case manifest.TypeDuration:
		return durationCode(time.Duration(v.Int))
	}
	return jen.Lit(v.Text)
}

// valuesCode writes a slice literal of values of prm's item type.
func valuesCode(prm *param, vs []wire.Value) *jen.Statement {
	items := make([]jen.Code, len(vs))
	for i, v := range vs {
		items[i] = valueCode(prm, v)
	}
	return jen.Index().Add(paramType(wire.ItemType(prm.Type))).Values(items...)
}

// backquote quotes a regular expression for a message or comment.
func backquote(re string) string { return "`" + re + "`" }
