package host

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/plugctl/plugctl/enroll"
	"github.com/plugctl/plugctl/sdk"
	"github.com/plugctl/plugctl/sign"
	"github.com/plugctl/plugctl/wire"
)

// plugBinary copies the test binary to dir/name with extra bytes appended:
// an ELF file runs the same with bytes after its end, so extra makes a
// "rebuild" with another hash.
func plugBinary(t *testing.T, dir, name string, extra string) string {
	t.Helper()
	src, err := os.ReadFile(testBinary(t))
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path+".tmp", append(src, extra...), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(path+".tmp", path); err != nil { // never write over a running binary
		t.Fatal(err)
	}
	path, err = filepath.EvalSymlinks(path)
	if err != nil {
		t.Fatal(err)
	}
	return path
}

// enrolled writes an entry for the binary at path, pinned by its hash, and
// returns it.
func enrolled(t *testing.T, reg *enroll.Registry, path string, edit func(*enroll.Entry)) *enroll.Entry {
	t.Helper()
	d, err := enroll.HashFile(path)
	if err != nil {
		t.Fatal(err)
	}
	e := &enroll.Entry{ID: enroll.NewID(), Name: "fixture", Version: "0.0.1", Role: "source", Path: path,
		SHA256: d.Hex(), EnrolledAt: time.Now().UTC().Truncate(time.Second), MaxSessions: 1}
	if edit != nil {
		edit(e)
	}
	putEntry(t, reg, e)
	return e
}

func putEntry(t *testing.T, reg *enroll.Registry, e *enroll.Entry) {
	t.Helper()
	if err := reg.Edit(func(tx *enroll.Tx) error { tx.Put(e); return nil }); err != nil {
		t.Fatal(err)
	}
}

// registryFixture is a temporary directory with a registry in it, open as
// a host's Enrollment whose log is kept.
type registryFixture struct {
	dir string
	reg *enroll.Registry
	r   *Registry
	log *syncBuffer
}

func newRegistryFixture(t *testing.T) *registryFixture {
	t.Helper()
	dir, err := os.MkdirTemp("", "plugctl") // short: the socket test puts a socket in it
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	f := &registryFixture{dir: dir, reg: enroll.Open(filepath.Join(dir, "reg")), log: &syncBuffer{}}
	if err := f.reg.Edit(func(*enroll.Tx) error { return nil }); err != nil { // creates it
		t.Fatal(err)
	}
	f.r, err = OpenRegistry(f.reg.Dir, slog.New(slog.NewTextHandler(f.log, nil)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.r.Close() })
	return f
}

// launch launches the entry as the count fixture, with a bounded handshake.
func (f *registryFixture) launch(t *testing.T, ref string) (*Plugin, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	p, err := f.r.Launch(ctx, ref, Options{Env: []string{envFixture + "=count"}, Stderr: &syncBuffer{}})
	if p != nil {
		t.Cleanup(func() {
			p.Kill()
			assertGone(t, p.Pid())
		})
	}
	return p, err
}

func wantReject(t *testing.T, err error, reason wire.RejectReason, text string) {
	t.Helper()
	var re *RejectError
	if !errors.As(err, &re) || re.Reason != reason {
		t.Fatalf("err = %v, want a %s rejection", err, reason)
	}
	if !strings.Contains(re.Message, text) {
		t.Errorf("rejection %q does not say %q", re.Message, text)
	}
	var se *SessionError
	if errors.As(err, &se) && se.Exit != nil && se.Exit.ExitCode() != sdk.ExitRejected {
		t.Errorf("rejected plugin exited %v, want %d", se.Exit, sdk.ExitRejected)
	}
}

