package sign

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
)

// keyType is the SSH name of the only key type supported.
const keyType = "ssh-ed25519"

// privateKeyLabel is the armor label of openssh-key-v1 private keys.
const privateKeyLabel = "OPENSSH PRIVATE KEY"

// privateKeyMagic opens every openssh-key-v1 blob, NUL included.
const privateKeyMagic = "openssh-key-v1\x00"

var (
	// ErrEncryptedKey is returned for a passphrase-protected private key:
	// plugctl signs unattended and has no way to ask for a passphrase.
	ErrEncryptedKey = errors.New("private key is encrypted")

	// ErrUnsupportedKey is returned for a key of a type other than ed25519.
	ErrUnsupportedKey = errors.New("unsupported key type")
)

// PublicKey is an ed25519 public key and the comment that travels with it
// in .pub files (usually who owns it).
type PublicKey struct {
	Key     ed25519.PublicKey
	Comment string
}

// PrivateKey is an ed25519 private key and its comment.
type PrivateKey struct {
	Key     ed25519.PrivateKey
	Comment string
}

// Public returns the public half of k, carrying the same comment.
func (k PrivateKey) Public() PublicKey {
	return PublicKey{Key: k.Key.Public().(ed25519.PublicKey), Comment: k.Comment}
}

// GenerateKey makes a new key pair from crypto/rand.
func GenerateKey(comment string) (PrivateKey, PublicKey, error) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return PrivateKey{}, PublicKey{}, err
	}
	return PrivateKey{Key: priv, Comment: comment}, PublicKey{Key: pub, Comment: comment}, nil
}

// blob is k in the SSH public key encoding: the bytes that fingerprints are
// taken of and that SSH signatures and private key files embed.
func (k PublicKey) blob() []byte {
	var w wireWriter
	w.string([]byte(keyType))
	w.string(k.Key)
	return w.b
}

// parsePublicBlob decodes an SSH public key blob holding an ed25519 key.
func parsePublicBlob(b []byte) (ed25519.PublicKey, error) {
	r := wireReader{b: b}
	typ := r.string()
	if r.err == nil && string(typ) != keyType {
		return nil, unsupported(typ)
	}
	key := r.string()
	if err := r.done(); err != nil {
		return nil, fmt.Errorf("malformed public key: %v", err)
	}
	if len(key) != ed25519.PublicKeySize {
		return nil, fmt.Errorf("malformed public key: ed25519 key of %d bytes, want %d", len(key), ed25519.PublicKeySize)
	}
	return ed25519.PublicKey(bytes.Clone(key)), nil
}

func unsupported(typ []byte) error {
	return fmt.Errorf("%w %q: plugctl supports only %s keys", ErrUnsupportedKey, typ, keyType)
}

// String returns k as a line of an authorized_keys or .pub file:
// "ssh-ed25519 AAAA... comment", without a newline.
func (k PublicKey) String() string {
	s := keyType + " " + base64.StdEncoding.EncodeToString(k.blob())
	if k.Comment != "" {
		s += " " + k.Comment
	}
	return s
}

// Fingerprint returns the SHA256 fingerprint of k as ssh-keygen -l prints
// it: "SHA256:" followed by unpadded base64.
func (k PublicKey) Fingerprint() string {
	sum := sha256.Sum256(k.blob())
	return "SHA256:" + base64.RawStdEncoding.EncodeToString(sum[:])
}

// ParsePublicKey parses one line in the format String writes, as found in
// .pub and authorized_keys files (authorized_keys options are not
// supported). Surrounding whitespace is ignored; the comment may be empty.
func ParsePublicKey(line []byte) (PublicKey, error) {
	line = bytes.TrimSpace(line)
	if bytes.HasPrefix(line, []byte("-----BEGIN ")) {
		return PublicKey{}, errors.New("this is a private key, not a public key line")
	}
	if bytes.ContainsAny(line, "\r\n") {
		return PublicKey{}, errors.New("more than one line; give a single public key")
	}
	typ, rest := cutBlank(line)
	enc, comment := cutBlank(rest)
	switch {
	case len(typ) == 0:
		return PublicKey{}, errors.New("empty public key")
	case string(typ) != keyType:
		return PublicKey{}, unsupported(typ)
	case len(enc) == 0:
		return PublicKey{}, errors.New("public key line has no key data after the key type")
	}
	b, err := base64.StdEncoding.DecodeString(string(enc))
	if err != nil {
		return PublicKey{}, fmt.Errorf("malformed public key: bad base64: %v", err)
	}
	key, err := parsePublicBlob(b)
	if err != nil {
		return PublicKey{}, err
	}
	return PublicKey{Key: key, Comment: string(comment)}, nil
}

// cutBlank splits b at its first run of spaces and tabs, the field
// separator of public key lines.
func cutBlank(b []byte) (field, rest []byte) {
	i := bytes.IndexAny(b, " \t")
	if i < 0 {
		return b, nil
	}
	return b[:i], bytes.TrimLeft(b[i:], " \t")
}

