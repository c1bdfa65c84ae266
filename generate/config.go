package generate

import (
	"fmt"
	"strings"
	"time"

	"github.com/dave/jennifer/jen"

	"github.com/plugctl/plugctl/manifest"
	"github.com/plugctl/plugctl/wire"
)

// configFile generates config_gen.go: the typed configuration structs and
// the functions that fill them from settings, which the SDK checks
// against the specification's parameters (sdk.ParseSettings).
func configFile(p *project) (File, error) {
	f := newGoFile(p, "")
	configStruct(f.Group, "Config", "Config is the configuration of one instance of the plugin, "+
		"parsed by ParseConfig from the settings the host sends when it opens the instance "+
		"([config.*] in plugin.toml).", p.config)
	configStruct(f.Group, "GlobalConfig", "GlobalConfig is the process-wide configuration of the plugin, "+
		"parsed by ParseGlobalConfig from the settings the host sends once, in setup "+
		"([global.*] in plugin.toml).", p.global)
	parseFunc(f.Group, p, "ParseConfig", "Config", "Params", "one instance", p.config)
	parseFunc(f.Group, p, "ParseGlobalConfig", "GlobalConfig", "Global", "the process", p.global)
	return renderGo("config_gen.go", f)
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

// parseFunc declares ParseConfig or ParseGlobalConfig, which check the
// settings against the parameters in Spec().<specField> and fill a typ.
func parseFunc(g *jen.Group, p *project, name, typ, specField, what string, params []*param) {
	g.Line()
	comment(g, fmt.Sprintf("%s parses the settings of %s into a %s: it applies defaults, "+
		"converts each value to its parameter's type and checks every rule, as Spec() "+
		"declares them. A missing or empty setting takes the parameter's default. All the "+
		"problems found are returned together, each naming its parameter, in one "+
		"*sdk.ConfigError; the value of a secret parameter is never part of it.", name, what, typ))
	parse := jen.Qual(p.sdk, "ParseSettings").Call(jen.Id("Spec").Call().Dot(specField), jen.Id("settings"))
	g.Func().Id(name).Params(jen.Id("settings").Map(jen.String()).String()).Params(jen.Id(typ), jen.Error()).BlockFunc(func(g *jen.Group) {
		if len(params) == 0 {
			g.If(jen.List(jen.Id("_"), jen.Err()).Op(":=").Add(parse), jen.Err().Op("!=").Nil()).Block(
				jen.Return(jen.Id(typ).Values(), jen.Err()),
			)
			g.Return(jen.Id(typ).Values(), jen.Nil())
			return
		}
		g.List(jen.Id("s"), jen.Err()).Op(":=").Add(parse)
		g.If(jen.Err().Op("!=").Nil()).Block(jen.Return(jen.Id(typ).Values(), jen.Err()))
		var fs fields
		for _, prm := range params {
			fs.add(prm.goName, jen.Id("s").Dot(getter[prm.Type]).Call(jen.Lit(prm.Name)))
		}
		g.Return(jen.Id(typ).Add(fs.lines()), jen.Nil())
	})
}

// getter names the method of sdk.Settings that reads a parameter of each
// type.
var getter = map[string]string{
	manifest.TypeString:   "String",
	manifest.TypeInt:      "Int",
	manifest.TypeFloat:    "Float",
	manifest.TypeBool:     "Bool",
	manifest.TypeDuration: "Duration",
	manifest.TypeStrings:  "Strings",
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

// backquote quotes a regular expression for a message or comment.
func backquote(re string) string { return "`" + re + "`" }
