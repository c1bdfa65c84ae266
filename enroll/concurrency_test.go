package enroll_test

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/plugctl/plugctl/enroll"
)

// The child processes of these tests are this test binary, run with
// -test.run=^TestHelperProcess$ and these variables set.
const (
	helperMode    = "ENROLL_TEST_HELPER"         // "put" or "hold"
	helperDir     = "ENROLL_TEST_HELPER_DIR"     // the registry
	helperN       = "ENROLL_TEST_HELPER_N"       // the entry to put: newEntry(n, "proc<n>")
	helperMarkers = "ENROLL_TEST_HELPER_MARKERS" // hold: where the parent's second Edit leaves its mark
)

// secondMark is the file the parent's second Edit creates as soon as its
// fn runs; the holder checks it is not there while it holds the lock.
const secondMark = "second-entered"

// TestHelperProcess is not a test: it is the child process of the tests
// below. It tells the parent "ready" (put) or "held" (hold) on stdout and
// waits for a line on stdin before going on.
func TestHelperProcess(t *testing.T) {
	mode := os.Getenv(helperMode)
	if mode == "" {
		t.Skip("the child process of TestEditConcurrentProcesses and TestEditWaitsForLock")
	}
	n, err := strconv.Atoi(os.Getenv(helperN))
	if err != nil {
		fail(err)
	}
	r := enroll.Open(os.Getenv(helperDir))
	stdin := bufio.NewReader(os.Stdin)
	e := newEntry(n, fmt.Sprintf("proc%d", n))
	switch mode {
	case "put":
		fmt.Println("ready")
		if _, err := stdin.ReadString('\n'); err != nil {
			fail(err)
		}
		err = r.Edit(func(tx *enroll.Tx) error {
			// No other child may be inside its fn at the same time.
			inside := filepath.Join(os.Getenv(helperMarkers), "inside")
			f, err := os.OpenFile(inside, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
			if err != nil {
				return fmt.Errorf("another process is inside Edit too: %w", err)
			}
			f.Close()
			time.Sleep(5 * time.Millisecond)
			tx.Put(e)
			return os.Remove(inside)
		})
	case "hold":
		err = r.Edit(func(tx *enroll.Tx) error {
			fmt.Println("held")
			if _, err := stdin.ReadString('\n'); err != nil {
				return err
			}
			if _, err := os.Stat(filepath.Join(os.Getenv(helperMarkers), secondMark)); err == nil {
				return fmt.Errorf("another Edit's fn ran while this one held the lock")
			}
			tx.Put(e)
			return nil
		})
	default:
		err = fmt.Errorf("unknown mode %q", mode)
	}
	if err != nil {
		fail(err)
	}
	os.Exit(0)
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "helper:", err)
	os.Exit(1)
}

// child is a running helper process.
type child struct {
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	stdout *bufio.Reader
	stderr strings.Builder
}

func startChild(t *testing.T, mode, dir string, n int, markers string) *child {
	t.Helper()
	c := &child{}
	c.cmd = exec.Command(os.Args[0], "-test.run=^TestHelperProcess$", "-test.count=1")
	c.cmd.Env = append(os.Environ(),
		helperMode+"="+mode, helperDir+"="+dir, helperN+"="+strconv.Itoa(n), helperMarkers+"="+markers)
	c.cmd.Stderr = &c.stderr
	var err error
	if c.stdin, err = c.cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	out, err := c.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	c.stdout = bufio.NewReader(out)
	if err := c.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if c.cmd.ProcessState == nil { // a test that failed half way
			c.cmd.Process.Kill()
			c.cmd.Wait()
		}
	})
	return c
}

// expect reads the child's next line and fails unless it is want.
func (c *child) expect(t *testing.T, want string) {
	t.Helper()
	line, err := c.stdout.ReadString('\n')
	if strings.TrimSpace(line) != want {
		c.cmd.Wait()
		t.Fatalf("child said %q, %v; want %q\nstderr: %s", line, err, want, c.stderr.String())
	}
}

func (c *child) wait(t *testing.T) {
	t.Helper()
	io.Copy(io.Discard, c.stdout)
	if err := c.cmd.Wait(); err != nil {
		t.Errorf("child: %v\nstderr: %s", err, c.stderr.String())
	}
}

