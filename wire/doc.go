// Package wire is the plugctl wire protocol: frames and their header, the
// encoding of every message, event batches, and the shared-memory ring of
// version 2, as docs/PROTOCOL.md in the plugctl repository specifies them.
// Hosts and plugins both speak it through this package, which needs
// nothing but the standard library.
package wire
