package generate

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/plugctl/plugctl/manifest"
)

// project is a manifest with everything generation derives from it once:
// Go names, sorted lists, parsed bounds. Every artifact is built from it.
type project struct {
	m       *manifest.Manifest
	module  string // the generated project's module path
	sdk     string // import path of its copy of the SDK
	sdktest string // import path of its copy of the SDK's test checks
	wire    string // import path of its copy of the wire package
	config  []*param
	global  []*param
	events  []*event // in kind-table order: index i is sdk.Kind(i)

	generator string // the plugctl version generating the project
}

// event is one event kind with the names of its generated identifiers.
type event struct {
	manifest.EventKind
	goName string // Tick
	kind   string // KindTick
	typ    string // TickEvent
	fields []*field
}

// field is one payload field of an event kind.
type field struct {
	manifest.Field
	goName string
	key    string // the JSON object key and colon, as encoding/json writes it
}

// newProject derives the project from m. It fails on manifests that would
// give Go code that does not compile; the manifest checker rejects them
// too, so this only guards against manifests built by hand.
func newProject(m *manifest.Manifest) (*project, error) {
	p := &project{m: m, module: m.ModulePath()}
	p.sdk = p.module + "/internal/sdk"
	p.sdktest = p.sdk + "/sdktest"
	p.wire = p.module + "/internal/wire"
	if m.Kind != "source" && m.Kind != "sink" {
		return nil, fmt.Errorf("kind %q: want source or sink", m.Kind)
	}
	var err error
	if p.config, err = newParams("config", m.Config); err != nil {
		return nil, err
	}
	if p.global, err = newParams("global", m.Global); err != nil {
		return nil, err
	}
	if p.events, err = newEvents(m.Kind, m.Events); err != nil {
		return nil, err
	}
	return p, nil
}

// newEvents sorts the kinds of a plugin of kind pluginKind by name, the
// order of the kind table that manifest.Spec reports, and names their Go
// identifiers, which must not clash with each other or with the fixed ones.
func newEvents(pluginKind string, kinds []manifest.EventKind) ([]*event, error) {
	var events []*event
	declared := map[string]string{}
	for _, id := range manifest.FixedIdents() {
		declared[id] = "generated code"
	}
	for _, k := range kinds {
		g := manifest.GoName(k.Name)
		e := &event{EventKind: k, goName: g, kind: "Kind" + g, typ: g + "Event"}
		for _, id := range manifest.KindIdents(k.Name, pluginKind) {
			if other, dup := declared[id.Name]; dup {
				return nil, fmt.Errorf("events.%s: its %s %s is declared by %s too", k.Name, id.What, id.Name, other)
			}
			declared[id.Name] = "events." + k.Name
		}
		names := map[string]string{"AppendJSON": "the method AppendJSON"}
		for _, f := range k.Fields {
			fg := manifest.GoName(f.Name)
			if other, dup := names[fg]; dup {
				return nil, fmt.Errorf("events.%s: field %s clashes with %s (Go name %s)", k.Name, f.Name, other, fg)
			}
			names[fg] = "field " + f.Name
			if !slices.Contains(fieldTypes, f.Type) {
				return nil, fmt.Errorf("events.%s: field %s has unknown type %q", k.Name, f.Name, f.Type)
			}
			key, err := json.Marshal(f.Name)
			if err != nil {
				return nil, err
			}
			e.fields = append(e.fields, &field{Field: f, goName: fg, key: string(key) + ":"})
		}
		events = append(events, e)
	}
	slices.SortStableFunc(events, func(a, b *event) int { return strings.Compare(a.Name, b.Name) })
	return events, nil
}

var fieldTypes = []string{
	manifest.FieldString, manifest.FieldInt, manifest.FieldFloat, manifest.FieldBool,
	manifest.FieldTime, manifest.FieldDuration, manifest.FieldBytes, manifest.FieldStrings,
}

// role is the manifest kind as the SDK's Role constant.
func (p *project) role() string {
	if p.m.Kind == "sink" {
		return "RoleSink"
	}
	return "RoleSource"
}

// skeleton is the path of the user's file with the plugin's logic.
func (p *project) skeleton() string { return p.m.Kind + ".go" }
