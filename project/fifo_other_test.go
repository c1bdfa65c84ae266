//go:build !unix

package project

import (
	"errors"
	"runtime"
)

func mkfifo(string) error { return errors.New(runtime.GOOS + " has no FIFOs") }
