// Package eventline is the JSON-lines form of events: what plugctl run
// prints for a source and reads for a sink, and what plugctl host appends
// to its output. One event is one line:
//
//	{"instance":1,"position":42,"time":"2026-12-02T13:25:56.123456789Z","kind":"tick","payload":{"seq":42}}
//
// A payload that is JSON (as the generated encoders write it) is embedded
// as it is; any other payload travels as payload_base64. The fields are
// documented in docs/EVENTS.md and their names are stable.
package eventline

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/plugctl/plugctl/wire"
)

// Line is one event as a JSON line.
type Line struct {
	Plugin        string            `json:"plugin,omitempty"`    // the plugin's name, where a line may come from several plugins
	PluginID      string            `json:"plugin_id,omitempty"` // its enrollment id
	Instance      uint16            `json:"instance"`
	Position      uint64            `json:"position"`
	Time          string            `json:"time"` // RFC 3339 in UTC with nanoseconds
	Kind          string            `json:"kind"`
	Payload       json.RawMessage   `json:"payload,omitempty"`
	PayloadBase64 string            `json:"payload_base64,omitempty"`
	Metadata      map[string]string `json:"metadata,omitempty"`
}

// TimeLayout is how Time is written: RFC 3339 with all nine digits of
// nanoseconds, so lines sort and compare as text.
const TimeLayout = "2006-01-02T15:04:05.000000000Z07:00"

// FromEvent is the line of event e of an instance.
func FromEvent(instance uint16, e *wire.Event) Line {
	l := Line{Instance: instance, Position: e.Position, Kind: e.Kind, Metadata: e.Metadata,
		Time: time.Unix(0, e.Time).UTC().Format(TimeLayout)}
	if isJSON(e.Payload) {
		l.Payload = json.RawMessage(e.Payload)
	} else if len(e.Payload) > 0 {
		l.PayloadBase64 = base64.StdEncoding.EncodeToString(e.Payload)
	}
	return l
}

// isJSON reports whether p is one JSON value with no space around it, so
// that embedding it keeps the line on one line and byte for byte.
func isJSON(p []byte) bool {
	return len(p) > 0 && json.Valid(p) && !bytes.ContainsAny(p, "\n\r") &&
		len(bytes.TrimSpace(p)) == len(p)
}

// Append appends l and a newline to dst.
func Append(dst []byte, l *Line) []byte {
	b, err := json.Marshal(l)
	if err != nil {
		// Only a payload that is not JSON fails, and FromEvent and Parse
		// never give one.
		panic(fmt.Sprintf("eventline: %v", err))
	}
	return append(append(dst, b...), '\n')
}

// Parse reads one line. Unknown fields are errors, so a typo in a line
// written by hand is not silently dropped.
func Parse(line []byte) (Line, error) {
	var l Line
	d := json.NewDecoder(bytes.NewReader(line))
	d.DisallowUnknownFields()
	if err := d.Decode(&l); err != nil {
		return Line{}, fmt.Errorf("not an event line: %w", err)
	}
	if d.More() {
		return Line{}, errors.New("not an event line: more than one JSON value")
	}
	if l.Kind == "" {
		return Line{}, errors.New(`"kind" is missing`)
	}
	if len(l.Payload) > 0 && l.PayloadBase64 != "" {
		return Line{}, errors.New(`give "payload" or "payload_base64", not both`)
	}
	return l, nil
}

// Event is the line as an event. A line without a time gets now.
func (l *Line) Event() (wire.Event, error) {
	e := wire.Event{Position: l.Position, Kind: l.Kind, Metadata: l.Metadata, Time: time.Now().UnixNano()}
	if l.Time != "" {
		t, err := time.Parse(time.RFC3339Nano, l.Time)
		if err != nil {
			return wire.Event{}, fmt.Errorf(`"time": %v`, err)
		}
		e.Time = t.UnixNano()
	}
	switch {
	case len(l.Payload) > 0:
		var buf bytes.Buffer
		if err := json.Compact(&buf, l.Payload); err != nil {
			return wire.Event{}, fmt.Errorf(`"payload": %v`, err)
		}
		e.Payload = buf.Bytes()
	case l.PayloadBase64 != "":
		p, err := base64.StdEncoding.DecodeString(l.PayloadBase64)
		if err != nil {
			return wire.Event{}, fmt.Errorf(`"payload_base64": %v`, err)
		}
		e.Payload = p
	}
	return e, nil
}
