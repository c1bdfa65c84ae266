// Package enroll is the host's allow-list of plugins: a registry directory
// holding one TOML file per enrolled plugin, and the rules that say whether
// a running binary is the plugin an entry describes.
//
// An entry pins a plugin by the SHA-256 of its binary, by a signer (an
// ed25519 public key whose signature, in the file next to the binary, must
// verify), or by both. Every write is atomic and made under a lock file, so
// concurrent plugctl invocations never lose an entry; a registry or entry
// that another user could write is refused, as ssh refuses a loose key file.
// The format is documented in docs/REGISTRY.md.
package enroll