// MarshalPrivateKey encodes k as an unencrypted openssh-key-v1 private key
// file, as ssh-keygen writes a key without a passphrase.
func MarshalPrivateKey(k PrivateKey) []byte {
	pub := k.Public()

	// The two equal check values let a reader tell a wrong passphrase from
	// a corrupt file; they are random so they reveal nothing.
	var check [4]byte
	rand.Read(check[:])
	var priv wireWriter
	priv.raw(check[:])
	priv.raw(check[:])
	priv.string([]byte(keyType))
	priv.string(pub.Key)
	priv.string(k.Key) // seed followed by public key, 64 bytes
	priv.string([]byte(k.Comment))
	for i := byte(1); len(priv.b)%8 != 0; i++ {
		priv.raw([]byte{i})
	}

	var w wireWriter
	w.raw([]byte(privateKeyMagic))
	w.string([]byte("none")) // cipher
	w.string([]byte("none")) // kdf
	w.string(nil)            // kdf options
	w.uint32(1)              // number of keys
	w.string(pub.blob())
	w.string(priv.b)
	return armor(privateKeyLabel, w.b)
}

// ParsePrivateKey decodes an unencrypted ed25519 private key in the
// openssh-key-v1 format (the "-----BEGIN OPENSSH PRIVATE KEY-----" files
// ssh-keygen writes). Encrypted keys fail with ErrEncryptedKey, other key
// types with ErrUnsupportedKey.
func ParsePrivateKey(data []byte) (PrivateKey, error) {
	if bytes.HasPrefix(bytes.TrimSpace(data), []byte("ssh-")) {
		return PrivateKey{}, errors.New("this is a public key, not a private key")
	}
	b, err := unarmor(privateKeyLabel, data)
	if err != nil {
		return PrivateKey{}, fmt.Errorf("not an OpenSSH private key: %v", err)
	}
	if !bytes.HasPrefix(b, []byte(privateKeyMagic)) {
		return PrivateKey{}, errors.New("not an OpenSSH private key: bad magic")
	}
	r := wireReader{b: b[len(privateKeyMagic):]}
	cipher := r.string()
	kdf := r.string()
	r.string() // kdf options: only meaningful for encrypted keys
	n := r.uint32()
	if r.err == nil && n != 1 {
		return PrivateKey{}, fmt.Errorf("private key file holds %d keys, want 1", n)
	}
	pubBlob := r.string()
	section := r.string()
	if err := r.done(); err != nil {
		return PrivateKey{}, fmt.Errorf("malformed private key: %v", err)
	}
	// The public key is stored in the clear, so its type can be reported
	// even for an encrypted key; a passphrase is not worth removing from a
	// key plugctl cannot use anyway.
	pub, err := parsePublicBlob(pubBlob)
	if err != nil {
		return PrivateKey{}, err
	}
	if string(cipher) != "none" || string(kdf) != "none" {
		return PrivateKey{}, fmt.Errorf("%w (cipher %s): plugctl needs an unencrypted key; "+
			"make one with \"plugctl manifest keygen\" or \"ssh-keygen -t ed25519 -N '' -f KEY\", "+
			"or remove the passphrase with \"ssh-keygen -p -N '' -f KEY\"", ErrEncryptedKey, cipher)
	}
	return parsePrivateSection(section, pub)
}

// parsePrivateSection decodes the (unencrypted) private part of an
// openssh-key-v1 blob and checks it against the public key stored beside it.
func parsePrivateSection(b []byte, pub ed25519.PublicKey) (PrivateKey, error) {
	if len(b)%8 != 0 {
		return PrivateKey{}, errors.New("malformed private key: private section not padded to 8 bytes")
	}
	r := wireReader{b: b}
	check1, check2 := r.uint32(), r.uint32()
	typ := r.string()
	keyPub := r.string()
	key := r.string()
	comment := r.string()
	if r.err != nil {
		return PrivateKey{}, fmt.Errorf("malformed private key: %v", r.err)
	}
	for i, p := range r.b {
		if int(p) != i+1 {
			return PrivateKey{}, errors.New("malformed private key: bad padding")
		}
	}
	switch {
	case check1 != check2:
		return PrivateKey{}, errors.New("malformed private key: check values differ")
	case string(typ) != keyType:
		return PrivateKey{}, unsupported(typ)
	case len(key) != ed25519.PrivateKeySize:
		return PrivateKey{}, fmt.Errorf("malformed private key: ed25519 key of %d bytes, want %d", len(key), ed25519.PrivateKeySize)
	}
	// An ed25519 private key is the seed followed by the public key; all
	// three copies of the public key must agree with the one the seed makes.
	priv := ed25519.NewKeyFromSeed(key[:ed25519.SeedSize])
	derived := priv.Public().(ed25519.PublicKey)
	if !derived.Equal(pub) || !bytes.Equal(keyPub, pub) || !bytes.Equal(key[ed25519.SeedSize:], pub) {
		return PrivateKey{}, errors.New("malformed private key: public and private keys do not match")
	}
	return PrivateKey{Key: priv, Comment: string(comment)}, nil
}
