package enroll_test

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/plugctl/plugctl/enroll"
	"github.com/plugctl/plugctl/sign"
)

// plugin writes a file standing for a plugin's binary and returns its
// path and digest.
func plugin(t *testing.T, dir, name, content string) (string, enroll.Digest) {
	t.Helper()
	path := filepath.Join(dir, name)
	writeFile(t, path, []byte(content), 0o755)
	d, err := enroll.HashFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return path, d
}

func newKey(t *testing.T, comment string) sign.PrivateKey {
	t.Helper()
	k, _, err := sign.GenerateKey(comment)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func signFile(t *testing.T, k sign.PrivateKey, path string) {
	t.Helper()
	sig, err := sign.SignFile(k, path)
	if err != nil {
		t.Fatal(err)
	}
	if sig != enroll.SignatureFile(path) {
		t.Fatalf("SignFile wrote %s, Admits reads %s", sig, enroll.SignatureFile(path))
	}
}

// refusal fails unless err is a *Refusal for reason whose message holds
// every one of parts, and returns it.
func refusal(t *testing.T, err error, reason enroll.Reason, parts ...string) {
	t.Helper()
	var r *enroll.Refusal
	if !errors.As(err, &r) {
		t.Fatalf("Admits = %v; want a *Refusal %s", err, reason)
	}
	if r.Reason != reason {
		t.Errorf("reason %s (%s); want %s", r.Reason, r.Msg, reason)
	}
	for _, p := range parts {
		if !strings.Contains(r.Msg, p) {
			t.Errorf("message %q lacks %q", r.Msg, p)
		}
	}
	if !strings.HasPrefix(r.Error(), string(reason)+": ") {
		t.Errorf("Error() = %q", r.Error())
	}
}

func TestHash(t *testing.T) {
	content := "#!/bin/sh\necho plugin\n"
	_, d := plugin(t, t.TempDir(), "p", content)
	sum := sha256.Sum256([]byte(content))
	if d.Hex() != hex.EncodeToString(sum[:]) || d.SHA256 != sum {
		t.Errorf("Hex() = %s, want %x", d.Hex(), sum)
	}
	d2, err := enroll.Hash(strings.NewReader(content))
	if err != nil || d2 != d {
		t.Errorf("Hash and HashFile differ: %v", err)
	}
	if _, err := enroll.HashFile(filepath.Join(t.TempDir(), "none")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("HashFile of a missing file: %v", err)
	}
}

func TestAdmitsHash(t *testing.T) {
	dir := t.TempDir()
	path, d := plugin(t, dir, "acme", "version 1")
	e := newEntry(1, "acme")
	e.Path, e.SHA256 = path, d.Hex()

	if err := e.Admits(path, d); err != nil {
		t.Errorf("the enrolled binary: %v", err)
	}

	_, d2 := plugin(t, dir, "acme", "version 2") // rebuilt in place
	err := e.Admits(path, d2)
	refusal(t, err, enroll.HashMismatch, path, "changed since it was enrolled",
		d2.Hex()[:12], d.Hex()[:12], "plugctl manifest update acme")

	t.Run("revoked", func(t *testing.T) {
		r := *e
		r.Revoked = true
		r.RevokedAt = time.Date(2026, 12, 2, 16, 0, 0, 0, time.FixedZone("+1", 3600))
		r.Reason = "CVE-2026-1234"
		refusal(t, r.Admits(path, d), enroll.Revoked, "acme ("+enroll.ShortID(e.ID)+")",
			"revoked at 2026-12-02 15:00:00Z: CVE-2026-1234")
		r.Reason, r.RevokedAt = "", time.Time{}
		err := r.Admits(path, d)
		refusal(t, err, enroll.Revoked, "revoked")
		if strings.Contains(err.Error(), "0001") || strings.HasSuffix(err.Error(), ": ") {
			t.Errorf("revoked without time or reason: %q", err)
		}
	})
	t.Run("path mismatch", func(t *testing.T) {
		other, od := plugin(t, dir, "impostor", "version 1") // the same bytes elsewhere
		refusal(t, e.Admits(other, od), enroll.PathMismatch, "enrolled at "+path, "not "+other)
	})
	t.Run("empty path", func(t *testing.T) {
		refusal(t, e.Admits("", d), enroll.PathMismatch, "cannot tell which executable", "acme")
	})
	t.Run("no pin", func(t *testing.T) {
		// An entry Parse would refuse, built in code: it admits nothing.
		bare := *e
		bare.SHA256 = ""
		refusal(t, bare.Admits(path, d), enroll.HashMismatch)
	})
}

func TestAdmitsSignerOnly(t *testing.T) {
	dir := t.TempDir()
	key := newKey(t, "release@acme")
	path, d := plugin(t, dir, "acme", "signed build")
	e := newEntry(1, "acme")
	e.Path, e.SHA256, e.Signer = path, "", key.Public().String()
	if e.Pinning() != "signer" {
		t.Fatalf("Pinning() = %s", e.Pinning())
	}

	t.Run("no signature", func(t *testing.T) {
		refusal(t, e.Admits(path, d), enroll.BadSignature, path, ".sig")
	})
	signFile(t, key, path)
	t.Run("valid signature", func(t *testing.T) {
		if err := e.Admits(path, d); err != nil {
			t.Errorf("signed binary: %v", err)
		}
	})
	t.Run("signature of other content", func(t *testing.T) {
		// A valid signature, moved to a binary it was not made for.
		p2, d2 := plugin(t, t.TempDir(), "acme", "another build")
		sig, err := os.ReadFile(enroll.SignatureFile(path))
		if err != nil {
			t.Fatal(err)
		}
		writeFile(t, enroll.SignatureFile(p2), sig, 0o644)
		e2 := *e
		e2.Path = p2
		refusal(t, e2.Admits(p2, d2), enroll.BadSignature, p2)
	})
	t.Run("digest of other content", func(t *testing.T) {
		// The digest is what counts, not the file: the bytes checked are
		// the bytes that run.
		_, d2 := plugin(t, t.TempDir(), "x", "what actually ran")
		refusal(t, e.Admits(path, d2), enroll.BadSignature)
	})
	t.Run("signature by another key", func(t *testing.T) {
		p2, d2 := plugin(t, t.TempDir(), "acme", "signed build")
		signFile(t, newKey(t, "mallory"), p2)
		e2 := *e
		e2.Path = p2
		refusal(t, e2.Admits(p2, d2), enroll.BadSignature, p2, "signed by another key", key.Public().Fingerprint())
	})
	t.Run("garbage signature", func(t *testing.T) {
		p2, d2 := plugin(t, t.TempDir(), "acme", "signed build")
		writeFile(t, enroll.SignatureFile(p2), []byte("not a signature"), 0o644)
		e2 := *e
		e2.Path = p2
		refusal(t, e2.Admits(p2, d2), enroll.BadSignature, p2)
	})
	t.Run("revoked beats a valid signature", func(t *testing.T) {
		r := *e
		r.Revoked = true
		refusal(t, r.Admits(path, d), enroll.Revoked)
	})
}

func TestAdmitsHashAndSigner(t *testing.T) {
	dir := t.TempDir()
	key := newKey(t, "release@acme")
	path, d := plugin(t, dir, "acme", "version 1")
	e := newEntry(1, "acme")
	e.Path, e.SHA256, e.Signer = path, d.Hex(), key.Public().String()
	if e.Pinning() != "hash+signer" {
		t.Fatalf("Pinning() = %s", e.Pinning())
	}

	if err := e.Admits(path, d); err != nil {
		t.Errorf("the enrolled binary, unsigned: %v", err)
	}

	_, d2 := plugin(t, dir, "acme", "version 2")
	t.Run("changed and unsigned", func(t *testing.T) {
		refusal(t, e.Admits(path, d2), enroll.HashMismatch, path,
			"has no signature "+enroll.SignatureFile(path), "plugctl manifest update acme")
	})
	t.Run("changed and signed", func(t *testing.T) {
		signFile(t, key, path)
		if err := e.Admits(path, d2); err != nil {
			t.Errorf("a new build signed by the signer: %v", err)
		}
	})
	t.Run("changed and signed by another", func(t *testing.T) {
		signFile(t, newKey(t, "mallory"), path)
		refusal(t, e.Admits(path, d2), enroll.BadSignature, path)
	})
	t.Run("pinned hash needs no signature", func(t *testing.T) {
		// A bad signature beside the pinned binary does not matter.
		if err := e.Admits(path, d); err != nil {
			t.Errorf("pinned binary with a stray signature: %v", err)
		}
	})
}

// TestAdmitsSignFileRoundTrip ties the two packages together: what
// sign.SignFile writes for a file verifies against the HashFile digest.
func TestAdmitsSignFileRoundTrip(t *testing.T) {
	dir := t.TempDir()
	key := newKey(t, "")
	content := bytes.Repeat([]byte("large binary "), 100_000)
	path := filepath.Join(dir, "big")
	writeFile(t, path, content, 0o755)
	signFile(t, key, path)
	d, err := enroll.HashFile(path)
	if err != nil {
		t.Fatal(err)
	}
	e := newEntry(1, "big")
	e.Path, e.SHA256, e.Signer = path, "", key.Public().String()
	if err := e.Admits(path, d); err != nil {
		t.Fatal(err)
	}
	if err := sign.VerifyFile(key.Public(), path); err != nil {
		t.Fatal(err)
	}
}

// TestAdmitsSHA256Signature: PROTOCOL.sshsig allows a sha256 message
// hash too. sign.Sign and ssh-keygen make only sha512 ones, so this one
// is built by hand, per the protocol, and checked with ssh-keygen when it
// is installed.
func TestAdmitsSHA256Signature(t *testing.T) {
	dir := t.TempDir()
	seed := bytes.Repeat([]byte{0x17}, ed25519.SeedSize)
	key := sign.PrivateKey{Key: ed25519.NewKeyFromSeed(seed), Comment: "sha256@acme"}
	path, d := plugin(t, dir, "acme", "a build signed with a sha256 message hash")
	writeFile(t, enroll.SignatureFile(path), sshsigSHA256(key, sign.Namespace, d.SHA256[:]), 0o644)

	if ssh, err := exec.LookPath("ssh-keygen"); err == nil {
		cmd := exec.Command(ssh, "-Y", "check-novalidate", "-n", sign.Namespace, "-s", enroll.SignatureFile(path))
		cmd.Stdin = strings.NewReader("a build signed with a sha256 message hash")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("ssh-keygen rejects the hand-made signature: %v\n%s", err, out)
		}
	}

	e := newEntry(1, "acme")
	e.Path, e.SHA256, e.Signer = path, "", key.Public().String()
	if err := e.Admits(path, d); err != nil {
		t.Errorf("sha256 signature: %v", err)
	}
	_, other := plugin(t, t.TempDir(), "x", "other bytes")
	refusal(t, e.Admits(path, other), enroll.BadSignature)
}

