package acceptance

import (
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/plugctl/plugctl/wire"
)

// maxDiffs is how many differences spec/matches-manifest reports.
const maxDiffs = 5

// pluginSpec starts a plugin and asks for its SPEC.
func (t *checkRun) pluginSpec() (*wire.Spec, error) {
	p, err := t.start(defaultHeartbeat)
	if err != nil {
		return nil, err
	}
	return p.spec(t.ctx)
}

// checkSpecMatches: the SPEC is the manifest's, field for field.
func checkSpecMatches(t *checkRun) error {
	if t.env.opts.Manifest == nil {
		return skipf("no manifest to compare with (pass --manifest)")
	}
	got, err := t.pluginSpec()
	if err != nil {
		return err
	}
	if d := diffSpec(&t.env.spec, got); len(d) > 0 {
		if len(d) > maxDiffs {
			d = append(d[:maxDiffs], fmt.Sprintf("and %d more differences", len(d)-maxDiffs))
		}
		if h := t.env.opts.SpecHint; h != "" {
			d = append(d, h)
		}
		return failf("SPEC equal to the manifest's specification", "%s", strings.Join(d, "\n"))
	}
	return nil
}

// diffSpec lists the differences between two specs, each as
// `where: want X, got Y`. Parameters, validations and event kinds are
// matched by name and type, not position: their order carries no meaning.
func diffSpec(want, got *wire.Spec) []string {
	var d diffs
	d.str("name", want.Name, got.Name)
	d.str("summary", want.Summary, got.Summary)
	d.str("description", want.Description, got.Description)
	d.str("version", want.Version, got.Version)
	d.str("author", want.Author, got.Author)
	d.str("role", want.Role.String(), got.Role.String())
	d.params("global", want.Global, got.Global)
	d.params("config", want.Params, got.Params)
	for _, w := range want.Events {
		where := fmt.Sprintf("events[%q]", w.Name)
		i := slices.IndexFunc(got.Events, func(k wire.EventKind) bool { return k.Name == w.Name })
		if i < 0 {
			d.add("%s: missing", where)
			continue
		}
		g := got.Events[i]
		d.str(where+".description", w.Description, g.Description)
		for _, f := range w.Fields {
			j := slices.IndexFunc(g.Fields, func(x wire.Field) bool { return x.Name == f.Name })
			if j < 0 {
				d.add("%s.fields[%q]: missing", where, f.Name)
				continue
			}
			d.str(fmt.Sprintf("%s.fields[%q].type", where, f.Name), f.Type, g.Fields[j].Type)
		}
		for _, f := range g.Fields {
			if !slices.ContainsFunc(w.Fields, func(x wire.Field) bool { return x.Name == f.Name }) {
				d.add("%s.fields[%q]: not in the manifest", where, f.Name)
			}
		}
	}
	for _, g := range got.Events {
		if !slices.ContainsFunc(want.Events, func(k wire.EventKind) bool { return k.Name == g.Name }) {
			d.add("events[%q]: not in the manifest", g.Name)
		}
	}
	return d
}

type diffs []string

func (d *diffs) add(format string, args ...any) { *d = append(*d, fmt.Sprintf(format, args...)) }

func (d *diffs) str(where, want, got string) {
	if want != got {
		d.add("%s: want %q, got %q", where, want, got)
	}
}

func (d *diffs) params(scope string, want, got []wire.Param) {
	for _, w := range want {
		where := fmt.Sprintf("%s[%q]", scope, w.Name)
		g := findParam(got, w.Name)
		if g == nil {
			d.add("%s: missing", where)
			continue
		}
		d.str(where+".type", w.Type, g.Type)
		d.str(where+".default", w.Default, g.Default)
		d.str(where+".description", w.Description, g.Description)
		if w.Secret != g.Secret {
			d.add("%s.secret: want %v, got %v", where, w.Secret, g.Secret)
		}
		for _, v := range w.Validations {
			i := slices.IndexFunc(g.Validations, func(x wire.Validation) bool { return x.Type == v.Type })
			if i < 0 {
				d.add("%s.validations: %s missing", where, v.Type)
				continue
			}
			d.str(fmt.Sprintf("%s.%s", where, v.Type), describeValidation(v), describeValidation(g.Validations[i]))
		}
		for _, v := range g.Validations {
			if !slices.ContainsFunc(w.Validations, func(x wire.Validation) bool { return x.Type == v.Type }) {
				d.add("%s.validations: %s not in the manifest", where, v.Type)
			}
		}
	}
	for _, g := range got {
		if findParam(want, g.Name) == nil {
			d.add("%s[%q]: not in the manifest", scope, g.Name)
		}
	}
}

func describeValidation(v wire.Validation) string {
	if v.Values != nil {
		return fmt.Sprintf("%q", v.Values)
	}
	return v.Value
}

// checkSpecMetadata: the fields a host shows about a plugin are filled in.
func checkSpecMetadata(t *checkRun) error {
	s, err := t.pluginSpec()
	if err != nil {
		return err
	}
	for _, f := range []struct{ name, value string }{{"name", s.Name}, {"summary", s.Summary}, {"version", s.Version}} {
		if strings.TrimSpace(f.value) == "" {
			return failf("a non-empty "+f.name, "%q", f.value)
		}
	}
	return nil
}

// semver is the regular expression of semver.org, without a leading "v".
var semver = regexp.MustCompile(`^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)` +
	`(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?` +
	`(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$`)

// checkSpecSemver: the version is semver, so hosts can compare versions.
func checkSpecSemver(t *checkRun) error {
	s, err := t.pluginSpec()
	if err != nil {
		return err
	}
	if !semver.MatchString(s.Version) {
		return failf("a semantic version such as 1.2.3 (no leading v)", "%q", s.Version)
	}
	return nil
}