// TestRegistryAcceptsThenRevokeEndsSession: an enrolled plugin streams;
// revoking its entry ends the live session with GOODBYE, the plugin exits
// cleanly, and the host's caller sees why.
func TestRegistryAcceptsThenRevokeEndsSession(t *testing.T) {
	f := newRegistryFixture(t)
	e := enrolled(t, f.reg, plugBinary(t, f.dir, "plug", ""), nil)
	p, err := f.launch(t, e.Name)
	if err != nil {
		t.Fatal(err)
	}
	if p.Hello().ID != e.ID {
		t.Errorf("the plugin sent id %q, want the entry's %q", p.Hello().ID, e.ID)
	}
	st := newStream(1 << 62)
	if _, err := p.OpenSource(closeCtx(t), map[string]string{"interval_ms": "10"}, nil, st.handle); err != nil {
		t.Fatal(err)
	}
	e.Revoked, e.RevokedAt, e.Reason = true, time.Now().UTC(), "compromised build"
	putEntry(t, f.reg, e)
	revoked := time.Now()
	select {
	case <-p.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("the session outlived its revocation by 10s")
	}
	t.Logf("session ended %v after the revoke", time.Since(revoked).Round(time.Millisecond))
	err = p.Err()
	if !errors.Is(err, ErrRevoked) || !strings.Contains(err.Error(), "compromised build") {
		t.Fatalf("Err = %v, want ErrRevoked with the reason", err)
	}
	var se *SessionError
	if !errors.As(err, &se) || se.Exit == nil || !se.Exit.Success() {
		t.Fatalf("the plugin exited %v after the host's GOODBYE, want 0", se.Exit)
	}
	if told := strings.Join(se.Stderr, "\n"); !strings.Contains(told, "the host is ending the session: revoked: ") || !strings.Contains(told, "compromised build") {
		t.Errorf("the plugin did not log why the host ended its session: %q", told)
	}
	_, err = f.launch(t, e.ID)
	wantReject(t, err, wire.RejectRevoked, "compromised build")
}

// TestRegistryEndsSessionOnRemoveOrChange: removing the entry, or changing
// it so that the running binary no longer matches, ends the session.
func TestRegistryEndsSessionOnRemoveOrChange(t *testing.T) {
	for _, tc := range []struct {
		name   string
		change func(reg *enroll.Registry, e *enroll.Entry) error
		text   string
	}{
		{"removed", func(reg *enroll.Registry, e *enroll.Entry) error {
			return reg.Edit(func(tx *enroll.Tx) error { tx.Delete(e.ID); return nil })
		}, "removed from the registry"},
		{"hash changed", func(reg *enroll.Registry, e *enroll.Entry) error {
			e.SHA256 = strings.Repeat("0", 64)
			return reg.Edit(func(tx *enroll.Tx) error { tx.Put(e); return nil })
		}, "hash_mismatch"},
		{"corrupted", func(reg *enroll.Registry, e *enroll.Entry) error {
			return os.WriteFile(filepath.Join(reg.Dir, e.ID+".toml"), []byte("id = \n"), 0o600)
		}, "removed from the registry"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newRegistryFixture(t)
			e := enrolled(t, f.reg, plugBinary(t, f.dir, "plug", ""), nil)
			p, err := f.launch(t, e.ID)
			if err != nil {
				t.Fatal(err)
			}
			if err := tc.change(f.reg, e); err != nil {
				t.Fatal(err)
			}
			select {
			case <-p.Done():
			case <-time.After(10 * time.Second):
				t.Fatal("the session outlived the change by 10s")
			}
			if err := p.Err(); !errors.Is(err, ErrRevoked) || !strings.Contains(err.Error(), tc.text) {
				t.Errorf("Err = %v, want ErrRevoked saying %q", err, tc.text)
			}
		})
	}
}

