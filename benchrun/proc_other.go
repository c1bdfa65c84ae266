//go:build !linux

package benchrun

import (
	"errors"
	"time"
)

// procNote says why the plugin's CPU time and peak RSS are not measured.
const procNote = "n/a: read from /proc, which only Linux has"

var errNoProc = errors.New(procNote)

func pluginCPU(pid int) (time.Duration, error) { return 0, errNoProc }

func pluginPeakRSS(pid int) (int64, error) { return 0, errNoProc }
