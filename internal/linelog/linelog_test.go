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

// TestCrash: the first line of a panic is kept whatever follows it, and
// only a line that starts one counts.
func TestCrash(t *testing.T) {
	l := New(2, 64, 1024, nil, "")
	l.Write([]byte("log: panic: not at the start\n"))
	if c := l.Crash(); c != "" {
		t.Fatalf("Crash = %q after a line that starts no panic", c)
	}
	l.Write([]byte("panic: boom\n\ngoroutine 1 [running]:\nmain.f()\npanic: later\n"))
	if c := l.Crash(); c != "panic: boom" {
		t.Fatalf("Crash = %q, want the first panic's line", c)
	}
	l = New(2, 64, 1024, nil, "")
	l.Write([]byte("fatal error: concurrent map writes\n"))
	if c := l.Crash(); c != "fatal error: concurrent map writes" {
		t.Fatalf("Crash = %q, want the fatal error's line", c)
	}
}
