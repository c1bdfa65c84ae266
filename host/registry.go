package host

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/fsnotify/fsnotify"
	"github.com/plugctl/plugctl/enroll"
	"github.com/plugctl/plugctl/wire"
)

// RegistryPoll is how often a Registry reads its directory again even when
// no change was notified (some file systems notify nothing), and checks
// the binaries of live sessions for replacement. A change that is
// notified takes effect at once.
const RegistryPoll = time.Second

// Registry is the Enrollment backed by a registry directory (package
// enroll; written by plugctl manifest). It accepts a plugin only when an
// unrevoked entry has the plugin's id (or, for a plugin that sent none,
// its path), the same path and role, the pinned hash or a valid signature
// by the entry's signer, and a free session under the entry's limit.
//
// The directory is watched: when an entry is revoked, removed or changed so
// that a live session's binary no longer matches it, that session is ended
// with GOODBYE (reason revoked) within RegistryPoll, and its Err wraps
// ErrRevoked. A live plugin's binary replaced on disk is logged.
type Registry struct {
	reg *enroll.Registry
	log *slog.Logger

	mu       sync.Mutex
	snap     *enroll.Snapshot
	loadErr  error // the last Load failed: refuse everything new
	sessions map[*Candidate]*session

	watcher *fsnotify.Watcher
	quit    chan struct{}
	done    chan struct{}
}

// session is a live session the Registry admitted.
type session struct {
	entry    string      // its id
	bySigner string      // the signer that admitted it; "" if its hash did
	stat     os.FileInfo // its binary when admitted, to report a replacement
}

// OpenRegistry loads the registry in dir and starts watching it until
// Close. log receives reloads, problems and replaced binaries; nil is
// slog.Default().
func OpenRegistry(dir string, log *slog.Logger) (*Registry, error) {
	if log == nil {
		log = slog.Default()
	}
	r := &Registry{reg: enroll.Open(dir), log: log.With("registry", dir),
		sessions: map[*Candidate]*session{}, quit: make(chan struct{}), done: make(chan struct{})}
	s, err := r.reg.Load()
	if err != nil {
		return nil, err
	}
	r.snap = s
	r.logProblems(s)
	if w, err := fsnotify.NewWatcher(); err == nil {
		if err := w.Add(dir); err == nil {
			r.watcher = w
		} else {
			w.Close() // a registry not created yet: polling finds it
		}
	}
	go r.watch()
	return r, nil
}

// Close stops watching. Sessions already admitted go on.
func (r *Registry) Close() error {
	select {
	case <-r.quit:
	default:
		close(r.quit)
	}
	<-r.done
	return nil
}

// Snapshot returns the entries as last loaded: at the last change, within
// RegistryPoll, or at the last Admit or Launch.
func (r *Registry) Snapshot() *enroll.Snapshot {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.snap
}

// Admit implements Enrollment. It reads the registry again first, so a
// plugin enrolled or revoked a moment ago is seen as it is now.
func (r *Registry) Admit(c *Candidate) (func(), error) {
	r.reload()
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.loadErr != nil {
		return nil, &RejectError{Reason: wire.RejectPolicy, Message: "the host's registry cannot be read: " + r.loadErr.Error()}
	}
	e, err := r.find(c)
	if err != nil {
		return nil, err
	}
	if c.DigestErr != nil {
		return nil, digestRefusal(e, c.DigestErr)
	}
	if err := r.matches(e, c); err != nil {
		return nil, err
	}
	if n := r.count(e.ID); e.MaxSessions > 0 && n >= e.MaxSessions {
		return nil, &RejectError{Reason: wire.RejectTooManySessions,
			Message: fmt.Sprintf("%s already has %d of its %d sessions", e.Ref(), n, e.MaxSessions)}
	}
	s := &session{entry: e.ID}
	if e.SHA256 != c.Digest.Hex() {
		s.bySigner = e.Signer // admitted by its signature, not its hash
	}
	s.stat, _ = os.Stat(c.Binary)
	r.sessions[c] = s
	return func() {
		r.mu.Lock()
		delete(r.sessions, c)
		r.mu.Unlock()
	}, nil
}

// digestRefusal refuses e's executable, which could not be digested.
func digestRefusal(e *enroll.Entry, err error) error {
	return &RejectError{Reason: wire.RejectHashMismatch, Message: fmt.Sprintf("cannot digest %s's executable: %v", e.Ref(), err)}
}

// find returns the entry a candidate claims to be.
func (r *Registry) find(c *Candidate) (*enroll.Entry, error) {
	if c.Hello.ID == "" {
		if e := r.snap.ByPath(c.Binary); e != nil && c.Binary != "" {
			return e, nil
		}
		return nil, &RejectError{Reason: wire.RejectMissingID, Message: fmt.Sprintf(
			"no plugin id and %s is not enrolled (start it with %s set to its entry's id)", orUnknown(c.Binary), wire.EnvPluginID)}
	}
	e := r.snap.ByID(c.Hello.ID)
	if e == nil {
		return nil, &RejectError{Reason: wire.RejectNotEnrolled, Message: fmt.Sprintf(
			"no entry with id %s in the host's registry (plugctl manifest enroll %s)", c.Hello.ID, orUnknown(c.Binary))}
	}
	return e, nil
}

// matches checks c against e: the binary, then the role.
func (r *Registry) matches(e *enroll.Entry, c *Candidate) error {
	if err := e.Admits(c.Binary, c.Digest); err != nil {
		return refusal(err)
	}
	return r.role(e, c)
}

