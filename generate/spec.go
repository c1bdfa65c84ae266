package generate

import (
	"github.com/dave/jennifer/jen"

	"github.com/plugctl/plugctl/wire"
)

// specFile generates spec_gen.go: Spec, the plugin's specification as a Go
// value. It is built from manifest.Spec, the value the acceptance
// checks compare a running plugin against, so the two cannot disagree.
func specFile(p *project) (File, error) {
	f := newGoFile(p, "")
	s := p.m.Spec()
	wireQual := func(name string) *jen.Statement { return jen.Qual(p.wire, name) }

	var spec fields
	spec.add("Name", jen.Lit(s.Name))
	spec.str("Summary", s.Summary)
	spec.str("Description", s.Description)
	spec.add("Version", jen.Id("version"))
	spec.str("Author", s.Author)
	spec.add("Role", wireQual(p.role()))
	if len(s.Global) > 0 {
		spec.add("Global", specParams(wireQual, s.Global))
	}
	if len(s.Params) > 0 {
		spec.add("Params", specParams(wireQual, s.Params))
	}
	if len(s.Events) > 0 {
		kinds := make([]jen.Code, len(s.Events))
		for i, k := range s.Events {
			var kind fields
			kind.add("Name", jen.Lit(k.Name))
			kind.str("Description", k.Description)
			if len(k.Fields) > 0 {
				fs := make([]jen.Code, len(k.Fields))
				for j, fl := range k.Fields {
					var field fields
					field.add("Name", jen.Lit(fl.Name))
					field.add("Type", jen.Lit(fl.Type))
					fs[j] = field.inline()
				}
				kind.add("Fields", jen.Index().Add(wireQual("Field")).Add(lines(fs)))
			}
			kinds[i] = kind.lines()
		}
		spec.add("Events", jen.Index().Add(wireQual("EventKind")).Add(lines(kinds)))
	}

	f.Line()
	comment(f.Group, "Spec returns the plugin's specification, which the host asks for: its identity, "+
		"its parameters in name order with their rules, and its event kinds in kind-table order, "+
		"all as plugin.toml declares them. Version is the version variable, so that a build "+
		"stamped with -ldflags reports its own.")
	f.Func().Id("Spec").Params().Add(wireQual("Spec")).Block(
		jen.Return(wireQual("Spec").Add(spec.lines())),
	)
	return renderGo("spec_gen.go", f)
}

// specParams writes a []wire.Param literal.
func specParams(wireQual func(string) *jen.Statement, ps []wire.Param) jen.Code {
	items := make([]jen.Code, len(ps))
	for i, prm := range ps {
		var d fields
		d.add("Name", jen.Lit(prm.Name))
		d.add("Type", jen.Lit(prm.Type))
		d.str("Default", prm.Default)
		d.str("Description", prm.Description)
		if prm.Secret {
			d.add("Secret", jen.True())
		}
		if len(prm.Validations) > 0 {
			vs := make([]jen.Code, len(prm.Validations))
			for j, v := range prm.Validations {
				var vd fields
				vd.add("Type", wireQual(validationConst[v.Type]))
				vd.str("Value", v.Value)
				if len(v.Values) > 0 {
					lits := make([]jen.Code, len(v.Values))
					for k, x := range v.Values {
						lits[k] = jen.Lit(x)
					}
					vd.add("Values", jen.Index().String().Values(lits...))
				}
				vs[j] = vd.inline()
			}
			d.add("Validations", jen.Index().Add(wireQual("Validation")).Add(lines(vs)))
		}
		items[i] = d.lines()
	}
	return jen.Index().Add(wireQual("Param")).Add(lines(items))
}

// validationConst names the SDK constant of each validation type.
var validationConst = map[wire.ValidationType]string{
	wire.ValidationRequired:    "ValidationRequired",
	wire.ValidationGreaterThan: "ValidationGreaterThan",
	wire.ValidationLessThan:    "ValidationLessThan",
	wire.ValidationInclusion:   "ValidationInclusion",
	wire.ValidationExclusion:   "ValidationExclusion",
	wire.ValidationRegex:       "ValidationRegex",
}

// fields are the keyed elements of a composite literal, kept in the order
// they are added (jen.Dict would sort them by name).
type fields []jen.Code

func (fs *fields) add(key string, v jen.Code) { *fs = append(*fs, jen.Id(key).Op(":").Add(v)) }

// str adds a string field unless it is empty, the zero value a reader
// need not see.
func (fs *fields) str(key, s string) {
	if s != "" {
		fs.add(key, jen.Lit(s))
	}
}

// lines writes the literal's body with one element per line.
func (fs fields) lines() *jen.Statement { return lines(fs) }

// inline writes the literal's body on one line.
func (fs fields) inline() *jen.Statement { return jen.Values(fs...) }

// lines writes the body of a composite literal, {...}, with one element per
// line and a trailing comma, as gofmt users write long literals.
func lines(items []jen.Code) *jen.Statement {
	out := make([]jen.Code, 0, len(items)+1)
	for _, it := range items {
		out = append(out, jen.Line().Add(it))
	}
	return jen.Values(append(out, jen.Line())...)
}
