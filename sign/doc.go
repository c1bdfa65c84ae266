// Package sign makes and checks detached signatures of plugin binaries,
// in formats OpenSSH shares, so a plugin can be signed with plugctl or
// ssh-keygen and verified with either.
//
// Formats:
//
//   - Signatures follow OpenSSH's PROTOCOL.sshsig: an SSHSIG version 1
//     blob armored between "-----BEGIN SSH SIGNATURE-----" and
//     "-----END SSH SIGNATURE-----", as written by ssh-keygen -Y sign.
//     Sign hashes the message with sha512, as ssh-keygen does; Verify
//     accepts sha256 and sha512. Plugin signatures use the namespace
//     [Namespace] and live beside the binary as BINARY.sig.
//   - Private keys are OpenSSH's openssh-key-v1 format (PROTOCOL.key), the
//     "-----BEGIN OPENSSH PRIVATE KEY-----" files of ssh-keygen.
//   - Public keys are single authorized_keys-style lines,
//     "ssh-ed25519 AAAA... comment", as in ssh-keygen's KEY.pub files.
//
// Only ed25519 keys are supported, and only unencrypted private keys:
// plugctl signs without a terminal to ask for a passphrase. Keys of other
// types fail with [ErrUnsupportedKey], encrypted ones with
// [ErrEncryptedKey]. authorized_keys options and certificates are not
// supported either.
package sign
