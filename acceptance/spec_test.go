package acceptance

import (
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/plugctl/plugctl/wire"
)

func TestSpec(t *testing.T) {
	m := fixtureManifest("sink")
	m.Config[0], m.Config[1] = m.Config[1], m.Config[0] // Spec sorts
	s := m.Spec()
	if s.Role != wire.RoleSink || s.Name != "fixture" || s.Version != "1.2.3" {
		t.Errorf("identity %+v", s)
	}
	var names []string
	for _, p := range s.Params {
		names = append(names, p.Name)
	}
	if strings.Join(names, " ") != "auth.token burst interval level mode ratio tags ticks url verbose" {
		t.Errorf("params in order %v", names)
	}
	url := s.Params[8]
	want := []wire.Validation{{Type: wire.ValidationRequired}, {Type: wire.ValidationRegex, Value: "^https?://"}}
	if !reflect.DeepEqual(url.Validations, want) || url.Default != "" {
		t.Errorf("url %+v", url)
	}
	burst := s.Params[1]
	want = []wire.Validation{{Type: wire.ValidationGreaterThan, Value: "-1"}, {Type: wire.ValidationLessThan, Value: "100001"}}
	if !reflect.DeepEqual(burst.Validations, want) || burst.Default != "1000" {
		t.Errorf("burst %+v", burst)
	}
	if !s.Params[0].Secret || s.Params[3].Validations[0].Type != wire.ValidationInclusion {
		t.Errorf("auth.token or level %+v %+v", s.Params[0], s.Params[3])
	}
}

func TestDiffSpec(t *testing.T) {
	want := fixtureManifest("source").Spec()
	if d := diffSpec(&want, &want); len(d) > 0 {
		t.Fatalf("a spec differs from itself: %v", d)
	}
	got := fixtureManifest("source").Spec()
	got.Params[8].Validations[1].Value = "^https://"
	got.Params = slices.Delete(got.Params, 1, 2) // burst missing
	got.Events[0].Fields = append(got.Events[0].Fields, wire.Field{Name: "extra", Type: "int"})
	d := diffSpec(&want, &got)
	wantDiffs := []string{
		`config["burst"]: missing`,
		`config["url"].regex: want "^https?://", got "^https://"`,
		`events["tick"].fields["extra"]: not in the manifest`,
	}
	if !reflect.DeepEqual(d, wantDiffs) {
		t.Errorf("diffs\n%s\nwant\n%s", strings.Join(d, "\n"), strings.Join(wantDiffs, "\n"))
	}
}
