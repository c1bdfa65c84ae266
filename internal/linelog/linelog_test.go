package linelog

import (
	"slices"
	"strings"
	"testing"
	"time"
)

func TestLog(t *testing.T) {
	var out strings.Builder
	l := New(3, 4, 8, &out, "[a] ")
	l.Write([]byte("one\r\ntw"))
	l.Write([]byte("o\n\n0123456789"))
	l.SetPrefix("[b] ")
	l.Write([]byte("\nlast"))
	l.Close()
	if got, want := out.String(), "[a] one\n[a] two\n[a] \n[a] 01234567\n[b] 89\n[b] last\n"; got != want {
		t.Errorf("forwarded %q, want %q", got, want)
	}
	if got, want := l.Lines(), []string{"0123", "89", "last"}; !slices.Equal(got, want) {
		t.Errorf("kept %q, want %q", got, want)
	}
	if !l.Settle(time.Second) {
		t.Error("not done after Close")
	}
}
