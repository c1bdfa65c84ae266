// Package host is the host side of plugctl: it launches plugin
// executables (or accepts plugins that connect to a Unix socket), checks
// who they are, and moves their events fast, without loss and without
// hanging on a plugin that misbehaves.
//
// A session starts with Launch or Listener.Accept, which run the handshake:
// the plugin's HELLO is checked (protocol version, role, and the host's
// Enrollment) and answered with HELLO_ACK or REJECT. Then:
//
//   - Plugin.Spec and Plugin.Setup ask for the specification and send the
//     process-wide settings;
//   - Plugin.OpenSource opens a source instance whose batches go to a
//     Handler, in order, and are acknowledged when it returns nil;
//     Source.Stop drains the instance and Source.Close releases it; a
//     later run resumes after the last acknowledged position. Source.Ended
//     closes when the source has finished, and Source.Err says whether it
//     failed: a plugin speaking protocol version 3 fails one instance
//     alone, while its others and the session go on;
//   - Plugin.OpenSink opens a sink instance; Sink.Write sends events and
//     waits for the sink's verdict, retrying as it asks;
//   - Plugin.Close says GOODBYE and reaps the plugin.
//
// Every wait is bounded, by a context or by Options.Timeout. A plugin that
// crashes, breaks the protocol, sends an oversized frame, stays silent
// for three heartbeat intervals or leaves a request unanswered ends its
// session: it is killed and reaped, every pending call fails with an error
// wrapping a *SessionError (cause, exit status, last lines of stderr), and
// Plugin.Done is closed. The package never panics on a plugin's bytes.
//
// A launched plugin speaks the protocol on its standard input and output;
// its standard error is its log, forwarded line by line with a "[name] "
// prefix. It runs in its own process group and, on Linux, is killed by
// the kernel if the host dies, so no plugin outlives its host.
package host
