package sign

import (
	"bytes"
	"crypto/ed25519"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite testdata/golden.sig")

// goldenMessage is the message of testdata/golden.sig.
const goldenMessage = "plugctl golden test message\n"

// testKey returns a fixed key made from the seed 0x00, 0x01, ... 0x1f, so
// its signatures are fixed too.
func testKey() PrivateKey {
	seed := make([]byte, ed25519.SeedSize)
	for i := range seed {
		seed[i] = byte(i)
	}
	return PrivateKey{Key: ed25519.NewKeyFromSeed(seed), Comment: "golden@plugctl"}
}

func mustSign(t testing.TB, k PrivateKey, namespace, message string) []byte {
	t.Helper()
	sig, err := Sign(k, namespace, strings.NewReader(message))
	if err != nil {
		t.Fatal(err)
	}
	return sig
}

func TestSignVerify(t *testing.T) {
	k := testKey()
	sig := mustSign(t, k, Namespace, "hello")
	if err := Verify(k.Public(), Namespace, strings.NewReader("hello"), sig); err != nil {
		t.Fatalf("Verify: %v", err)
	}
	// The comment is not part of the key.
	if err := Verify(PublicKey{Key: k.Public().Key}, Namespace, strings.NewReader("hello"), sig); err != nil {
		t.Fatalf("Verify without comment: %v", err)
	}
}

func TestSignArmor(t *testing.T) {
	sig := string(mustSign(t, testKey(), Namespace, "hello"))
	if !strings.HasPrefix(sig, "-----BEGIN SSH SIGNATURE-----\n") || !strings.HasSuffix(sig, "\n-----END SSH SIGNATURE-----\n") {
		t.Fatalf("bad armor:\n%s", sig)
	}
	lines := strings.Split(strings.TrimSuffix(sig, "\n"), "\n")
	body := lines[1 : len(lines)-1]
	for i, l := range body {
		if i < len(body)-1 && len(l) != 70 || len(l) > 70 || len(l) == 0 {
			t.Errorf("base64 line %d has %d columns, want 70 (last: 1..70)", i+1, len(l))
		}
	}
}

func TestVerifyTampered(t *testing.T) {
	k := testKey()
	msg := "a plugin binary"
	sig := mustSign(t, k, Namespace, msg)
	for i := range len(msg) {
		b := []byte(msg)
		b[i] ^= 0x01
		err := Verify(k.Public(), Namespace, bytes.NewReader(b), sig)
		if !errors.Is(err, ErrBadSignature) {
			t.Fatalf("message byte %d changed: got %v, want ErrBadSignature", i, err)
		}
	}
	if err := Verify(k.Public(), Namespace, strings.NewReader(msg+"x"), sig); !errors.Is(err, ErrBadSignature) {
		t.Fatalf("message extended: got %v, want ErrBadSignature", err)
	}

	// Change the last byte of the ed25519 signature itself.
	blob, err := unarmor(sigLabel, sig)
	if err != nil {
		t.Fatal(err)
	}
	blob[len(blob)-1] ^= 0x01
	err = Verify(k.Public(), Namespace, strings.NewReader(msg), armor(sigLabel, blob))
	if !errors.Is(err, ErrBadSignature) {
		t.Fatalf("signature changed: got %v, want ErrBadSignature", err)
	}
}

// failReader fails the test if read: Verify must not hash a binary whose
// signature it can already reject.
type failReader struct{ t *testing.T }

func (r failReader) Read([]byte) (int, error) {
	r.t.Error("message read although the signature was already rejected")
	return 0, errors.New("should not be read")
}

func TestVerifyOtherKey(t *testing.T) {
	k := testKey()
	_, other, err := GenerateKey("other")
	if err != nil {
		t.Fatal(err)
	}
	sig := mustSign(t, k, Namespace, "hello")
	err = Verify(other, Namespace, failReader{t}, sig)
	if !errors.Is(err, ErrKeyMismatch) {
		t.Fatalf("got %v, want ErrKeyMismatch", err)
	}
	for _, fp := range []string{k.Public().Fingerprint(), other.Fingerprint()} {
		if !strings.Contains(err.Error(), fp) {
			t.Errorf("error %q does not name fingerprint %s", err, fp)
		}
	}
}

func TestVerifyNamespace(t *testing.T) {
	k := testKey()
	sig := mustSign(t, k, "file", "hello")
	err := Verify(k.Public(), Namespace, failReader{t}, sig)
	if !errors.Is(err, ErrNamespace) {
		t.Fatalf("got %v, want ErrNamespace", err)
	}
	for _, ns := range []string{`"file"`, `"plugctl-plugin"`} {
		if !strings.Contains(err.Error(), ns) {
			t.Errorf("error %q does not name namespace %s", err, ns)
		}
	}
	if _, err := Sign(k, "", strings.NewReader("hello")); err == nil {
		t.Error("Sign with an empty namespace succeeded")
	}
}

// TestVerifySHA256 checks that a signature over a sha256 message hash, which
// PROTOCOL.sshsig allows and ssh-keygen can be built to make, verifies.
func TestVerifySHA256(t *testing.T) {
	k := testKey()
	s := signature{pub: k.Public().Key, namespace: Namespace, hashAlg: "sha256"}
	h, err := hashMessage("sha256", strings.NewReader("hello"))
	if err != nil {
		t.Fatal(err)
	}
	s.sig = ed25519.Sign(k.Key, s.signedData(h))
	sig := armor(sigLabel, s.marshal())
	if err := Verify(k.Public(), Namespace, strings.NewReader("hello"), sig); err != nil {
		t.Fatalf("Verify: %v", err)
	}
	if err := Verify(k.Public(), Namespace, strings.NewReader("hellO"), sig); !errors.Is(err, ErrBadSignature) {
		t.Fatalf("tampered: got %v, want ErrBadSignature", err)
	}
}

func TestVerifyMalformed(t *testing.T) {
	k := testKey()
	good := mustSign(t, k, Namespace, "hello")
	blob, err := unarmor(sigLabel, good)
	if err != nil {
		t.Fatal(err)
	}
	// variant returns the blob of a signature over "hello" with one field
	// changed, re-armored.
	variant := func(change func(s *signature)) []byte {
		s, err := parseSignature(blob)
		if err != nil {
			t.Fatal(err)
		}
		change(s)
		return armor(sigLabel, s.marshal())
	}
	withBlob := func(change func([]byte) []byte) []byte {
		return armor(sigLabel, change(bytes.Clone(blob)))
	}
	text := string(good)
	tests := []struct {
		name string
		sig  []byte
		want error
		msg  string // in the error
	}{
		{"empty", nil, ErrNotSignature, "BEGIN SSH SIGNATURE"},
		{"not armored", []byte("hello"), ErrNotSignature, "BEGIN SSH SIGNATURE"},
		{"no footer", []byte(strings.SplitAfter(text, "\n")[0] + strings.SplitAfter(text, "\n")[1]), ErrNotSignature, "END SSH SIGNATURE"},
		{"no header", []byte(text[strings.Index(text, "\n")+1:]), ErrNotSignature, "BEGIN SSH SIGNATURE"},
		{"private key armor", bytes.ReplaceAll(good, []byte("SSH SIGNATURE"), []byte("OPENSSH PRIVATE KEY")), ErrNotSignature, "BEGIN SSH SIGNATURE"},
		{"bad base64", []byte(strings.Replace(text, "U1NIU0lH", "U1NIU0l!", 1)), ErrNotSignature, "base64"},
		{"empty body", []byte("-----BEGIN SSH SIGNATURE-----\n-----END SSH SIGNATURE-----\n"), ErrNotSignature, "no data"},
		{"text after footer", append(bytes.Clone(good), "junk\n"...), ErrNotSignature, "after"},
		{"two signatures", append(bytes.Clone(good), good...), ErrNotSignature, "after"},
		{"truncated blob", withBlob(func(b []byte) []byte { return b[:len(b)-10] }), ErrFormat, "truncated"},
		{"only magic", armor(sigLabel, []byte("SSHSIG")), ErrFormat, "truncated"},
		{"trailing data", withBlob(func(b []byte) []byte { return append(b, 0) }), ErrFormat, "trailing"},
		{"bad magic", withBlob(func(b []byte) []byte { b[0] = 'X'; return b }), ErrFormat, "magic"},
		{"version 2", withBlob(func(b []byte) []byte { b[9] = 2; return b }), ErrFormat, "version 2"},
		{"hash md5", variant(func(s *signature) { s.hashAlg = "md5" }), ErrFormat, `"md5"`},
		{"empty namespace", variant(func(s *signature) { s.namespace = "" }), ErrFormat, "empty namespace"},
		{"short signature", variant(func(s *signature) { s.sig = s.sig[:63] }), ErrFormat, "63 bytes"},
		{"rsa signature", withBlob(func(b []byte) []byte {
			return bytes.Replace(b, []byte("\x00\x00\x00\x0bssh-ed25519\x00\x00\x00\x40"), []byte("\x00\x00\x00\x0bssh-rsa2551\x00\x00\x00\x40"), 1)
		}), ErrFormat, `"ssh-rsa2551"`},
		{"rsa key", withBlob(func(b []byte) []byte {
			return bytes.Replace(b, []byte("ssh-ed25519"), []byte("ssh-rsa2551"), 1)
		}), ErrFormat, `"ssh-rsa2551"`},
		{"reserved not empty", withBlob(func(b []byte) []byte {
			i := bytes.Index(b, []byte("plugctl-plugin")) + len("plugctl-plugin")
			return append(b[:i:i], append([]byte("\x00\x00\x00\x01x"), b[i+4:]...)...)
		}), ErrFormat, "reserved"},
		{"hash changed", variant(func(s *signature) { s.hashAlg = "sha256" }), ErrBadSignature, "does not match"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Verify(k.Public(), Namespace, strings.NewReader("hello"), tt.sig)
			if !errors.Is(err, tt.want) || !strings.Contains(err.Error(), tt.msg) {
				t.Fatalf("got %v, want %v mentioning %s", err, tt.want, tt.msg)
			}
		})
	}
}

func TestVerifyCRLF(t *testing.T) {
	k := testKey()
	sig := bytes.ReplaceAll(mustSign(t, k, Namespace, "hello"), []byte("\n"), []byte("\r\n"))
	if err := Verify(k.Public(), Namespace, strings.NewReader("hello"), sig); err != nil {
		t.Fatalf("Verify with CRLF line ends: %v", err)
	}
}

// TestGolden pins the exact bytes Sign produces for a fixed key and
// message; ed25519 signatures are deterministic, so any change here is a
// change of format. TestInteropGolden checks the file with ssh-keygen.
func TestGolden(t *testing.T) {
	k := testKey()
	got := mustSign(t, k, Namespace, goldenMessage)
	path := filepath.Join("testdata", "golden.sig")
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("Sign output changed (run go test -run TestGolden -update if intended)\ngot:\n%s\nwant:\n%s", got, want)
	}
	if err := Verify(k.Public(), Namespace, strings.NewReader(goldenMessage), want); err != nil {
		t.Fatalf("golden signature does not verify: %v", err)
	}
}
