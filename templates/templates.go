// Package templates holds the text/template files plugctl renders into a
// plugin project: the files the user owns (the skeleton, the Makefile, the
// CI workflow, the starter plugin.toml) and the generated files that are not
// Go. Go code that plugctl owns is built with jennifer in package generate.
//
// Templates receive data that generate has already prepared and escaped, so
// they hold layout only, with no logic beyond choosing between variants.
package templates

import (
	"bytes"
	"embed"
	"fmt"
	"text/template"
)

//go:embed *.tmpl
var files embed.FS

// all is parsed once: the templates are fixed at build time, so a parse
// error is a bug that every test catches.
var all = template.Must(template.New("").Option("missingkey=error").ParseFS(files, "*.tmpl"))

// Render executes the template named name (its file name, such as
// "Makefile.tmpl") with data.
func Render(name string, data any) ([]byte, error) {
	t := all.Lookup(name)
	if t == nil {
		return nil, fmt.Errorf("templates: no template %q", name)
	}
	var b bytes.Buffer
	if err := t.Execute(&b, data); err != nil {
		return nil, fmt.Errorf("templates: %w", err)
	}
	return b.Bytes(), nil
}
