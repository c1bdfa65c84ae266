package enroll

import (
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"

	"github.com/plugctl/plugctl/sign"
)

// Digest is what a binary is checked by, computed in one pass over the
// bytes that are then executed: SHA-256 for the pin, SHA-512 for the
// signature, so a file changed between the two cannot pass one and fail
// the other.
type Digest struct {
	SHA256 [sha256.Size]byte
	SHA512 [sha512.Size]byte
}

// Hash reads r to its end and digests it.
func Hash(r io.Reader) (Digest, error) {
	h256, h512 := sha256.New(), sha512.New()
	if _, err := io.Copy(io.MultiWriter(h256, h512), r); err != nil {
		return Digest{}, err
	}
	var d Digest
	h256.Sum(d.SHA256[:0])
	h512.Sum(d.SHA512[:0])
	return d, nil
}

// HashFile digests the file at path.
func HashFile(path string) (Digest, error) {
	f, err := os.Open(path)
	if err != nil {
		return Digest{}, err
	}
	defer f.Close()
	return Hash(f)
}

// Hex is the SHA-256 in the form entries store it.
func (d Digest) Hex() string { return hex.EncodeToString(d.SHA256[:]) }

// Reason is why a binary does not match an entry. The values are the
// protocol's stable reject names (docs/PROTOCOL.md §4.4.3).
type Reason string

// Reasons a host refuses a plugin.
const (
	MissingID        Reason = "missing_id"
	NotEnrolled      Reason = "not_enrolled"
	Revoked          Reason = "revoked"
	HashMismatch     Reason = "hash_mismatch"
	IdentityMismatch Reason = "identity_mismatch"
	PathMismatch     Reason = "path_mismatch"
	BadSignature     Reason = "bad_signature"
	TooManySessions  Reason = "too_many_sessions"
)

// Refusal says why a plugin is not the one enrolled.
type Refusal struct {
	Reason Reason
	Msg    string
}

func (r *Refusal) Error() string { return fmt.Sprintf("%s: %s", r.Reason, r.Msg) }

func refuse(reason Reason, format string, args ...any) *Refusal {
	return &Refusal{Reason: reason, Msg: fmt.Sprintf(format, args...)}
}

// SignatureFile is where a binary's detached signature lives: beside it.
func SignatureFile(binary string) string { return binary + ".sig" }

// Admits checks that the binary at path, with digest d, is the plugin e
// enrolls: not revoked, the same path, and either the pinned hash or a
// signature by the entry's signer. It returns nil or a *Refusal.
func (e *Entry) Admits(path string, d Digest) error {
	switch {
	case e.Revoked:
		msg := "revoked"
		if !e.RevokedAt.IsZero() {
			msg += " at " + e.RevokedAt.UTC().Format("2006-01-02 15:04:05Z")
		}
		if e.Reason != "" {
			msg += ": " + e.Reason
		}
		return refuse(Revoked, "%s %s", e.Ref(), msg)
	case path == "":
		return refuse(PathMismatch, "the host cannot tell which executable is %s, so it cannot check it", e.Ref())
	case path != e.Path:
		return refuse(PathMismatch, "%s is enrolled at %s, not %s", e.Ref(), e.Path, path)
	}
	if e.SHA256 != "" && d.Hex() == e.SHA256 {
		return nil
	}
	if e.Signer == "" {
		return refuse(HashMismatch, "%s changed since it was enrolled: sha256 %s, enrolled %s (plugctl manifest update %s)",
			path, short(d.Hex()), short(e.SHA256), e.Name)
	}
	err := e.verifySignature(path, d)
	if err == nil {
		return nil
	}
	if errors.Is(err, fs.ErrNotExist) && e.SHA256 != "" {
		return refuse(HashMismatch, "%s changed since it was enrolled and has no signature %s (sign it, or plugctl manifest update %s)",
			path, SignatureFile(path), e.Name)
	}
	return refuse(BadSignature, "%s: %v", path, err)
}

// Keeps checks that e still admits a binary it admitted earlier, whose
// digest was d, without reading the binary or its signature again: a
// running plugin's session stays valid, though its file be replaced on
// disk, until its entry is revoked or no longer pins what runs. bySigner
// is the signer line that admitted it, "" when its hash did.
func (e *Entry) Keeps(path string, d Digest, bySigner string) error {
	switch {
	case e.Revoked:
		return e.Admits(path, d) // the same message as a refusal
	case path != e.Path:
		return refuse(PathMismatch, "%s is now enrolled at %s, not %s", e.Ref(), e.Path, path)
	case bySigner == "" && e.SHA256 == d.Hex():
		return nil
	case bySigner != "" && e.Signer == bySigner:
		return nil
	case bySigner != "":
		return refuse(BadSignature, "%s no longer names the signer that signed the running binary", e.Ref())
	}
	return refuse(HashMismatch, "%s no longer pins the running binary (sha256 %s)", e.Ref(), short(d.Hex()))
}

// verifySignature checks the signature beside path against the entry's
// signer, over the bytes digested in d.
func (e *Entry) verifySignature(path string, d Digest) error {
	pub, err := sign.ParsePublicKey([]byte(e.Signer))
	if err != nil {
		return fmt.Errorf("the entry's signer: %w", err)
	}
	armored, err := os.ReadFile(SignatureFile(path))
	if err != nil {
		return err
	}
	return sign.VerifyHashed(pub, sign.Namespace, d.SHA256[:], d.SHA512[:], armored)
}

func short(hex string) string {
	if len(hex) > 12 {
		return hex[:12] + "…"
	}
	return hex
}
