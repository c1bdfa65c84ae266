package wire

import "fmt"

// Spec describes a plugin: who it is, the parameters it takes and the event
// kinds it emits or accepts. A plugin sends it in answer to SPEC_REQUEST.
type Spec struct {
	Name        string
	Summary     string
	Description string
	Version     string
	Author      string
	Role        Role
	Global      []Param     // process-wide parameters, configured once by SETUP
	Params      []Param     // per-instance parameters, configured by each OPEN
	Events      []EventKind // in kind-table order
}

// Param describes one configuration parameter. Values travel as strings:
// durations as Go durations ("10s"), lists as comma-separated items.
type Param struct {
	Name        string
	Type        string // string, int, float, bool, duration or strings
	Default     string // empty: no default
	Description string
	Secret      bool // the value never appears in errors or logs
	Validations []Validation
}

// ValidationType names a rule a parameter's value must satisfy.
type ValidationType uint8

// Validation rules.
const (
	ValidationRequired    ValidationType = 1
	ValidationGreaterThan ValidationType = 2
	ValidationLessThan    ValidationType = 3
	ValidationInclusion   ValidationType = 4
	ValidationExclusion   ValidationType = 5
	ValidationRegex       ValidationType = 6
)

// String returns the rule's name as the manifest spells it.
func (t ValidationType) String() string {
	switch t {
	case ValidationRequired:
		return "required"
	case ValidationGreaterThan:
		return "greater_than"
	case ValidationLessThan:
		return "less_than"
	case ValidationInclusion:
		return "inclusion"
	case ValidationExclusion:
		return "exclusion"
	case ValidationRegex:
		return "regex"
	}
	return fmt.Sprintf("validation_%d", uint8(t))
}

// Validation is one rule. Value holds the bound of greater_than and
// less_than and the pattern of regex; Values the list of inclusion and
// exclusion; required uses neither.
type Validation struct {
	Type   ValidationType
	Value  string
	Values []string
}

// EventKind describes one kind of event and the fields of its payload.
type EventKind struct {
	Name        string
	Description string
	Fields      []Field
}

// Field is one named, typed field of an event payload.
type Field struct {
	Name string
	Type string // string, int, float, bool, time, duration, bytes or strings
}

// SpecReply is the body of a SPEC frame: the answer to SPEC_REQUEST ID.
type SpecReply struct {
	ID   uint32
	Spec Spec
}

// AppendTo appends the encoded body to dst.
func (m *SpecReply) AppendTo(dst []byte) []byte {
	e := encoder(dst)
	s := &m.Spec
	e.u32(m.ID)
	e.str(s.Name)
	e.str(s.Summary)
	e.str(s.Description)
	e.str(s.Version)
	e.str(s.Author)
	e.u8(uint8(s.Role))
	e.params(s.Global)
	e.params(s.Params)
	e.u32(uint32(len(s.Events)))
	for _, k := range s.Events {
		e.str(k.Name)
		e.str(k.Description)
		e.u32(uint32(len(k.Fields)))
		for _, f := range k.Fields {
			e.str(f.Name)
			e.str(f.Type)
		}
	}
	return e
}

func (e *encoder) params(ps []Param) {
	e.u32(uint32(len(ps)))
	for _, p := range ps {
		e.str(p.Name)
		e.str(p.Type)
		e.str(p.Default)
		e.str(p.Description)
		e.bool(p.Secret)
		e.u32(uint32(len(p.Validations)))
		for _, v := range p.Validations {
			e.u8(uint8(v.Type))
			e.str(v.Value)
			e.strs(v.Values)
		}
	}
}

// Decode parses a body produced by AppendTo.
func (m *SpecReply) Decode(b []byte) error {
	d := decoder{b: b, msg: MsgSpec}
	m.ID = d.u32("request id")
	s := &m.Spec
	s.Name = d.str("name")
	s.Summary = d.str("summary")
	s.Description = d.str("description")
	s.Version = d.str("version")
	s.Author = d.str("author")
	s.Role = Role(d.u8("role"))
	s.Global = d.params("global params")
	s.Params = d.params("params")
	s.Events = nil
	if n := d.count("event kinds", 12); n > 0 {
		s.Events = make([]EventKind, n)
		for i := range s.Events {
			k := &s.Events[i]
			k.Name = d.str("event kind name")
			k.Description = d.str("event kind description")
			if nf := d.count("fields", 8); nf > 0 {
				k.Fields = make([]Field, nf)
				for j := range k.Fields {
					k.Fields[j] = Field{Name: d.str("field name"), Type: d.str("field type")}
				}
			}
		}
	}
	return d.end()
}

func (d *decoder) params(what string) []Param {
	n := d.count(what, 21)
	if n == 0 {
		return nil
	}
	ps := make([]Param, n)
	for i := range ps {
		p := &ps[i]
		p.Name = d.str("param name")
		p.Type = d.str("param type")
		p.Default = d.str("param default")
		p.Description = d.str("param description")
		p.Secret = d.bool("param secret")
		if nv := d.count("validations", 9); nv > 0 {
			p.Validations = make([]Validation, nv)
			for j := range p.Validations {
				v := &p.Validations[j]
				v.Type = ValidationType(d.u8("validation type"))
				v.Value = d.str("validation value")
				v.Values = d.strs("validation values")
			}
		}
	}
	return ps
}
