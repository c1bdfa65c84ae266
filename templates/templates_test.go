package templates

import (
	"strings"
	"testing"
)

func TestRender(t *testing.T) {
	got, err := Render("go.mod.tmpl", struct{ Module string }{"example.com/x"})
	if err != nil || string(got) != "module example.com/x\n\ngo 1.23\n" {
		t.Errorf("Render(go.mod.tmpl) = %q, %v", got, err)
	}
	if _, err := Render("nope.tmpl", nil); err == nil || !strings.Contains(err.Error(), `no template "nope.tmpl"`) {
		t.Errorf("Render of a missing template: %v", err)
	}
	// A field the data lacks is an error, not an empty string in a file.
	if _, err := Render("go.mod.tmpl", map[string]string{}); err == nil {
		t.Error("Render with missing data succeeded")
	}
}
