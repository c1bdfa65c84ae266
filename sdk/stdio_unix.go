//go:build unix && !solaris

package sdk

import (
	"fmt"
	"os"
	"syscall"
)

var shutdownSignals = []os.Signal{os.Interrupt, syscall.SIGTERM}

// takeStdio moves the protocol off descriptors 0 and 1: it returns copies
// of them, then points 0 at the null device and 1 at standard error. It
// also returns the capacity of the output pipe, 0 when unknown.
func takeStdio() (*os.File, *os.File, int, error) {
	in, err := dupCloseOnExec(0)
	if err != nil {
		return nil, nil, 0, err
	}
	out, err := dupCloseOnExec(1)
	if err != nil {
		return nil, nil, 0, err
	}
	null, err := os.Open(os.DevNull)
	if err != nil {
		return nil, nil, 0, err
	}
	defer null.Close()
	if err := dupTo(int(null.Fd()), 0); err != nil {
		return nil, nil, 0, fmt.Errorf("redirect standard input: %w", err)
	}
	if err := dupTo(2, 1); err != nil {
		return nil, nil, 0, fmt.Errorf("redirect standard output: %w", err)
	}
	os.Stdout = os.Stderr
	growPipe(in)
	capacity := growPipe(out)
	return os.NewFile(uintptr(in), "plugctl-host-in"), os.NewFile(uintptr(out), "plugctl-host-out"), capacity, nil
}

// dupCloseOnExec copies fd to a new descriptor that child processes do
// not inherit.
func dupCloseOnExec(fd int) (int, error) {
	syscall.ForkLock.RLock()
	defer syscall.ForkLock.RUnlock()
	nfd, err := syscall.Dup(fd)
	if err != nil {
		return -1, fmt.Errorf("duplicate descriptor %d: %w", fd, err)
	}
	syscall.CloseOnExec(nfd)
	return nfd, nil
}

// dialHost connects to the host's Unix socket. It uses syscall rather than
// package net, which would make every plugin binary link the C library.
func dialHost(path string) (*os.File, error) {
	syscall.ForkLock.RLock()
	fd, err := syscall.Socket(syscall.AF_UNIX, syscall.SOCK_STREAM, 0)
	if err == nil {
		syscall.CloseOnExec(fd)
	}
	syscall.ForkLock.RUnlock()
	if err != nil {
		return nil, err
	}
	if err := syscall.Connect(fd, &syscall.SockaddrUnix{Name: path}); err != nil {
		syscall.Close(fd)
		return nil, err
	}
	return os.NewFile(uintptr(fd), path), nil
}
