package manifest

import (
	"sort"

	"github.com/plugctl/plugctl/wire"
)

// Spec returns the specification a plugin built from m must report
// in answer to SPEC_REQUEST: the same identity, parameters and event kinds,
// with validations in the SDK's Conduit-style form. Parameters and
// event kinds are in name order, so two specs compare field by field.
func (m *Manifest) Spec() wire.Spec {
	s := wire.Spec{
		Name:        m.Name,
		Summary:     m.Summary,
		Description: m.Description,
		Version:     m.Version,
		Author:      m.Author,
		Global:      specParams(m.Global),
		Params:      specParams(m.Config),
	}
	switch m.Kind {
	case "source":
		s.Role = wire.RoleSource
	case "sink":
		s.Role = wire.RoleSink
	}
	events := make([]EventKind, len(m.Events))
	copy(events, m.Events)
	sort.Slice(events, func(i, j int) bool { return events[i].Name < events[j].Name })
	for _, k := range events {
		ek := wire.EventKind{Name: k.Name, Description: k.Description}
		for _, f := range k.Fields {
			ek.Fields = append(ek.Fields, wire.Field{Name: f.Name, Type: f.Type})
		}
		s.Events = append(s.Events, ek)
	}
	return s
}

// specParams converts parameters, sorted by name.
func specParams(ps []Param) []wire.Param {
	if len(ps) == 0 {
		return nil
	}
	out := make([]wire.Param, 0, len(ps))
	for _, p := range ps {
		out = append(out, p.Spec())
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Spec is p as a specification reports it, and as plugins check values
// of it: its default and its validations.
func (p *Param) Spec() wire.Param {
	rp := wire.Param{
		Name:        p.Name,
		Type:        p.Type,
		Description: p.Description,
		Secret:      p.Secret,
		Validations: p.validations(),
	}
	if p.HasDefault {
		rp.Default = p.Default
	}
	return rp
}

// validations lists p's rules in ValidationType order, one per rule set.
func (p *Param) validations() []wire.Validation {
	var vs []wire.Validation
	if p.Required {
		vs = append(vs, wire.Validation{Type: wire.ValidationRequired})
	}
	if p.HasGreaterThan {
		vs = append(vs, wire.Validation{Type: wire.ValidationGreaterThan, Value: p.GreaterThan})
	}
	if p.HasLessThan {
		vs = append(vs, wire.Validation{Type: wire.ValidationLessThan, Value: p.LessThan})
	}
	if len(p.Inclusion) > 0 {
		vs = append(vs, wire.Validation{Type: wire.ValidationInclusion, Values: append([]string(nil), p.Inclusion...)})
	}
	if len(p.Exclusion) > 0 {
		vs = append(vs, wire.Validation{Type: wire.ValidationExclusion, Values: append([]string(nil), p.Exclusion...)})
	}
	if p.Regex != "" {
		vs = append(vs, wire.Validation{Type: wire.ValidationRegex, Value: p.Regex})
	}
	return vs
}
