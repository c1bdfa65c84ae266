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
	Workers   bool           // the manifest has an int parameter "workers"
	Kind      string         // "source" or "sink"
	Event     *skeletonEvent // the first event kind; nil when there is none
}

// skeletonEvent is the event kind the example source emits.
type skeletonEvent struct {
	Name   string
	Type   string
	Add    string       // the generated function that adds one to a batch
	Emit   string       // the generated function that emits one through an EventSink
	Count  bool         // the callback example counts its events: a field or the debug log shows the count
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
		Workers:   hasParam(p.config, "workers", manifest.TypeInt),
		Kind:      p.m.Kind,
	}
	tmpl := p.skeleton() + ".tmpl"
	// The polled example keeps its position and configuration in s and
	// reads the clock once per batch; the callback one counts its events
	// in seq and has cfg at hand.
	x := exampleExprs{seq: "int64(s.position + 1)", now: "now"}
	cfg := "s.cfg"
	if p.m.Shape == manifest.ShapeCallback {
		tmpl, cfg = "source_callback.go.tmpl", "cfg"
		x = exampleExprs{seq: "n", now: "time.Now()"}
	}
	if len(p.events) > 0 {
		e := p.events[0]
		d.Event = &skeletonEvent{Name: e.Name, Type: e.typ, Add: "Add" + e.goName, Emit: "Emit" + e.goName}
		if hasParam(p.config, "note", manifest.TypeString) {
			x.note = cfg + ".Note"
		}
		for _, f := range e.fields {
			if v := exampleValue(f, x); v != "" {
				d.Event.Fields = append(d.Event.Fields, fieldValue{f.goName, v})
				d.Event.Count = d.Event.Count || v == x.seq
			}
		}
		d.Event.Count = d.Event.Count || d.LogLevel
	}
	path := p.skeleton()
	b, err := render(path, tmpl, User, d)
	if err != nil {
		return File{}, err
	}
	if b.Data, err = formatGo(path, b.Data); err != nil {
		return File{}, err
	}
	return b, nil
}

// exampleExprs are the Go expressions the example source's template has
// for a seq field, the note parameter (empty: there is none) and the time.
type exampleExprs struct{ seq, note, now string }

// exampleValue is what the example source puts in a field: something
// plausible for the starter's fields, the current time for any time, and
// nothing for the rest.
func exampleValue(f *field, x exampleExprs) string {
	switch {
	case f.Type == manifest.FieldTime:
		return x.now
	case f.Name == "seq" && f.Type == manifest.FieldInt:
		return x.seq
	case f.Name == "alive" && f.Type == manifest.FieldBool:
		return "true"
	case f.Name == "note" && f.Type == manifest.FieldString && x.note != "":
		return x.note
	case f.Name == "note" && f.Type == manifest.FieldString:
		return fmt.Sprintf("%q", "hello")
	}
	return ""
}

// hasParam reports whether ps has a parameter name of type typ.
func hasParam(ps []*param, name, typ string) bool {
	return slices.ContainsFunc(ps, func(p *param) bool { return p.Name == name && p.Type == typ })
}