// TestRegistryRejects: each way a plugin can fail to match gets its own
// stable reason, on the host's side and in the plugin's exit.
func TestRegistryRejects(t *testing.T) {
	f := newRegistryFixture(t)
	path := plugBinary(t, f.dir, "plug", "")
	other := plugBinary(t, f.dir, "other", "")
	ctx := closeCtx(t)
	launch := func(bin string, env ...string) error {
		p, err := Launch(ctx, bin, nil, Options{Check: f.r, Env: append(env, envFixture+"=count"), Stderr: &syncBuffer{}})
		if err == nil {
			p.Kill()
			return errors.New("accepted")
		}
		return err
	}

	wantReject(t, launch(path, wire.EnvPluginID+"="+enroll.NewID()), wire.RejectNotEnrolled, "no entry with id")
	wantReject(t, launch(path, wire.EnvPluginID+"="), wire.RejectMissingID, wire.EnvPluginID)

	e := enrolled(t, f.reg, path, func(e *enroll.Entry) { e.MaxSessions = 0 })
	if err := launch(path); !strings.Contains(err.Error(), "accepted") {
		t.Errorf("a plugin without an id, at an enrolled path: %v, want it accepted as that entry", err)
	}
	wantReject(t, launch(other, wire.EnvPluginID+"="+e.ID), wire.RejectPathMismatch, "is enrolled at "+path)

	e.SHA256 = strings.Repeat("ab", 32)
	putEntry(t, f.reg, e)
	wantReject(t, launch(path, wire.EnvPluginID+"="+e.ID), wire.RejectHashMismatch, "changed since it was enrolled")

	sink := enrolled(t, f.reg, other, func(e *enroll.Entry) { e.Role = "sink" })
	wantReject(t, launch(other, wire.EnvPluginID+"="+sink.ID), wire.RejectIdentityMismatch, "enrolled as a sink")
}

// TestRegistrySessionLimit: an entry's max_sessions is enforced, and a
// session that ends frees its place.
func TestRegistrySessionLimit(t *testing.T) {
	f := newRegistryFixture(t)
	e := enrolled(t, f.reg, plugBinary(t, f.dir, "plug", ""), nil)
	p, err := f.launch(t, e.ID)
	if err != nil {
		t.Fatal(err)
	}
	_, err = f.launch(t, e.ID)
	wantReject(t, err, wire.RejectTooManySessions, "already has 1 of its 1 sessions")
	if err := p.Close(closeCtx(t)); err != nil {
		t.Fatal(err)
	}
	if _, err := f.launch(t, e.ID); err != nil {
		t.Errorf("after the first session closed: %v", err)
	}
}

// TestRegistrySignedRebuild: an entry with a signer accepts a rebuild
// signed by its key without an update, and refuses an unsigned rebuild or
// one signed by another key.
func TestRegistrySignedRebuild(t *testing.T) {
	f := newRegistryFixture(t)
	key, pub, err := sign.GenerateKey("release")
	if err != nil {
		t.Fatal(err)
	}
	other, _, err := sign.GenerateKey("someone else")
	if err != nil {
		t.Fatal(err)
	}
	path := plugBinary(t, f.dir, "plug", "")
	e := enrolled(t, f.reg, path, func(e *enroll.Entry) { e.Signer = pub.String(); e.MaxSessions = 0 })

	plugBinary(t, f.dir, "plug", "rebuilt") // another hash, same path
	_, err = f.launch(t, e.ID)
	wantReject(t, err, wire.RejectHashMismatch, "has no signature")

	if _, err := sign.SignFile(other, path); err != nil {
		t.Fatal(err)
	}
	_, err = f.launch(t, e.ID)
	wantReject(t, err, wire.RejectBadSignature, "signed by another key")

	if _, err := sign.SignFile(key, path); err != nil {
		t.Fatal(err)
	}
	p, err := f.launch(t, e.ID)
	if err != nil {
		t.Fatalf("a rebuild signed by the entry's signer: %v", err)
	}
	p.Close(closeCtx(t))

	plugBinary(t, f.dir, "plug", "rebuilt again") // the signature no longer covers it
	_, err = f.launch(t, e.ID)
	wantReject(t, err, wire.RejectBadSignature, "does not match")
}

