//go:build !unix

package supervisor

import "os"

// lockPath does nothing where flock does not exist: there, running two
// hosts on one state directory is the operator's mistake to avoid.
func lockPath(string) (func(), error) { return func() {}, nil }

func lockFile(*os.File) error { return nil }
