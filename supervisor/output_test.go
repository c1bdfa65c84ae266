package supervisor

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/plugctl/plugctl/eventline"
)

const testID = "6f1c0a2e-5b7d-4c1e-9a51-2f0e3c9d8b11"

// line is an output line of slot at position, as the handler writes it.
func line(slot int, position uint64) string {
	l := eventline.Line{Plugin: "acme", PluginID: testID, Instance: uint16(slot), Position: position,
		Time: "2026-12-02T13:25:56.000000000Z", Kind: "tick", Payload: []byte(fmt.Sprintf(`{"n":%d}`, position))}
	return string(eventline.Append(nil, &l))
}

func writeFile(t *testing.T, path string, parts ...string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(strings.Join(parts, "")), 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestOutputCutsPartialLine: a last line without its newline (a write a
// crash cut short) is removed, and appends go on from there.
func TestOutputCutsPartialLine(t *testing.T) {
	path := filepath.Join(t.TempDir(), "out.jsonl")
	whole := line(1, 1) + line(1, 2)
	partial := line(1, 3)[:40]
	writeFile(t, path, whole, partial)
	o, rec, err := OpenOutput(path, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	if rec.Truncated != int64(len(partial)) {
		t.Errorf("truncated %d bytes, want %d", rec.Truncated, len(partial))
	}
	if m := rec.Marks[Slot{testID, 1}]; !m.Has || m.Position != 2 || m.Offset != int64(len(whole)) {
		t.Errorf("slot 1 recovered as %+v, want position 2 at offset %d", m, len(whole))
	}
	end, err := o.Write([]byte(line(1, 3)))
	if err != nil {
		t.Fatal(err)
	}
	o.Close()
	data, _ := os.ReadFile(path)
	if want := whole + line(1, 3); string(data) != want || end != int64(len(want)) {
		t.Errorf("after the append the file is\n%s(end %d), want\n%s", data, end, want)
	}
}

// TestOutputCutsLoneFragment: a file holding only a fragment is emptied.
func TestOutputCutsLoneFragment(t *testing.T) {
	path := filepath.Join(t.TempDir(), "out.jsonl")
	writeFile(t, path, strings.Repeat("x", 70000)) // longer than one backwards read
	o, rec, err := OpenOutput(path, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer o.Close()
	if rec.Truncated != 70000 || o.Size() != 0 || len(rec.Marks) != 0 {
		t.Errorf("truncated %d, size %d, marks %v; want an empty file", rec.Truncated, o.Size(), rec.Marks)
	}
}

// TestOutputScansFromOffset: lines before the offset are not read, lines
// after it give each slot its newest position, and lines of no slot are
// skipped and counted.
func TestOutputScansFromOffset(t *testing.T) {
	path := filepath.Join(t.TempDir(), "out.jsonl")
	before := line(1, 1) + line(2, 1)
	after := []string{line(1, 2), "not json\n", line(2, 2), line(1, 3), `{"instance":1,"position":9,"kind":"tick"}` + "\n"}
	writeFile(t, path, append([]string{before}, after...)...)
	o, rec, err := OpenOutput(path, int64(len(before)), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer o.Close()
	end1 := int64(len(before + after[0] + after[1] + after[2] + after[3]))
	end2 := int64(len(before + after[0] + after[1] + after[2]))
	want := map[Slot]Mark{{testID, 1}: {Plugin: "acme", Position: 3, Has: true, Offset: end1},
		{testID, 2}: {Plugin: "acme", Position: 2, Has: true, Offset: end2}}
	if len(rec.Marks) != 2 || rec.Marks[Slot{testID, 1}] != want[Slot{testID, 1}] || rec.Marks[Slot{testID, 2}] != want[Slot{testID, 2}] {
		t.Errorf("recovered %+v, want %+v", rec.Marks, want)
	}
	if rec.Lines != 3 || rec.Skipped != 2 {
		t.Errorf("read %d lines and skipped %d, want 3 and 2", rec.Lines, rec.Skipped)
	}
	o.Close()
	// An offset past the end (the file was replaced) scans the whole file.
	o, rec, err = OpenOutput(path, 1<<40, nil)
	if err != nil {
		t.Fatal(err)
	}
	if rec.Lines != 5 {
		t.Errorf("scan from beyond the end read %d lines, want all 5", rec.Lines)
	}
	if _, _, err := OpenOutput(path, 0, nil); err == nil || !strings.Contains(err.Error(), "in use by another plugctl host") {
		t.Errorf("a second OpenOutput of the same file: %v, want it refused", err)
	}
}

// TestOutputFailureSticks: after a failed write every later write fails,
// since what reached the file is no longer known.
func TestOutputFailureSticks(t *testing.T) {
	path := filepath.Join(t.TempDir(), "out.jsonl")
	o, _, err := OpenOutput(path, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	o.f.Close()
	if _, err := o.Write([]byte(line(1, 1))); err == nil {
		t.Fatal("a write to a closed file succeeded")
	}
	o.f, o.w = nil, io.Discard
	if _, err := o.Write([]byte(line(1, 1))); err == nil {
		t.Error("a write after a failure succeeded")
	}
}

// TestRecoverPrefersOutput: the state lags the output (the host died
// between a synced write and the next checkpoint): the positions in the
// output win, the state files are brought up to date, and a slot that has
// lines but no state file yet gets one.
func TestRecoverPrefersOutput(t *testing.T) {
	dir := t.TempDir()
	out, state := filepath.Join(dir, "out.jsonl"), filepath.Join(dir, "state")
	head := line(1, 1) + line(1, 2)
	writeFile(t, out, head, line(1, 3), line(2, 1), line(1, 4), line(2, 2)[:10])
	st, err := OpenStore(state)
	if err != nil {
		t.Fatal(err)
	}
	st.Save(Slot{testID, 1}, Mark{Plugin: "acme", Position: 2, Has: true, Offset: int64(len(head))})
	st.Close()
	s := &supervisor{o: Options{Out: out, State: state}, log: slog.New(slog.NewTextHandler(io.Discard, nil)),
		m: newMetrics(), slots: map[Slot]*slot{}}
	if err := s.recover(); err != nil {
		t.Fatal(err)
	}
	defer s.out.Close()
	defer s.store.Close()
	if p := s.slots[Slot{testID, 1}].resume(); p == nil || *p != 4 {
		t.Errorf("slot 1 resumes after %v, want 4", p)
	}
	if p := s.slots[Slot{testID, 2}].resume(); p == nil || *p != 1 {
		t.Errorf("slot 2 resumes after %v, want 1 (its partial line 2 was cut off)", p)
	}
	marks, err := s.store.Load()
	if err != nil {
		t.Fatal(err)
	}
	// Position 4 is the last whole line, so its end is the file's end.
	if m := marks[Slot{testID, 1}]; m.Position != 4 || m.Offset != s.out.Size() {
		t.Errorf("slot 1 saved as %+v, want position 4 at offset %d", m, s.out.Size())
	}
	if m := marks[Slot{testID, 2}]; !m.Has || m.Position != 1 {
		t.Errorf("slot 2 saved as %+v, want position 1", m)
	}
}

// TestOutputRefusesDevices: a device or a pipe as the output is refused at
// once: recovery would read it back without end.
func TestOutputRefusesDevices(t *testing.T) {
	for _, path := range []string{"/dev/full", "/dev/zero"} {
		if _, err := os.Stat(path); err != nil {
			t.Skipf("no %s here", path)
		}
		_, _, err := OpenOutput(path, 0, nil)
		if err == nil || !strings.Contains(err.Error(), "a device, not a regular file") {
			t.Errorf("OpenOutput(%s) = %v, want it refused as a device", path, err)
		}
	}
}

// TestPrivateFiles: an output, a state directory or a state file that
// others may write is refused, naming the fix.
func TestPrivateFiles(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no mode bits to read")
	}
	dir := t.TempDir()
	out := filepath.Join(dir, "events.jsonl")
	if err := os.WriteFile(out, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	os.Chmod(out, 0o666)
	if _, _, err := OpenOutput(out, 0, nil); err == nil || !strings.Contains(err.Error(), "is writable by others (mode -rw-rw-rw-)") || !strings.Contains(err.Error(), "chmod go-w "+out) {
		t.Errorf("OpenOutput of a 0666 file = %v, want it refused", err)
	}

	state := filepath.Join(dir, "state")
	s, err := OpenStore(state)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Save(Slot{PluginID: testID, Slot: 1}, Mark{Plugin: "p", Position: 3, Has: true}); err != nil {
		t.Fatal(err)
	}
	file := s.file(Slot{PluginID: testID, Slot: 1})
	os.Chmod(file, 0o666)
	if _, err := s.Load(); err == nil || !strings.Contains(err.Error(), file+" is writable by others") {
		t.Errorf("Load with a 0666 state file = %v, want it refused", err)
	}
	s.Close()
	os.Chmod(state, 0o777)
	if _, err := OpenStore(state); err == nil || !strings.Contains(err.Error(), state+" is writable by others") {
		t.Errorf("OpenStore of a 0777 directory = %v, want it refused", err)
	}

	// Another user's file, however private its mode: only root can give
	// a file away, so only root tests it.
	if os.Geteuid() != 0 {
		return
	}
	os.Chmod(out, 0o600)
	if err := os.Chown(out, 12345, 12345); err != nil {
		t.Fatal(err)
	}
	if _, _, err := OpenOutput(out, 0, nil); err == nil || !strings.Contains(err.Error(), "is owned by uid 12345, not by you or root") {
		t.Errorf("OpenOutput of another user's file = %v, want it refused", err)
	}
}
