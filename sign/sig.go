package sign

import (
	"crypto/ed25519"
	"crypto/sha256"
	"crypto/sha512"
	"errors"
	"fmt"
	"hash"
	"io"
)

// Namespace is the SSHSIG namespace of plugin binary signatures. The
// namespace is part of the signed data, so a signature made with the same
// key for another purpose (a git commit, a file signed with ssh-keygen -Y
// sign -n file) does not verify as a plugin signature, and the other way
// round.
const Namespace = "plugctl-plugin"

const (
	sigLabel   = "SSH SIGNATURE"
	sigMagic   = "SSHSIG"
	sigVersion = 1
)

// Errors returned by Verify and VerifyFile, wrapped with details; test for
// them with errors.Is.
var (
	// ErrNotSignature means the input is not an armored SSH signature.
	ErrNotSignature = errors.New("not an SSH signature")

	// ErrFormat means the signature is armored but its content is not a
	// well-formed SSHSIG version 1 ed25519 signature.
	ErrFormat = errors.New("malformed SSH signature")

	// ErrKeyMismatch means the signature was made by another key.
	ErrKeyMismatch = errors.New("signed by another key")

	// ErrNamespace means the signature was made for another purpose.
	ErrNamespace = errors.New("wrong signature namespace")

	// ErrBadSignature means the signature does not match the message: the
	// message changed after signing, or the signature was tampered with.
	ErrBadSignature = errors.New("signature does not match the content")

	// ErrNoSignature means VerifyFile found no .sig file beside the binary.
	ErrNoSignature = errors.New("no signature file")
)

// hashes are the message hash algorithms PROTOCOL.sshsig allows.
var hashes = map[string]func() hash.Hash{
	"sha256": sha256.New,
	"sha512": sha512.New,
}

// signAlg is the hash Sign uses, the one ssh-keygen defaults to.
const signAlg = "sha512"

// signature is the content of an SSHSIG blob.
type signature struct {
	pub       ed25519.PublicKey
	namespace string
	hashAlg   string
	sig       []byte // raw ed25519 signature
}

// Sign signs the content read from message for namespace and returns the
// armored signature: byte for byte what ssh-keygen -Y sign writes for the
// same key, namespace and content, since ed25519 signing is deterministic.
func Sign(k PrivateKey, namespace string, message io.Reader) ([]byte, error) {
	if namespace == "" {
		return nil, errors.New("empty signature namespace")
	}
	if len(k.Key) != ed25519.PrivateKeySize {
		return nil, fmt.Errorf("invalid ed25519 private key of %d bytes", len(k.Key))
	}
	h, err := hashMessage(signAlg, message)
	if err != nil {
		return nil, err
	}
	s := signature{
		pub:       k.Public().Key,
		namespace: namespace,
		hashAlg:   signAlg,
	}
	s.sig = ed25519.Sign(k.Key, s.signedData(h))
	return armor(sigLabel, s.marshal()), nil
}

// Verify checks that armored is a signature of the content read from
// message, made by pub for namespace. message is read only once the
// signature has been parsed and its key and namespace checked.
func Verify(pub PublicKey, namespace string, message io.Reader, armored []byte) error {
	s, err := parseFor(pub, namespace, armored)
	if err != nil {
		return err
	}
	h, err := hashMessage(s.hashAlg, message)
	if err != nil {
		return err
	}
	return s.verify(pub, h)
}

// VerifyHashed is Verify for a message the caller has already hashed with
// both hashes a signature may use. A host that must check the very bytes
// it then executes reads them once, for its own pin and for this.
func VerifyHashed(pub PublicKey, namespace string, sha256sum, sha512sum []byte, armored []byte) error {
	s, err := parseFor(pub, namespace, armored)
	if err != nil {
		return err
	}
	h := sha512sum
	if s.hashAlg == "sha256" {
		h = sha256sum
	}
	return s.verify(pub, h)
}

