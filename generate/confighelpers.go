package generate

import "github.com/dave/jennifer/jen"

// parserHelpers declares settingsParser and the functions the parsing code
// shares, leaving out the optional ones u says nobody calls.
func parserHelpers(g *jen.Group, sdk string, u *configUses) {
	recv := jen.Id("p").Op("*").Id("settingsParser")
	problems := jen.Id("p").Dot("problems")

	g.Line()
	comment(g, "settingsParser reads one settings map and collects every problem it finds.")
	g.Type().Id("settingsParser").Struct(
		jen.Id("settings").Map(jen.String()).String(),
		jen.Id("problems").Qual(sdk, "ConfigError"),
	)

	g.Line()
	comment(g, "value returns the setting called name, or def when the setting is missing or empty. "+
		"ok is false when neither gives a value; a required parameter is then reported missing.")
	g.Func().Params(recv.Clone()).Id("value").Params(jen.List(jen.Id("name"), jen.Id("def")).String(), jen.Id("required").Bool()).
		Params(jen.Id("s").String(), jen.Id("ok").Bool()).Block(
		jen.Id("s").Op("=").Id("p").Dot("settings").Index(jen.Id("name")),
		jen.If(jen.Id("s").Op("==").Lit("")).Block(jen.Id("s").Op("=").Id("def")),
		jen.If(jen.Id("s").Op("==").Lit("").Op("&&").Id("required")).Block(
			problems.Clone().Dot("Add").Call(jen.Id("name"), jen.Lit("is required")),
		),
		jen.Return(jen.Id("s"), jen.Id("s").Op("!=").Lit("")),
	)

	if u.invalid {
		g.Line()
		comment(g, "invalid reports a value that breaks a rule, quoting it.")
		g.Func().Params(recv.Clone()).Id("invalid").Params(jen.List(jen.Id("name"), jen.Id("value"), jen.Id("problem")).String()).Block(
			problems.Clone().Dot("Add").Call(jen.Id("name"),
				jen.Id("problem").Op("+").Lit(" (got ").Op("+").Qual("strconv", "Quote").Call(jen.Id("value")).Op("+").Lit(")")),
		)
	}
	if u.invalidSecret {
		g.Line()
		comment(g, "invalidSecret reports a value of a secret parameter that breaks a rule. "+
			"It takes no value, so that none can leak into the message.")
		g.Func().Params(recv.Clone()).Id("invalidSecret").Params(jen.List(jen.Id("name"), jen.Id("problem")).String()).Block(
			problems.Clone().Dot("Add").Call(jen.Id("name"), jen.Id("problem")),
		)
	}

	g.Line()
	comment(g, "unknown reports each setting, in name order, that is not in the sorted list known, "+
		"with the closest known name as a suggestion.")
	g.Func().Params(recv.Clone()).Id("unknown").Params(jen.Id("known").Index().String()).Block(
		jen.For(jen.List(jen.Id("_"), jen.Id("name")).Op(":=").Range().Qual("slices", "Sorted").Call(
			jen.Qual("maps", "Keys").Call(jen.Id("p").Dot("settings")))).Block(
			jen.If(jen.List(jen.Id("_"), jen.Id("found")).Op(":=").Qual("slices", "BinarySearch").Call(jen.Id("known"), jen.Id("name")), jen.Id("found")).Block(
				jen.Continue(),
			),
			jen.Id("msg").Op(":=").Lit("unknown parameter"),
			jen.If(jen.Id("guess").Op(":=").Id("closest").Call(jen.Id("name"), jen.Id("known")), jen.Id("guess").Op("!=").Lit("")).Block(
				jen.Id("msg").Op("+=").Lit("; did you mean ").Op("+").Qual("strconv", "Quote").Call(jen.Id("guess")).Op("+").Lit("?"),
			),
			problems.Clone().Dot("Add").Call(jen.Id("name"), jen.Id("msg")),
		),
	)

	g.Line()
	comment(g, "closest returns the name in known nearest to name, or \"\" when none is near enough to be what was meant.")
	g.Func().Id("closest").Params(jen.Id("name").String(), jen.Id("known").Index().String()).String().Block(
		jen.Id("name").Op("=").Qual("strings", "ToLower").Call(jen.Id("name")),
		jen.List(jen.Id("best"), jen.Id("bestDist")).Op(":=").List(jen.Lit(""), jen.Lit(0)),
		jen.For(jen.List(jen.Id("_"), jen.Id("k")).Op(":=").Range().Id("known")).Block(
			jen.Id("d").Op(":=").Id("editDistance").Call(jen.Id("name"), jen.Id("k")),
			jen.If(jen.Id("d").Op("<=").Max(jen.Lit(1), jen.Len(jen.Id("k")).Op("/").Lit(3)).Op("&&").
				Parens(jen.Id("best").Op("==").Lit("").Op("||").Id("d").Op("<").Id("bestDist"))).Block(
				jen.List(jen.Id("best"), jen.Id("bestDist")).Op("=").List(jen.Id("k"), jen.Id("d")),
			),
		),
		jen.Return(jen.Id("best")),
	)

	g.Line()
	comment(g, "editDistance is the Levenshtein distance between a and b, counted in bytes.")
	g.Func().Id("editDistance").Params(jen.List(jen.Id("a"), jen.Id("b")).String()).Int().Block(
		jen.Id("prev").Op(":=").Make(jen.Index().Int(), jen.Len(jen.Id("b")).Op("+").Lit(1)),
		jen.Id("cur").Op(":=").Make(jen.Index().Int(), jen.Len(jen.Id("b")).Op("+").Lit(1)),
		jen.For(jen.Id("j").Op(":=").Range().Id("prev")).Block(jen.Id("prev").Index(jen.Id("j")).Op("=").Id("j")),
		jen.For(jen.Id("i").Op(":=").Lit(1), jen.Id("i").Op("<=").Len(jen.Id("a")), jen.Id("i").Op("++")).Block(
			jen.Id("cur").Index(jen.Lit(0)).Op("=").Id("i"),
			jen.For(jen.Id("j").Op(":=").Lit(1), jen.Id("j").Op("<=").Len(jen.Id("b")), jen.Id("j").Op("++")).Block(
				jen.Id("cost").Op(":=").Lit(1),
				jen.If(jen.Id("a").Index(jen.Id("i").Op("-").Lit(1)).Op("==").Id("b").Index(jen.Id("j").Op("-").Lit(1))).Block(
					jen.Id("cost").Op("=").Lit(0),
				),
				jen.Id("cur").Index(jen.Id("j")).Op("=").Min(
					jen.Id("prev").Index(jen.Id("j")).Op("+").Lit(1),
					jen.Id("cur").Index(jen.Id("j").Op("-").Lit(1)).Op("+").Lit(1),
					jen.Id("prev").Index(jen.Id("j").Op("-").Lit(1)).Op("+").Id("cost"),
				),
			),
			jen.List(jen.Id("prev"), jen.Id("cur")).Op("=").List(jen.Id("cur"), jen.Id("prev")),
		),
		jen.Return(jen.Id("prev").Index(jen.Len(jen.Id("b")))),
	)

	if u.parseFloat {
		g.Line()
		comment(g, "parseFloat parses a float parameter. NaN and the infinities are refused: "+
			"no rule or computation could make sense of them.")
		g.Func().Id("parseFloat").Params(jen.Id("s").String()).Params(jen.Float64(), jen.Bool()).Block(
			jen.List(jen.Id("f"), jen.Err()).Op(":=").Qual("strconv", "ParseFloat").Call(jen.Id("s"), jen.Lit(64)),
			jen.Return(jen.Id("f"), jen.Err().Op("==").Nil().Op("&&").Op("!").Qual("math", "IsNaN").Call(jen.Id("f")).
				Op("&&").Op("!").Qual("math", "IsInf").Call(jen.Id("f"), jen.Lit(0))),
		)
	}
	if u.splitList {
		g.Line()
		comment(g, "splitList splits the value of a strings parameter at its commas, "+
			"trimming the space around each item and dropping empty ones.")
		g.Func().Id("splitList").Params(jen.Id("s").String()).Index().String().Block(
			jen.Var().Id("items").Index().String(),
			jen.For(jen.List(jen.Id("_"), jen.Id("item")).Op(":=").Range().Qual("strings", "Split").Call(jen.Id("s"), jen.Lit(","))).Block(
				jen.If(jen.Id("item").Op("=").Qual("strings", "TrimSpace").Call(jen.Id("item")), jen.Id("item").Op("!=").Lit("")).Block(
					jen.Id("items").Op("=").Append(jen.Id("items"), jen.Id("item")),
				),
			),
			jen.Return(jen.Id("items")),
		)
	}
}
