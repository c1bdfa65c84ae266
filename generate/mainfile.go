package generate

import (
	"fmt"
	"strings"

	"github.com/dave/jennifer/jen"
	"github.com/plugctl/plugctl/manifest"
)

// mainFile generates main.go, which hands the plugin to sdk.Main:
// the settings the host sends are parsed into the typed configuration
// before the user's setup and constructor see them.
func mainFile(p *project) (File, error) {
	f := newGoFile(p, "")
	doc := []string{fmt.Sprintf("Command %s is a plugctl %s plugin.", p.m.Name, p.m.Kind)}
	if p.m.Summary != "" {
		doc = append(doc, p.m.Summary)
	}
	doc = append(doc, "It speaks the plugctl protocol on its standard input and output, so it runs "+
		"under a host (an application built with plugctl's host library, or plugctl test) rather than by hand.")
	for _, line := range wrap(strings.Join(doc, "\n\n"), 74) {
		f.PackageComment(strings.TrimRight("// "+line, " "))
	}

	comment(f.Group, "version is the plugin's version, reported in the handshake and the specification. "+
		"It is the manifest's version unless the build stamps another:")
	f.Comment("//")
	f.Comment("//\tgo build -ldflags \"-X main.version=1.2.3\"")
	f.Var().Id("version").Op("=").Lit(p.m.Version)

	sdkQual := func(name string) *jen.Statement { return jen.Qual(p.sdk, name) }
	// The SDK's hook and the skeleton's constructor for the kind.
	hook, iface, ctor := "Source", "Source", "newSource"
	if p.m.Kind == "sink" {
		hook, iface, ctor = "Sink", "Sink", "newSink"
	}
	open := jen.Id(hook).Op(":").Func().Params(jen.Id("o").Add(sdkQual("Open"))).Params(sdkQual(iface), jen.Error()).Block(
		jen.List(jen.Id("cfg"), jen.Err()).Op(":=").Id("ParseConfig").Call(jen.Id("o").Dot("Settings")),
		jen.If(jen.Err().Op("!=").Nil()).Block(jen.Return(jen.Nil(), jen.Err())),
		jen.Return(jen.Id(ctor).Call(jen.Id("cfg"), jen.Id("o"))),
	)
	if p.m.Shape == manifest.ShapeCallback {
		// The SDK answers OPEN once run first emits or returns, so a
		// configuration error returned here still refuses the OPEN.
		ctor = "run"
		open = jen.Id("Run").Op(":").Func().Params(
			jen.Id("o").Add(sdkQual("Open")), jen.Id("sink").Add(sdkQual("EventSink")), jen.Id("s").Op("*").Add(sdkQual("Session")),
		).Error().Block(
			jen.List(jen.Id("cfg"), jen.Err()).Op(":=").Id("ParseConfig").Call(jen.Id("o").Dot("Settings")),
			jen.If(jen.Err().Op("!=").Nil()).Block(jen.Return(jen.Err())),
			jen.Return(jen.Id(ctor).Call(jen.Id("cfg"), jen.Id("o"), jen.Id("sink"), jen.Id("s"))),
		)
	}
	setup := jen.Id("Setup").Op(":").Func().Params(jen.Id("settings").Map(jen.String()).String()).Error().Block(
		jen.List(jen.Id("g"), jen.Err()).Op(":=").Id("ParseGlobalConfig").Call(jen.Id("settings")),
		jen.If(jen.Err().Op("!=").Nil()).Block(jen.Return(jen.Err())),
		jen.Return(jen.Id("setup").Call(jen.Id("g"))),
	)

	f.Line()
	comment(f.Group, "main hands the plugin to the SDK, which serves the host until it says goodbye. "+
		"The settings the host sends are parsed and checked here, so that setup and "+
		ctor+" get typed configurations.")
	f.Func().Id("main").Params().Block(
		sdkQual("Main").Call(sdkQual("Plugin").Add(lines([]jen.Code{
			jen.Id("Spec").Op(":").Id("Spec").Call(),
			setup,
			open,
		}))),
	)
	return renderGo("main.go", f)
}