// parseFor parses armored and checks that pub made it for namespace.
func parseFor(pub PublicKey, namespace string, armored []byte) (*signature, error) {
	b, err := unarmor(sigLabel, armored)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrNotSignature, err)
	}
	s, err := parseSignature(b)
	if err != nil {
		return nil, err
	}
	if !s.pub.Equal(pub.Key) {
		signer := PublicKey{Key: s.pub}
		return nil, fmt.Errorf("%w %s (want %s)", ErrKeyMismatch, signer.Fingerprint(), pub.Fingerprint())
	}
	if s.namespace != namespace {
		return nil, fmt.Errorf("%w: signature is for %q, want %q", ErrNamespace, s.namespace, namespace)
	}
	return s, nil
}

// verify checks the ed25519 signature over the message hash h.
func (s *signature) verify(pub PublicKey, h []byte) error {
	if !ed25519.Verify(pub.Key, s.signedData(h), s.sig) {
		return fmt.Errorf("%w (key %s)", ErrBadSignature, pub.Fingerprint())
	}
	return nil
}

// hashMessage streams the message through the named hash, so large
// binaries are never held in memory.
func hashMessage(alg string, message io.Reader) ([]byte, error) {
	h := hashes[alg]()
	if _, err := io.Copy(h, message); err != nil {
		return nil, fmt.Errorf("read message: %w", err)
	}
	return h.Sum(nil), nil
}

// signedData is what the ed25519 signature covers, per PROTOCOL.sshsig:
// the magic, namespace, reserved field (always empty), hash algorithm and
// message hash.
func (s *signature) signedData(messageHash []byte) []byte {
	var w wireWriter
	w.raw([]byte(sigMagic))
	w.string([]byte(s.namespace))
	w.string(nil)
	w.string([]byte(s.hashAlg))
	w.string(messageHash)
	return w.b
}

// marshal encodes s as an SSHSIG blob.
func (s *signature) marshal() []byte {
	var sig wireWriter
	sig.string([]byte(keyType))
	sig.string(s.sig)

	var w wireWriter
	w.raw([]byte(sigMagic))
	w.uint32(sigVersion)
	w.string(PublicKey{Key: s.pub}.blob())
	w.string([]byte(s.namespace))
	w.string(nil) // reserved
	w.string([]byte(s.hashAlg))
	w.string(sig.b)
	return w.b
}

// parseSignature decodes an SSHSIG blob, refusing anything but version 1
// ed25519 signatures with a known hash algorithm.
func parseSignature(b []byte) (*signature, error) {
	r := wireReader{b: b}
	if string(r.raw(len(sigMagic))) != sigMagic {
		return nil, fmt.Errorf("%w: bad magic (want %q)", ErrFormat, sigMagic)
	}
	if v := r.uint32(); r.err == nil && v != sigVersion {
		return nil, fmt.Errorf("%w: unsupported version %d (want %d)", ErrFormat, v, sigVersion)
	}
	pubBlob := r.string()
	var s signature
	s.namespace = string(r.string())
	reserved := r.string()
	s.hashAlg = string(r.string())
	sigBlob := r.string()
	if err := r.done(); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrFormat, err)
	}
	pub, err := parsePublicBlob(pubBlob)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrFormat, err)
	}
	s.pub = pub
	// PROTOCOL.sshsig has the signature cover the reserved field and says
	// to ignore it when not empty, but ssh-keygen (9.2) verifies as if it
	// were empty. No signer fills it in, so refusing it keeps us from
	// accepting what ssh-keygen rejects, or the reverse.
	if len(reserved) != 0 {
		return nil, fmt.Errorf("%w: reserved field not empty", ErrFormat)
	}
	if s.namespace == "" {
		return nil, fmt.Errorf("%w: empty namespace", ErrFormat)
	}
	if hashes[s.hashAlg] == nil {
		return nil, fmt.Errorf("%w: unsupported hash algorithm %q (want sha256 or sha512)", ErrFormat, s.hashAlg)
	}
	sr := wireReader{b: sigBlob}
	alg := sr.string()
	s.sig = sr.string()
	if err := sr.done(); err != nil {
		return nil, fmt.Errorf("%w: signature field: %v", ErrFormat, err)
	}
	if string(alg) != keyType {
		return nil, fmt.Errorf("%w: unsupported signature algorithm %q (want %s)", ErrFormat, alg, keyType)
	}
	if len(s.sig) != ed25519.SignatureSize {
		return nil, fmt.Errorf("%w: ed25519 signature of %d bytes, want %d", ErrFormat, len(s.sig), ed25519.SignatureSize)
	}
	return &s, nil
}
