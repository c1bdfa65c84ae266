package manifest

import (
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/BurntSushi/toml"
)

// The checks of [events.*] tables: kinds and their fields.

// events checks the [events.*] tables of a plugin of the given kind.
func (c *checker) events(raw map[string]any, kind string) []EventKind {
	hint := `add an [events.<name>] table with fields = { <field> = "<type>" }`
	key := []string{"events"}
	v, present := raw["events"]
	t, ok := c.table(key, v, hint)
	if len(t) == 0 && (ok || !present) {
		// A source with no event kinds can emit nothing, and a sink with none
		// accepts nothing.
		switch kind {
		case "source":
			hint = "a source declares the kinds it emits: " + hint
		case "sink":
			hint = "a sink declares the kinds it accepts: " + hint
		}
		c.errorf(key, hint, "no event kinds declared")
	}
	var evs []EventKind
	var names []named
	c.group(key, nil, t, eventKeys, func(key []string, name string, v any) {
		if ev, ok := c.event(key, name, v); ok {
			evs = append(evs, ev)
			names = append(names, named{key, name, kindNameRE})
		}
	})
	slices.SortFunc(evs, func(a, b EventKind) int { return strings.Compare(a.Name, b.Name) })
	c.collisions("event kind", names)
	c.identClashes(names, kind)
	return evs
}

// event checks one event kind table, declared at key under name. A kind
// may have no fields: a marker such as a heartbeat carries none.
func (c *checker) event(key []string, name string, v any) (EventKind, bool) {
	hint := fmt.Sprintf(`declare an event kind as a table: [%s] with fields = { <field> = "<type>" }`, toml.Key(key))
	t, ok := c.table(key, v, hint)
	if !ok {
		return EventKind{}, false
	}
	if !kindNameRE.MatchString(name) {
		c.errorf(key, `use lowercase letters, digits, '_', '-' and '.', starting with a letter, such as "user.login" or "span-end"`,
			"%q is not a valid event kind name", name)
	}
	c.declarationKeys(key, name, t, eventKeys, "event kind %q, which holds the kind's own keys")
	ev := EventKind{Name: name, Line: c.pos.of(key).line}
	ev.Description = c.description(key, t)

	fkey := join(key, []string{"fields"})
	fields, _ := c.table(fkey, t["fields"], `write fields = { <field> = "<type>" }`)
	var names []named
	for _, f := range sortedKeys(fields) {
		at := join(fkey, []string{f})
		if !fieldNameRE.MatchString(f) {
			c.errorf(at, `use letters, digits, '_', '-' and '.', starting with a letter, such as "user_id", "userId" or "http.status"`,
				"%q is not a valid field name", f)
		} else if GoName(f) == "AppendJSON" {
			c.errorf(at, "rename the field", "%q becomes the Go name AppendJSON, which is the event type's encoding method", f)
		}
		typ, ok := fields[f].(string)
		sub, isTable := fields[f].(map[string]any)
		switch {
		case isTable:
			// A dotted key is a table to TOML: http.status = "int" is
			// http = { status = "int" }.
			name, v := firstLeaf(f, sub)
			hint := fmt.Sprintf("to name a field %q, quote its name: %s = ", name, strconv.Quote(name))
			if t, ok := v.(string); ok {
				hint += strconv.Quote(t)
			} else {
				hint += `"<type>"`
			}
			c.wrongType(at, fields[f], "a field type", hint)
		case !ok:
			c.wrongType(at, fields[f], "a field type", "write one of "+strings.Join(fieldTypes, ", ")+` in quotes, such as "string"`)
		case !slices.Contains(fieldTypes, typ):
			c.errorf(at, oneOf(typ, fieldTypes), "unknown field type %q", typ)
		}
		ev.Fields = append(ev.Fields, Field{Name: f, Type: typ})
		names = append(names, named{at, f, fieldNameRE})
	}
	// Fields keep the order they are written in: the payload's members
	// come in the order its author chose.
	sort.SliceStable(ev.Fields, func(i, j int) bool {
		return c.pos.of(join(fkey, []string{ev.Fields[i].Name})).before(c.pos.of(join(fkey, []string{ev.Fields[j].Name})))
	})
	c.collisions("field", names)
	return ev, true
}

// firstLeaf returns the dotted name, below name, of the first value in t
// that is not a table, in key order, and that value.
func firstLeaf(name string, t map[string]any) (string, any) {
	keys := sortedKeys(t)
	if len(keys) == 0 {
		return name, nil
	}
	k := keys[0]
	if sub, ok := t[k].(map[string]any); ok {
		return firstLeaf(name+"."+k, sub)
	}
	return name + "." + k, t[k]
}
