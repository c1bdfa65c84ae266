package host

import (
	"net"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"sync"
	"syscall"

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

// peerBinary is the executable of the process that connected to an
// accepted socket, from the socket's credentials (SO_PEERCRED) and /proc;
// "" when either cannot be read. It is advice, not proof: that process may
// have handed the socket to another and run some other program since.
func peerBinary(c *net.UnixConn) string {
	rc, err := c.SyscallConn()
	if err != nil {
		return ""
	}
	var cred *unix.Ucred
	rc.Control(func(fd uintptr) {
		cred, err = unix.GetsockoptUcred(int(fd), unix.SOL_SOCKET, unix.SO_PEERCRED)
	})
	if err != nil || cred.Pid <= 0 {
		return ""
	}
	exe, err := os.Readlink("/proc/" + strconv.Itoa(int(cred.Pid)) + "/exe")
	if err != nil {
		return ""
	}
	return exe
}
