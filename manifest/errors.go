package manifest

import (
	"fmt"
	"strings"
)

// Error is one problem in a manifest, located at the key it concerns.
type Error struct {
	File string // the path given to Load or Parse
	Line int    // 1-based
	Col  int    // 1-based, in bytes, as Go tools count columns
	Key  string // dotted TOML path such as config.interval.default; empty for syntax errors
	Msg  string // what is wrong
	Hint string // how to fix it; may be empty
}

// Error formats e as "file:line:col: key: msg (hint)", the form editors and
// CI log viewers turn into links.
func (e *Error) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s:%d:%d: ", e.File, e.Line, e.Col)
	if e.Key != "" {
		b.WriteString(e.Key)
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	if e.Hint != "" {
		b.WriteString(" (")
		b.WriteString(e.Hint)
		b.WriteString(")")
	}
	return b.String()
}

// Errors is every problem found in one manifest, sorted by line and column,
// so that an author fixes them all in one pass instead of one per run.
type Errors struct {
	List []*Error
}

// Error prints one problem per line.
func (e *Errors) Error() string {
	lines := make([]string, len(e.List))
	for i, err := range e.List {
		lines[i] = err.Error()
	}
	return strings.Join(lines, "\n")
}

// Unwrap lets errors.As reach the individual *Error values.
func (e *Errors) Unwrap() []error {
	errs := make([]error, len(e.List))
	for i, err := range e.List {
		errs[i] = err
	}
	return errs
}