// checkAll fails unless the registry holds exactly the entries 0..n-1
// named with prefix, and nothing else.
func checkAll(t *testing.T, dir, prefix string, n int) {
	t.Helper()
	s := load(t, enroll.Open(dir))
	if len(s.Problems) > 0 {
		t.Errorf("problems: %v", s.Problems)
	}
	if len(s.Entries) != n {
		t.Errorf("%d entries, want %d", len(s.Entries), n)
	}
	for i := range n {
		if e := s.ByID(testID(i)); e == nil || e.Name != fmt.Sprintf("%s%d", prefix, i) {
			t.Errorf("entry %d is %v", i, e)
		}
	}
	assertNoTemp(t, dir)
}

func TestEditConcurrentGoroutines(t *testing.T) {
	const n = 20
	dir := filepath.Join(t.TempDir(), "registry")
	start := make(chan struct{})
	var inside atomic.Int32 // how many fns are running
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Go(func() {
			r := enroll.Open(dir) // each its own, as separate commands would be
			<-start
			errs <- r.Edit(func(tx *enroll.Tx) error {
				if k := inside.Add(1); k != 1 {
					return fmt.Errorf("%d Edits inside their fn at once", k)
				}
				defer inside.Add(-1)
				time.Sleep(time.Millisecond)
				if tx.ByID(testID(i)) != nil {
					return fmt.Errorf("entry %d is there before its Put", i)
				}
				tx.Put(newEntry(i, fmt.Sprintf("g%d", i)))
				return nil
			})
		})
	}
	close(start)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	checkAll(t, dir, "g", n)
}

func TestEditConcurrentProcesses(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes")
	}
	const n = 8
	dir := filepath.Join(t.TempDir(), "registry")
	markers := t.TempDir()
	children := make([]*child, n)
	for i := range n {
		children[i] = startChild(t, "put", dir, i, markers)
	}
	for _, c := range children {
		c.expect(t, "ready")
	}
	for _, c := range children { // all go at once
		if _, err := io.WriteString(c.stdin, "go\n"); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range children {
		c.wait(t)
	}
	checkAll(t, dir, "proc", n)
}

// TestEditWaitsForLock: while a child process is inside Edit, an Edit in
// this process does not run its fn; when it does, it sees the child's Put.
func TestEditWaitsForLock(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a process")
	}
	dir := filepath.Join(t.TempDir(), "registry")
	markers := t.TempDir()
	r := enroll.Open(dir)
	holder := startChild(t, "hold", dir, 0, markers)
	holder.expect(t, "held") // the child is inside fn, holding the lock

	if held, ok := lockIsHeld(t, filepath.Join(dir, ".lock")); ok && !held {
		t.Fatal("the child is inside Edit, but .lock is not locked")
	}

	type result struct {
		sawFirst bool
		err      error
	}
	done := make(chan result, 1)
	go func() {
		var res result
		res.err = r.Edit(func(tx *enroll.Tx) error {
			if err := os.WriteFile(filepath.Join(markers, secondMark), nil, 0o600); err != nil {
				return err
			}
			res.sawFirst = tx.ByID(testID(0)) != nil
			tx.Put(newEntry(1, "proc"))
			return nil
		})
		done <- res
	}()

	// Give a second Edit that did not wait the chance to show it. Nothing
	// depends on how long this is when the lock works.
	time.Sleep(200 * time.Millisecond)
	select {
	case res := <-done:
		t.Fatalf("the second Edit finished while the first held the lock: %+v", res)
	default:
	}
	if _, err := io.WriteString(holder.stdin, "release\n"); err != nil {
		t.Fatal(err)
	}
	holder.wait(t) // fails if the second Edit's fn ran before the holder's Put

	res := <-done
	if res.err != nil {
		t.Fatal(res.err)
	}
	if !res.sawFirst {
		t.Error("the second Edit's fn did not see the first Edit's Put")
	}
	s := load(t, r)
	if s.ByID(testID(0)) == nil || s.ByID(testID(1)) == nil {
		t.Errorf("entries %v, want both", s.Entries)
	}
}
