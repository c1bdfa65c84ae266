package host

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"

	"github.com/plugctl/plugctl/wire"
)

// Launch starts the plugin executable at path with args and runs the
// handshake on its standard input and output; its standard error is
// forwarded to Options.Stderr. The handshake is bounded by ctx and
// Options.Timeout; ctx does not bound the plugin's life after Launch
// returns.
//
// The plugin runs in its own process group and, on Linux, is killed by
// the kernel if the host dies. A plugin that is rejected, is not a plugctl
// plugin or does not complete the handshake is reaped before Launch
// returns a *SessionError (wrapping a *RejectError for a rejection).
func Launch(ctx context.Context, path string, args []string, opts Options) (*Plugin, error) {
	opts = opts.withDefaults()
	name, err := exec.LookPath(path)
	if err == nil {
		name, err = filepath.Abs(name)
	}
	var bin string // the file itself, as enrollments name it; name stays argv[0]
	if err == nil {
		bin, err = filepath.EvalSymlinks(name)
	}
	if err != nil {
		return nil, fmt.Errorf("launch %s: %w", path, err)
	}
	var fds [6]*os.File // child stdin, host end; host end, child stdout; host end, child stderr
	for i := 0; i < len(fds); i += 2 {
		if fds[i], fds[i+1], err = os.Pipe(); err != nil {
			closeAll(fds[:])
			return nil, fmt.Errorf("launch %s: %w", path, err)
		}
	}
	stdin, stdout, stderr := fds[1], fds[2], fds[4]
	growPipe(stdin)
	growPipe(stdout)

	id := identity{binary: bin, launched: true}
	var exe *os.File // the open binary the kernel is to run, when it can be run through its descriptor
	if opts.Check != nil {
		exe, id.digest, id.digestErr = openExecutable(bin)
	}
	if opts.beforeExec != nil {
		if err := opts.beforeExec(bin, id.digest, id.digestErr); err != nil {
			closeAll(append(fds[:], exe))
			return nil, fmt.Errorf("launch %s: refused before it ran: %w", path, err)
		}
	}
	cmd := exec.Command(name, args...)
	cmd.Path = bin
	if exe != nil {
		cmd.Path = fdPath(exe) // what was digested is what runs, whatever happens to bin meanwhile
	}
	// A ring variable inherited from the host's own environment would name
	// a descriptor the plugin does not have: only offerRing sets one.
	cmd.Env = slices.DeleteFunc(append(os.Environ(), opts.Env...), func(kv string) bool {
		return strings.HasPrefix(kv, wire.EnvRingFD+"=") || strings.HasPrefix(kv, wire.EnvInputRingFD+"=")
	})
	cmd.Dir = opts.Dir
	cmd.Stdin, cmd.Stdout, cmd.Stderr = fds[0], fds[3], fds[5]
	cmd.SysProcAttr = sysProcAttr()
	rings, ringFiles := offerRings(cmd, opts.RingSize, opts.Role)
	err = startProcess(cmd)
	closeAll(append([]*os.File{fds[0], fds[3], fds[5], exe}, ringFiles...)) // the child has its copies
	if err != nil {
		closeAll([]*os.File{stdin, stdout, stderr})
		rings.unmap()
		return nil, fmt.Errorf("launch %s: %w", path, err)
	}
	base := filepath.Base(name)
	id.pid = cmd.Process.Pid
	proc := newProcess(cmd, stderr, newStderrLog(opts.Stderr, base))
	return start(ctx, &pipeConn{r: stdout, w: stdin}, proc, rings, id, base, opts)
}

func closeAll(files []*os.File) {
	for _, f := range files {
		if f != nil {
			f.Close()
		}
	}
}