// role checks that c has the role e enrolls.
func (r *Registry) role(e *enroll.Entry, c *Candidate) error {
	if e.Role != "" && c.Hello.Role.String() != e.Role {
		return &RejectError{Reason: wire.RejectIdentityMismatch,
			Message: fmt.Sprintf("%s is enrolled as a %s, the plugin says it is a %s", e.Ref(), e.Role, c.Hello.Role)}
	}
	return nil
}

// keeps checks a live session against its entry as it is now.
func (r *Registry) keeps(e *enroll.Entry, c *Candidate, s *session) error {
	if err := e.Keeps(c.Binary, c.Digest, s.bySigner); err != nil {
		return refusal(err)
	}
	return r.role(e, c)
}

func (r *Registry) count(id string) int {
	n := 0
	for _, s := range r.sessions {
		if s.entry == id {
			n++
		}
	}
	return n
}

func orUnknown(path string) string {
	if path == "" {
		return "(executable unknown)"
	}
	return path
}

// Launch starts the entry that ref names (an id, a unique id prefix or a
// name) with its args and environment and its id in PLUGCTL_PLUGIN_ID, and
// checks it against this registry. An executable the entry does not admit
// is refused before it runs, with a *RejectError.
func (r *Registry) Launch(ctx context.Context, ref string, opts Options) (*Plugin, error) {
	r.reload()
	e, err := r.Snapshot().Find(ref)
	if err != nil {
		return nil, err
	}
	opts.Check = r
	opts.beforeExec = func(binary string, d enroll.Digest, digestErr error) error {
		r.mu.Lock()
		loadErr := r.loadErr
		r.mu.Unlock()
		switch {
		case loadErr != nil:
			return &RejectError{Reason: wire.RejectPolicy, Message: "the host's registry cannot be read: " + loadErr.Error()}
		case digestErr != nil:
			return digestRefusal(e, digestErr)
		}
		return refusal(e.Admits(binary, d))
	}
	opts.Env = append(append([]string{}, opts.Env...), wire.EnvPluginID+"="+e.ID)
	for k, v := range e.Env {
		opts.Env = append(opts.Env, k+"="+v)
	}
	return Launch(ctx, e.Path, e.Args, opts)
}

// watch reloads on every notified change, and every RegistryPoll.
func (r *Registry) watch() {
	defer close(r.done)
	var events <-chan fsnotify.Event
	var errs <-chan error
	if r.watcher != nil {
		defer r.watcher.Close()
		events, errs = r.watcher.Events, r.watcher.Errors
	}
	tick := time.NewTicker(RegistryPoll)
	defer tick.Stop()
	for {
		select {
		case <-r.quit:
			return
		case <-events:
			r.drain(events)
			r.reload()
		case err := <-errs:
			r.log.Warn("watching the registry", "err", err)
		case <-tick.C:
			r.reload()
			r.checkBinaries()
		}
	}
}

// drain takes the rest of a burst of events (an atomic write is several),
// so that one reload covers them.
func (r *Registry) drain(events <-chan fsnotify.Event) {
	t := time.NewTimer(20 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-events:
		case <-t.C:
			return
		}
	}
}

// reload reads the registry again and ends the sessions it no longer
// admits.
func (r *Registry) reload() {
	s, err := r.reg.Load()
	r.mu.Lock()
	if err != nil {
		if r.loadErr == nil || r.loadErr.Error() != err.Error() {
			r.log.Error("registry unusable: refusing new plugins; live sessions go on", "err", err)
		}
		r.loadErr = err
		r.mu.Unlock()
		return
	}
	changed := r.loadErr != nil || !sameProblems(r.snap, s)
	r.loadErr, r.snap = nil, s
	var ends []func()
	for c, sess := range r.sessions {
		e := s.ByID(sess.entry)
		var cause error
		switch {
		case e == nil:
			cause = revokedf("%s was removed from the registry", sess.entry)
		default:
			if err := r.keeps(e, c, sess); err != nil {
				var re *RejectError
				if errors.As(err, &re) {
					cause = revokedf("%s: %s", re.Reason, re.Message)
				}
			}
		}
		if cause != nil {
			r.log.Warn("ending session", "plugin", c.Hello.Name, "id", sess.entry, "pid", c.Pid, "cause", cause)
			ends = append(ends, func() { c.End(cause) })
		}
	}
	r.mu.Unlock()
	if changed {
		r.logProblems(s)
	}
	for _, end := range ends {
		end()
	}
}

func sameProblems(a, b *enroll.Snapshot) bool {
	if len(a.Problems) != len(b.Problems) {
		return false
	}
	for i := range a.Problems {
		if a.Problems[i].Error() != b.Problems[i].Error() {
			return false
		}
	}
	return true
}

func (r *Registry) logProblems(s *enroll.Snapshot) {
	for _, p := range s.Problems {
		r.log.Warn("registry entry skipped", "err", p)
	}
}

// checkBinaries logs a live plugin whose binary was replaced or changed on
// disk: the process runs on unchanged, but its next launch will not match.
func (r *Registry) checkBinaries() {
	r.mu.Lock()
	defer r.mu.Unlock()
	for c, s := range r.sessions {
		if s.stat == nil {
			continue
		}
		now, err := os.Stat(c.Binary)
		if err == nil && os.SameFile(now, s.stat) && now.ModTime().Equal(s.stat.ModTime()) && now.Size() == s.stat.Size() {
			continue
		}
		r.log.Warn("binary replaced on disk while its plugin runs; the running process is the one admitted",
			"plugin", c.Hello.Name, "id", s.entry, "pid", c.Pid, "path", c.Binary)
		s.stat = nil // reported once
	}
}