// TestRegistryImpostorOnSocket: a process that connects with an enrolled
// plugin's id but runs another executable is rejected, and told why.
func TestRegistryImpostorOnSocket(t *testing.T) {
	f := newRegistryFixture(t)
	e := enrolled(t, f.reg, plugBinary(t, f.dir, "plug", ""), nil)
	impostor := plugBinary(t, f.dir, "impostor", "")
	ln, err := Listen(filepath.Join(f.dir, "h.sock"), Options{Check: f.r})
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	cmd := exec.Command(impostor)
	var stderr syncBuffer
	cmd.Stderr = &stderr
	cmd.Env = append(os.Environ(), envFixture+"=count", wire.EnvSocket+"="+filepath.Join(f.dir, "h.sock"), wire.EnvPluginID+"="+e.ID)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	_, err = ln.Accept(closeCtx(t))
	wantReject(t, err, wire.RejectPathMismatch, "not "+impostor)
	werr := cmd.Wait()
	var ee *exec.ExitError
	if !errors.As(werr, &ee) || ee.ExitCode() != sdk.ExitRejected {
		t.Errorf("impostor exited %v, want %d", werr, sdk.ExitRejected)
	}
	if !strings.Contains(stderr.String(), "path_mismatch") {
		t.Errorf("the impostor's stderr does not name the reason: %q", stderr.String())
	}
}

// TestLaunchRunsWhatWasDigested: the bytes Launch digests are the ones the
// kernel runs, whether another file is renamed over the path or the file
// is written in place between the digest and the start.
func TestLaunchRunsWhatWasDigested(t *testing.T) {
	impostor := []byte("#!/bin/sh\necho impostor\n")
	for _, tc := range []struct {
		name string
		swap func(path string) error
	}{
		{"renamed over", func(path string) error {
			if err := os.WriteFile(path+".new", impostor, 0o755); err != nil {
				return err
			}
			return os.Rename(path+".new", path)
		}},
		{"written in place", func(path string) error {
			return os.WriteFile(path, impostor, 0o755) // same inode, truncated and rewritten
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := plugBinary(t, t.TempDir(), "plug", "")
			want, err := enroll.HashFile(path)
			if err != nil {
				t.Fatal(err)
			}
			exe, d, err := openExecutable(path)
			if err != nil || exe == nil {
				t.Fatalf("openExecutable: %v, %v", exe, err)
			}
			defer exe.Close()
			if d != want {
				t.Fatalf("digest %s, want %s", d.Hex(), want.Hex())
			}
			if err := tc.swap(path); err != nil {
				t.Fatal(err)
			}
			cmd := exec.Command(path)
			cmd.Path = fdPath(exe)
			cmd.Env = append(os.Environ(), envFixture+"=not-a-plugin")
			out, err := cmd.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			defer cmd.Process.Kill()
			line := make([]byte, len("Listening"))
			io.ReadFull(out, line)
			if string(line) != "Listening" {
				t.Errorf("the process started printed %q: not the binary that was digested", line)
			}
		})
	}
}

