package host

import (
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
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

// openExecutable copies the binary at path into sealed memory, digesting
// the bytes as they are copied, and returns that copy for the kernel to
// execute through /proc/self/fd: what was digested is what runs, though
// the file be renamed over or written in place meanwhile. The plugin sees
// its own path in argv[0], but os.Executable names the copy.
//
// The copy's descriptor is moved above those the child's standard
// streams and extra files are placed at, which the fork would otherwise
// overwrite. A script (#!) cannot run that way, since its interpreter
// opens it by path: it is digested and then run by path.
func openExecutable(path string) (*os.File, enroll.Digest, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, enroll.Digest{}, err
	}
	defer f.Close()
	magic := make([]byte, 2)
	if n, _ := f.ReadAt(magic, 0); n == 2 && string(magic) == "#!" {
		d, err := enroll.Hash(f)
		return nil, d, err
	}
	mem, err := memfdCreate("plugctl-plugin:" + filepath.Base(path))
	if err != nil {
		return nil, enroll.Digest{}, err
	}
	defer mem.Close()
	d, err := enroll.Hash(io.TeeReader(f, mem))
	if err != nil {
		return nil, d, err
	}
	const seals = unix.F_SEAL_WRITE | unix.F_SEAL_GROW | unix.F_SEAL_SHRINK | unix.F_SEAL_SEAL
	if _, err := unix.FcntlInt(mem.Fd(), unix.F_ADD_SEALS, seals); err != nil {
		return nil, d, fmt.Errorf("seal the copy of %s: %w", path, err)
	}
	fd, err := unix.FcntlInt(mem.Fd(), unix.F_DUPFD_CLOEXEC, highFD)
	if err != nil {
		return nil, d, err
	}
	return os.NewFile(uintptr(fd), path), d, nil
}

// memfdCreate makes an executable, sealable memory file. Kernels since 6.3
// may refuse to execute one not created with MFD_EXEC; older ones do not
// know the flag.
func memfdCreate(name string) (*os.File, error) {
	fd, err := unix.MemfdCreate(name, unix.MFD_CLOEXEC|unix.MFD_ALLOW_SEALING|unix.MFD_EXEC)
	if err == unix.EINVAL {
		fd, err = unix.MemfdCreate(name, unix.MFD_CLOEXEC|unix.MFD_ALLOW_SEALING)
	}
	if err != nil {
		return nil, fmt.Errorf("memfd_create: %w", err)
	}
	return os.NewFile(uintptr(fd), name), nil
}

// highFD is the lowest descriptor openExecutable uses: far above the four
// a launched plugin is given, and the few the fork moves out of their way.
const highFD = 64

// fdPath names the open file f for execve.
func fdPath(f *os.File) string { return "/proc/self/fd/" + strconv.Itoa(int(f.Fd())) }
