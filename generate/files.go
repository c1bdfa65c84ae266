package generate

import (
	"fmt"

	"github.com/plugctl/plugctl/templates"
)

// projectData is what the templates of the project's plain files use.
type projectData struct {
	Name   string // the plugin's name, also the binary's
	Module string
}

func (p *project) data() projectData { return projectData{Name: p.m.Name, Module: p.module} }

// render renders a template into a file.
func render(path, tmpl string, owner Owner, data any) (File, error) {
	b, err := templates.Render(tmpl, data)
	if err != nil {
		return File{}, fmt.Errorf("%s: %w", path, err)
	}
	return File{Path: path, Data: b, Owner: owner}, nil
}

// goModFile generates go.mod. It has no require: the SDK is copied
// into the project, which builds with the standard library alone.
func goModFile(p *project) (File, error) {
	return render("go.mod", "go.mod.tmpl", User, p.data())
}

// makefileFile generates the Makefile with build, test, generate and
// check targets.
func makefileFile(p *project) (File, error) {
	return render("Makefile", "Makefile.tmpl", User, p.data())
}

// workflowFile generates the CI workflow that runs the same checks as
// make check and make test.
func workflowFile(p *project) (File, error) {
	return render(".github/workflows/plugin.yml", "plugin.yml.tmpl", User, p.data())
}

// gitignoreFile generates .gitignore, which keeps the built binary out.
func gitignoreFile(p *project) (File, error) {
	return render(".gitignore", "gitignore.tmpl", User, p.data())
}
