package host

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"sync"
	"syscall"

	"github.com/plugctl/plugctl/enroll"
	"golang.org/x/sys/unix"
)

// pipeSize is what launched plugins' pipes are raised to: with the default
// 64 KiB a large batch takes many wakeups and throughput halves.
const pipeSize = 1 << 20

// growPipe raises the capacity of the pipe behind f, best effort: without
// privilege the kernel caps it at /proc/sys/fs/pipe-max-size.
func growPipe(f *os.File) {
	rc, err := f.SyscallConn()
	if err != nil {
		return
	}
	rc.Control(func(fd uintptr) {
		syscall.Syscall(syscall.SYS_FCNTL, fd, syscall.F_SETPIPE_SZ, pipeSize)
	})
}

// sysProcAttr puts the plugin in its own process group, so a terminal's
// Ctrl+C reaches only the host (which then shuts the plugin down in order)
// and killPlugin can take the plugin's own children with it; and asks the
// kernel to kill the plugin if the host dies, so no plugin is orphaned.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}

// launcher runs process starts on one OS thread that lives as long as the
// host: the parent-death signal fires when the thread that forked the
// plugin exits, and Go ends a thread whenever a goroutine that locked it
// returns, which the host's other code may do.
var launcher = sync.OnceValue(func() chan<- func() {
	ch := make(chan func())
	go func() {
		runtime.LockOSThread() // never unlocked: the thread is kept for good
		for f := range ch {
			f()
		}
	}()
	return ch
})

// startProcess starts cmd from the launcher thread.
func startProcess(cmd *exec.Cmd) error {
	errc := make(chan error, 1)
	launcher() <- func() { errc <- cmd.Start() }
	return <-errc
}

// killPlugin kills the plugin's process group.
func killPlugin(p *os.Process) error {
	if err := syscall.Kill(-p.Pid, syscall.SIGKILL); err != nil {
		return p.Kill()
	}
	return nil
}

// peerIdentity is the executable of the process that connected to an
// accepted socket, from the socket's credentials (SO_PEERCRED) and /proc,
// digested (when digest is set) through /proc/PID/exe, which is the file
// the process runs even if its path was replaced since. It is advice, not
// proof: that process may have handed the socket to another and run some
// other program since.
func peerIdentity(c *net.UnixConn, digest bool) identity {
	rc, err := c.SyscallConn()
	if err != nil {
		return identity{digestErr: err}
	}
	var cred *unix.Ucred
	rc.Control(func(fd uintptr) {
		cred, err = unix.GetsockoptUcred(int(fd), unix.SOL_SOCKET, unix.SO_PEERCRED)
	})
	if err != nil || cred.Pid <= 0 {
		return identity{digestErr: fmt.Errorf("no peer credentials: %v", err)}
	}
	id := identity{pid: int(cred.Pid)}
	exe := "/proc/" + strconv.Itoa(id.pid) + "/exe"
	if id.binary, err = os.Readlink(exe); err != nil {
		id.digestErr = err
		return id
	}
	if digest {
		id.digest, id.digestErr = enroll.HashFile(exe)
	}
	return id
}

// openExecutable opens and digests the binary at path, and returns the
// open file for the kernel to execute through /proc/self/fd, so that the
// bytes digested are the bytes that run. The descriptor is moved above
// those the child's standard streams and extra files are placed at, which
// the fork would otherwise overwrite. A script (#!) cannot run that way,
// since its interpreter opens it by path after the descriptor has closed:
// it is digested and then run by path.
func openExecutable(path string) (*os.File, enroll.Digest, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, enroll.Digest{}, err
	}
	defer f.Close()
	d, err := enroll.Hash(f)
	if err != nil {
		return nil, d, err
	}
	magic := make([]byte, 2)
	if n, _ := f.ReadAt(magic, 0); n == 2 && string(magic) == "#!" {
		return nil, d, nil
	}
	fd, err := unix.FcntlInt(f.Fd(), unix.F_DUPFD_CLOEXEC, highFD)
	if err != nil {
		return nil, d, err
	}
	return os.NewFile(uintptr(fd), path), d, nil
}

// highFD is the lowest descriptor openExecutable uses: far above the four
// a launched plugin is given, and the few the fork moves out of their way.
const highFD = 64

// fdPath names the open file f for execve.
func fdPath(f *os.File) string { return "/proc/self/fd/" + strconv.Itoa(int(f.Fd())) }
