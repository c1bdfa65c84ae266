package generate

import (
	"fmt"
	"regexp"

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
// make check and make test, with the plugctl that generated the project.
func workflowFile(p *project) (File, error) {
	install, pinned := installVersion(p.generator)
	return render(".github/workflows/plugin.yml", "plugin.yml.tmpl", User, struct {
		projectData
		Generator, Install string
		Pinned             bool
	}{p.data(), p.generator, install, pinned})
}

// releaseRE matches a plugctl release: a semantic version with a leading v
// and no build metadata, so not a development build's +dirty.
var releaseRE = regexp.MustCompile(`^v(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(-[0-9A-Za-z.-]+)?$`)

// pseudoRE matches the pseudo-version Go stamps on a build from a commit
// (v0.0.0-20250102150405-abcdef123456), which may exist nowhere but there.
var pseudoRE = regexp.MustCompile(`\d{14}-[0-9a-f]{12}$`)

// installVersion is the version of plugctl the CI workflow installs: the
// release that generated the project, so that generate --check in CI
// compares with the generator that wrote the code, and pinned is true. A
// development build ((devel), a pseudo-version) is nothing go install can
// be sure to fetch, so the workflow installs the latest release instead.
func installVersion(generator string) (install string, pinned bool) {
	if releaseRE.MatchString(generator) && !pseudoRE.MatchString(generator) {
		return generator, true
	}
	return "latest", false
}

// gitignoreFile generates .gitignore, which keeps the built binary out.
func gitignoreFile(p *project) (File, error) {
	return render(".gitignore", "gitignore.tmpl", User, p.data())
}
