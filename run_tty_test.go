//go:build linux || darwin

package main

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/creack/pty"
)

// TestRunStatusLine: on a terminal, plugctl run draws a status line with
// the count, rate and last position and, once the plugin reports progress,
// a bar with its percent and text; the plugin's log lines appear above
// it; at the end the line is erased and the summary printed, leaving the
// terminal clean.
func TestRunStatusLine(t *testing.T) {
	ptmx, tty, err := pty.Open()
	if err != nil {
		t.Skipf("no pseudo-terminal: %v", err)
	}
	defer ptmx.Close()
	pty.Setsize(ptmx, &pty.Winsize{Rows: 24, Cols: 120})
	bin := filepath.Join(t.TempDir(), "progress-plugin")
	if err := os.Symlink(os.Args[0], bin); err != nil {
		t.Fatal(err)
	}
	var screen bytes.Buffer
	read := make(chan struct{})
	go func() {
		defer close(read)
		buf := make([]byte, 4096)
		for {
			n, err := ptmx.Read(buf)
			screen.Write(buf[:n])
			if err != nil {
				return
			}
		}
	}()
	var stdout bytes.Buffer
	code := run([]string{"plugctl", "run", "--exec", bin, "--duration", "2500ms"}, strings.NewReader(""), &stdout, tty)
	tty.Close()
	select {
	case <-read:
	case <-time.After(10 * time.Second):
		t.Fatal("the terminal was not released")
	}
	if code != 0 {
		t.Fatalf("exit %d; terminal: %q", code, screen.String())
	}
	out := screen.String()
	for _, want := range []*regexp.Regexp{
		regexp.MustCompile(`\d+ events  \d+/s  last position \d+`), // the status line
		regexp.MustCompile(`42%`),                                  // the bar, once progress is reported
		regexp.MustCompile(`reading part 3 of 7`),                  // and its text
		regexp.MustCompile(`\[progress\] a log line \d+`),          // log lines above it
	} {
		if !want.MatchString(out) {
			t.Errorf("the terminal never showed %v; it showed %q", want, tail(out, 600))
		}
	}
	if n := strings.Count(out, "events  "); n < 3 {
		t.Errorf("the status line was drawn %d times in 2.5 s, want it updated several times", n)
	}
	// After the last redraw the line is cleared ("\r" and spaces, or an
	// erase sequence), and only the summary follows.
	last := strings.LastIndex(out, "events  ")
	end := out[last:]
	summary := strings.Index(end, "plugctl run: ")
	if summary < 0 {
		t.Fatalf("no summary after the status line: %q", tail(out, 400))
	}
	if clear := end[:summary]; !strings.Contains(clear, "\r") {
		t.Errorf("the status line was not erased before the summary: %q", clear)
	}
	if rest := end[summary:]; strings.Contains(rest, "\x1b[") || strings.Contains(rest, "events  ") {
		t.Errorf("drawing after the summary: %q", rest)
	}
	if lines := strings.Count(stdout.String(), "\n"); lines == 0 {
		t.Error("no events on standard output")
	}
}

func tail(s string, n int) string {
	if len(s) > n {
		return "…" + s[len(s)-n:]
	}
	return s
}
