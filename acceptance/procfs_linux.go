package acceptance

// needProcfs reports whether the checks that read processes from /proc can
// run: they can on Linux.
func needProcfs() error { return nil }
