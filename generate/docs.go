package generate

import (
	"fmt"
	"strings"
)

// readmeData is what README.md.tmpl uses; every table cell is already
// escaped for Markdown.
type readmeData struct {
	Header                          string
	Name, Summary, Description      string
	Kind, Version, Author, Skeleton string
	Global, Config                  []paramRow
	Events                          []eventRow
}

type paramRow struct{ Name, Type, Default, Required, Rules, Description string }

type eventRow struct{ Kind, Type, Fields, Description string }

// readmeFile generates README.md: what the plugin is, how to build and
// test it, and tables of its parameters and event kinds.
func readmeFile(p *project) (File, error) {
	m := p.m
	d := readmeData{
		Header:      "<!-- " + strings.TrimPrefix(Header, "// ") + " -->",
		Name:        m.Name,
		Summary:     strings.TrimSpace(m.Summary),
		Description: strings.TrimSpace(m.Description),
		Kind:        m.Kind,
		Version:     m.Version,
		Author:      m.Author,
		Skeleton:    p.skeleton(),
		Global:      paramRows(p.global),
		Config:      paramRows(p.config),
	}
	for i, e := range p.events {
		var fields []string
		for _, f := range e.fields {
			fields = append(fields, cell(code(f.Name))+" "+f.Type)
		}
		if len(fields) == 0 {
			fields = []string{"none: the payload is `{}`"}
		}
		d.Events = append(d.Events, eventRow{
			Kind:        fmt.Sprintf("%s (%d)", cell(code(e.Name)), i),
			Type:        code(e.typ),
			Fields:      strings.Join(fields, ", "),
			Description: cell(e.Description),
		})
	}
	return render("README.md", "README.md.tmpl", Plugctl, d)
}

// paramRows makes the README table rows of one scope's parameters.
func paramRows(ps []*param) []paramRow {
	var rows []paramRow
	for _, prm := range ps {
		r := paramRow{
			Name:        cell(code(prm.Name)),
			Type:        prm.Type,
			Required:    "no",
			Description: cell(prm.Description),
		}
		if prm.Secret {
			r.Name += " (secret)"
		}
		if prm.def != "" {
			r.Default = cell(code(prm.def))
		}
		if prm.Required {
			r.Required = "yes"
		}
		r.Rules = cell(strings.Join(prm.ruleTexts(code), "; "))
		rows = append(rows, r)
	}
	return rows
}

// code writes s as a Markdown code span; backticks inside take a longer
// fence.
func code(s string) string {
	if strings.Contains(s, "`") {
		return "`` " + s + " ``"
	}
	return "`" + s + "`"
}

// cell makes text safe in a table cell: one line, and every pipe escaped,
// as GitHub's tables want even inside code spans.
func cell(s string) string {
	return strings.ReplaceAll(strings.Join(strings.Fields(s), " "), "|", `\|`)
}
