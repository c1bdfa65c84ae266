package wire

// Environment variables through which a host tells the plugins it starts
// who they are and how to reach it.
const (
	// EnvPluginID holds the plugin id (a UUID) the host enrolled this
	// binary under. It comes from the environment, not the binary, so one
	// binary can be enrolled several times.
	EnvPluginID = "PLUGCTL_PLUGIN_ID"

	// EnvSocket, when set, names a Unix socket to connect to instead of
	// speaking the protocol on standard input and output.
	EnvSocket = "PLUGCTL_SOCKET"
)