// sshsigSHA256 is an armored SSHSIG signature over a message whose
// SHA-256 is h.
func sshsigSHA256(k sign.PrivateKey, namespace string, h []byte) []byte {
	str := func(b *bytes.Buffer, s []byte) {
		binary.Write(b, binary.BigEndian, uint32(len(s)))
		b.Write(s)
	}
	var pub bytes.Buffer
	str(&pub, []byte("ssh-ed25519"))
	str(&pub, k.Public().Key)

	var signed bytes.Buffer
	signed.WriteString("SSHSIG")
	str(&signed, []byte(namespace))
	str(&signed, nil)
	str(&signed, []byte("sha256"))
	str(&signed, h)

	var sig bytes.Buffer
	str(&sig, []byte("ssh-ed25519"))
	str(&sig, ed25519.Sign(k.Key, signed.Bytes()))

	var blob bytes.Buffer
	blob.WriteString("SSHSIG")
	binary.Write(&blob, binary.BigEndian, uint32(1))
	str(&blob, pub.Bytes())
	str(&blob, []byte(namespace))
	str(&blob, nil)
	str(&blob, []byte("sha256"))
	str(&blob, sig.Bytes())

	enc := base64.StdEncoding.EncodeToString(blob.Bytes())
	var out strings.Builder
	out.WriteString("-----BEGIN SSH SIGNATURE-----\n")
	for len(enc) > 70 {
		out.WriteString(enc[:70] + "\n")
		enc = enc[70:]
	}
	out.WriteString(enc + "\n-----END SSH SIGNATURE-----\n")
	return []byte(out.String())
}
