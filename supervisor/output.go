package supervisor

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/plugctl/plugctl/eventline"

	"github.com/plugctl/plugctl/internal/atomicfile"
)

// Output is where events go, as JSON lines. For a file, Write returns
// once the bytes are on disk (fsync); lines from many sessions are
// appended whole, one batch at a time.
type Output struct {
	name    string
	f       *os.File // nil for a stream such as standard output
	w       io.Writer
	onFsync func(time.Duration)

	mu   sync.Mutex // orders appends
	size int64      // bytes in the file
	err  error      // the first write or sync failure: every later Write fails

	syncMu sync.Mutex // one fsync at a time; a waiting writer often finds its bytes synced by another
	synced int64      // guarded by syncMu
}

// StreamOutput writes to w with no durability: a pipe cannot be synced
// and cannot be read back after a crash.
func StreamOutput(name string, w io.Writer) *Output { return &Output{name: name, w: w} }

// Recovered is what a scan of the output found.
type Recovered struct {
	Marks     map[Slot]Mark // for each slot seen, its last line
	Truncated int64         // bytes of a partial last line removed
	Skipped   int           // complete lines that are not events of this host
	Lines     int           // event lines read
}

// OpenOutput opens the file at path for appending, creating it, and locks
// it against a second host. A partial last line (a write cut short by a
// crash) is cut off and the file synced; then the lines from offset from
// to the end are scanned for the newest position of each slot. A from
// beyond the end (the file was replaced by a shorter one) scans it all.
func OpenOutput(path string, from int64, onFsync func(time.Duration)) (*Output, Recovered, error) {
	var rec Recovered
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return nil, rec, fmt.Errorf("output: %w", err)
	}
	o := &Output{name: path, f: f, w: f, onFsync: onFsync}
	fail := func(err error) (*Output, Recovered, error) {
		f.Close()
		return nil, rec, fmt.Errorf("output %s: %w", path, err)
	}
	// Recovery reads the file back and cuts its last line: a device or a
	// pipe has no end to read to, nor lines to cut.
	if fi, err := f.Stat(); err != nil {
		return fail(err)
	} else if !fi.Mode().IsRegular() {
		return fail(fmt.Errorf("%s, not a regular file: the host reads its output back to resume; give a file, or --out - for standard output", fileKind(fi.Mode())))
	} else if err := private(path, fi); err != nil {
		f.Close()
		return nil, rec, fmt.Errorf("output: %w", err)
	}
	if err := lockFile(f); err != nil {
		return fail(err)
	}
	if err := atomicfile.SyncDir(filepath.Dir(path)); err != nil { // a new file's name must survive a crash too
		return fail(err)
	}
	size, cut, err := truncatePartial(f)
	if err != nil {
		return fail(err)
	}
	rec.Truncated = cut
	if from > size || from < 0 {
		from = 0
	}
	if err := scan(f, from, &rec); err != nil {
		return fail(err)
	}
	o.size, o.synced = size, size
	return o, rec, nil
}

// truncatePartial cuts the file after its last newline and syncs it.
func truncatePartial(f *os.File) (size, cut int64, err error) {
	fi, err := f.Stat()
	if err != nil {
		return 0, 0, err
	}
	size = fi.Size()
	end := size
	buf := make([]byte, 64<<10)
	for end > 0 {
		n := min(int64(len(buf)), end)
		if _, err := f.ReadAt(buf[:n], end-n); err != nil {
			return 0, 0, err
		}
		if i := bytes.LastIndexByte(buf[:n], '\n'); i >= 0 {
			end = end - n + int64(i) + 1
			break
		}
		end -= n
	}
	if end == size {
		return size, 0, nil
	}
	if err := f.Truncate(end); err != nil {
		return 0, 0, err
	}
	return end, size - end, f.Sync()
}

// scan reads the complete lines from offset from and keeps, for each
// slot, the greatest position and the offset after its line.
func scan(f *os.File, from int64, rec *Recovered) error {
	rec.Marks = map[Slot]Mark{}
	br := bufio.NewReaderSize(io.NewSectionReader(f, from, 1<<62), 1<<20)
	off := from
	for {
		line, err := br.ReadBytes('\n')
		if errors.Is(err, io.EOF) {
			return nil // truncatePartial left no partial line
		}
		if err != nil {
			return err
		}
		off += int64(len(line))
		l, perr := eventline.Parse(line)
		if perr != nil || l.PluginID == "" || l.Instance == 0 {
			rec.Skipped++
			continue
		}
		rec.Lines++
		k := Slot{PluginID: l.PluginID, Slot: int(l.Instance)}
		if m, ok := rec.Marks[k]; !ok || l.Position >= m.Position {
			rec.Marks[k] = Mark{Plugin: l.Plugin, Position: l.Position, Has: true, Offset: off}
		}
	}
}

// Size is the number of bytes appended so far (for a file, its size).
func (o *Output) Size() int64 {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.size
}

// Write appends b, which holds whole lines, and for a file waits until
// they are synced to disk. It returns the file's size after b: the offset
// a scan for later lines can start from; 0 for a stream, which cannot be
// scanned, so that a state directory used with a stream and then with a
// file leads to a scan of the whole file. After a
// failure every Write fails: what reached the file is then unknown, and
// only a restart, which cuts a partial line off, makes it known again.
func (o *Output) Write(b []byte) (int64, error) {
	o.mu.Lock()
	if o.err != nil {
		o.mu.Unlock()
		return 0, o.err
	}
	n, err := o.w.Write(b)
	o.size += int64(n)
	end := o.size
	if err != nil {
		o.err = fmt.Errorf("output %s: %w", o.name, err)
		err = o.err
	}
	o.mu.Unlock()
	if o.f == nil {
		return 0, err
	}
	if err != nil {
		return end, err
	}
	return end, o.sync(end)
}

// sync makes the file durable up to end at least. Writers that wait here
// while another syncs usually find their bytes covered by that sync.
func (o *Output) sync(end int64) error {
	o.syncMu.Lock()
	defer o.syncMu.Unlock()
	if o.synced >= end {
		return nil
	}
	target := o.Size()
	start := time.Now()
	err := o.f.Sync()
	if o.onFsync != nil {
		o.onFsync(time.Since(start))
	}
	if err != nil {
		o.mu.Lock()
		if o.err == nil {
			o.err = fmt.Errorf("output %s: sync: %w", o.name, err)
		}
		err = o.err
		o.mu.Unlock()
		return err
	}
	o.synced = target
	return nil
}

// Durable reports whether Write survives a crash, and so whether the
// output can be scanned on the next start.
func (o *Output) Durable() bool { return o.f != nil }

// Close closes a file output; a stream is left open for its owner.
func (o *Output) Close() error {
	if o.f == nil {
		return nil
	}
	return o.f.Close()
}

// fileKind names what a file that is not a regular one is, for messages.
func fileKind(m os.FileMode) string {
	switch {
	case m&os.ModeDevice != 0:
		return "a device"
	case m&os.ModeNamedPipe != 0:
		return "a named pipe"
	case m&os.ModeSocket != 0:
		return "a socket"
	case m.IsDir():
		return "a directory"
	}
	return "a special file"
}
