//go:build unix

package project

import "syscall"

func mkfifo(path string) error { return syscall.Mkfifo(path, 0o644) }