// TestLaunchDigestsScripts: a script cannot run through its descriptor,
// so it is digested and run by path.
func TestLaunchDigestsScripts(t *testing.T) {
	path := filepath.Join(t.TempDir(), "plug.sh")
	if err := os.WriteFile(path, []byte("#!/bin/sh\nexit 0\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	exe, d, err := openExecutable(path)
	if err != nil || exe != nil {
		t.Fatalf("openExecutable of a script: file %v, err %v; want no file", exe, err)
	}
	if want, _ := enroll.HashFile(path); d != want {
		t.Errorf("digest %s, want %s", d.Hex(), want.Hex())
	}
}

// TestRegistryReportsReplacedBinary: a live plugin's binary replaced on
// disk is logged.
func TestRegistryReportsReplacedBinary(t *testing.T) {
	f := newRegistryFixture(t)
	path := plugBinary(t, f.dir, "plug", "")
	e := enrolled(t, f.reg, path, nil)
	if _, err := f.launch(t, e.ID); err != nil {
		t.Fatal(err)
	}
	plugBinary(t, f.dir, "plug", "replaced")
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(f.log.String(), "binary replaced on disk") {
		if time.Now().After(deadline) {
			t.Fatalf("no report of the replaced binary in 10s; log: %s", f.log)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestRegistryRefusesChangedBinaryBeforeItRuns: a binary replaced since it
// was enrolled is refused from its digest before it runs: the code of the
// replacement never starts.
func TestRegistryRefusesChangedBinaryBeforeItRuns(t *testing.T) {
	f := newRegistryFixture(t)
	path := plugBinary(t, f.dir, "plug", "")
	e := enrolled(t, f.reg, path, nil)
	marker := filepath.Join(f.dir, "ran")
	script := "#!/bin/sh\ntouch " + marker + "\n"
	if err := os.WriteFile(path+".tmp", []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(path+".tmp", path); err != nil {
		t.Fatal(err)
	}
	_, err := f.launch(t, e.ID)
	wantReject(t, err, wire.RejectHashMismatch, "changed since it was enrolled")
	if !strings.Contains(err.Error(), "refused before it ran") {
		t.Errorf("err = %v, want it refused before it ran", err)
	}
	if _, err := os.Stat(marker); err == nil {
		t.Fatal("the replaced binary ran")
	}
}

// TestRegistryUnusableRefusesNew: a registry that becomes writable by
// others is no longer trusted for new plugins; live sessions go on.
func TestRegistryUnusableRefusesNew(t *testing.T) {
	f := newRegistryFixture(t)
	e := enrolled(t, f.reg, plugBinary(t, f.dir, "plug", ""), func(e *enroll.Entry) { e.MaxSessions = 0 })
	p, err := f.launch(t, e.ID)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(f.reg.Dir, 0o777); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, err = f.launch(t, e.ID)
		if err != nil || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	wantReject(t, err, wire.RejectPolicy, "writable by others")
	if p.Err() != nil {
		t.Errorf("the live session ended: %v", p.Err())
	}
}

// TestRegistryKeepsSessionOfReplacedBinary: installing a new release at a
// live plugin's path (rebuilt, then signed) does not end the session the
// old binary was admitted for; changing the entry's signer does.
func TestRegistryKeepsSessionOfReplacedBinary(t *testing.T) {
	f := newRegistryFixture(t)
	key, pub, err := sign.GenerateKey("release")
	if err != nil {
		t.Fatal(err)
	}
	path := plugBinary(t, f.dir, "plug", "")
	if _, err := sign.SignFile(key, path); err != nil {
		t.Fatal(err)
	}
	e := enrolled(t, f.reg, path, func(e *enroll.Entry) { e.SHA256, e.Signer = "", pub.String() })
	p, err := f.launch(t, e.ID)
	if err != nil {
		t.Fatal(err)
	}
	plugBinary(t, f.dir, "plug", "release 2") // its old signature no longer matches
	f.r.reload()
	if _, err := sign.SignFile(key, path); err != nil {
		t.Fatal(err)
	}
	f.r.reload()
	if err := p.Err(); err != nil {
		t.Fatalf("the live session ended when a new release was installed: %v", err)
	}

	_, other, err := sign.GenerateKey("new release key")
	if err != nil {
		t.Fatal(err)
	}
	e.Signer = other.String()
	putEntry(t, f.reg, e)
	f.r.reload()
	select {
	case <-p.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("the session outlived its entry's change of signer by 10s")
	}
	if err := p.Err(); !errors.Is(err, ErrRevoked) || !strings.Contains(err.Error(), "no longer names the signer") {
		t.Errorf("Err = %v, want ErrRevoked naming the signer", err)
	}
}
