package generate

import (
	"fmt"
	"slices"

	"github.com/plugctl/plugctl/manifest"
)

// skeletonData is what source.go.tmpl and sink.go.tmpl use.
type skeletonData struct {
	SDK       string
	Wire      string
	Interval  bool           // the manifest has a duration parameter "interval"
	Path      bool           // the manifest has a string parameter "path"
	SyncEvery bool           // the manifest has a duration parameter "sync_every"
	LogLevel  bool           // the manifest has a global string parameter "log.level"
	Kind      string         // "source" or "sink"
	Event     *skeletonEvent // the first event kind; nil when there is none
}

// skeletonEvent is the event kind the example source emits.
type skeletonEvent struct {
	Name   string
	Type   string
	Add    string
	Fields []fieldValue // the fields the example fills in
}

type fieldValue struct{ Name, Value string }

// skeletonFile generates source.go or sink.go, the user's file with a
// working example of the plugin's logic. It is written once, from the
// manifest of that moment, and then belongs to the user.
func skeletonFile(p *project) (File, error) {
	d := skeletonData{
		SDK:       p.sdk,
		Wire:      p.wire,
		Interval:  hasParam(p.config, "interval", manifest.TypeDuration),
		Path:      hasParam(p.config, "path", manifest.TypeString),
		SyncEvery: hasParam(p.config, "sync_every", manifest.TypeDuration),
		LogLevel:  hasParam(p.global, "log.level", manifest.TypeString),
		Kind:      p.m.Kind,
	}
	if len(p.events) > 0 {
		e := p.events[0]
		d.Event = &skeletonEvent{Name: e.Name, Type: e.typ, Add: "Add" + e.goName}
		for _, f := range e.fields {
			if v := exampleValue(f, hasParam(p.config, "note", manifest.TypeString)); v != "" {
				d.Event.Fields = append(d.Event.Fields, fieldValue{f.goName, v})
			}
		}
	}
	path := p.skeleton()
	b, err := render(path, p.skeleton()+".tmpl", User, d)
	if err != nil {
		return File{}, err
	}
	if b.Data, err = formatGo(path, b.Data); err != nil {
		return File{}, err
	}
	return b, nil
}

// exampleValue is what the example source puts in a field: something
// plausible for the starter's fields (the note parameter, when hasNote, for
// a note), the current time for any time, and nothing for the rest.
func exampleValue(f *field, hasNote bool) string {
	switch {
	case f.Type == manifest.FieldTime:
		return "now"
	case f.Name == "seq" && f.Type == manifest.FieldInt:
		return "int64(s.position + 1)"
	case f.Name == "alive" && f.Type == manifest.FieldBool:
		return "true"
	case f.Name == "note" && f.Type == manifest.FieldString && hasNote:
		return "s.cfg.Note"
	case f.Name == "note" && f.Type == manifest.FieldString:
		return fmt.Sprintf("%q", "hello")
	}
	return ""
}

// hasParam reports whether ps has a parameter name of type typ.
func hasParam(ps []*param, name, typ string) bool {
	return slices.ContainsFunc(ps, func(p *param) bool { return p.Name == name && p.Type == typ })
}
