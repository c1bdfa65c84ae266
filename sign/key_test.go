package sign

import (
	"bytes"
	"crypto/ed25519"
	"errors"
	"strings"
	"testing"
)

// The public key of testKey and its fingerprint, as printed by
// ssh-keygen -y and ssh-keygen -l (OpenSSH 9.2).
const (
	testPubLine     = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAOhB7/zzhC+HXDdGOdLwJln5NYwm6UNXx3chmQSVTG4 golden@plugctl"
	testFingerprint = "SHA256:lbmsoA0yIEcEiVDRnMWuzm+nV+3ZEEpVIURqFoeSspg"
)

func TestKnownPublicKey(t *testing.T) {
	pub := testKey().Public()
	if got := pub.String(); got != testPubLine {
		t.Errorf("String() = %q, want %q", got, testPubLine)
	}
	if got := pub.Fingerprint(); got != testFingerprint {
		t.Errorf("Fingerprint() = %q, want %q", got, testFingerprint)
	}
	for _, line := range []string{testPubLine + "\n", "  " + strings.ReplaceAll(testPubLine, " ", " \t ") + "\r\n"} {
		parsed, err := ParsePublicKey([]byte(line))
		if err != nil {
			t.Fatalf("%q: %v", line, err)
		}
		if !parsed.Key.Equal(pub.Key) || parsed.Comment != "golden@plugctl" {
			t.Errorf("ParsePublicKey(%q) = %v, want %v", line, parsed, pub)
		}
	}
}

func TestPublicKeyRoundTrip(t *testing.T) {
	for _, comment := range []string{"", "alice@example.com", "release key 2026"} {
		_, pub, err := GenerateKey(comment)
		if err != nil {
			t.Fatal(err)
		}
		got, err := ParsePublicKey([]byte(pub.String()))
		if err != nil {
			t.Fatalf("%q: %v", pub.String(), err)
		}
		if !got.Key.Equal(pub.Key) || got.Comment != comment {
			t.Errorf("round trip of %q gave %v", pub.String(), got)
		}
	}
}

func TestParsePublicKeyErrors(t *testing.T) {
	enc := strings.Fields(testPubLine)[1]
	rsaBlob := "AAAAB3NzaC1yc2EAAAADAQABAAAAgQC7" // "ssh-rsa" then part of a key
	tests := []struct {
		name, line string
		want       error  // nil: any error
		contains   string // in the message
	}{
		{"empty", "", nil, "empty"},
		{"rsa", "ssh-rsa " + rsaBlob + " bob", ErrUnsupportedKey, `"ssh-rsa"`},
		{"blob of another type", "ssh-ed25519 " + rsaBlob, ErrUnsupportedKey, `"ssh-rsa"`},
		{"no key data", "ssh-ed25519", nil, "no key data"},
		{"bad base64", "ssh-ed25519 AAAA!!!!", nil, "base64"},
		{"truncated key", "ssh-ed25519 " + enc[:40], nil, "malformed"},
		{"private key", "-----BEGIN OPENSSH PRIVATE KEY-----\n", nil, "private key"},
		{"two lines", testPubLine + "\n" + testPubLine, nil, "more than one line"},
		{"two lines without comments", "ssh-ed25519 " + enc + "\nssh-ed25519 " + enc, nil, "more than one line"},
		{"options", `restrict ` + testPubLine, ErrUnsupportedKey, `"restrict"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParsePublicKey([]byte(tt.line))
			if err == nil {
				t.Fatal("no error")
			}
			if tt.want != nil && !errors.Is(err, tt.want) {
				t.Errorf("got %v, want %v", err, tt.want)
			}
			if !strings.Contains(err.Error(), tt.contains) {
				t.Errorf("error %q does not contain %q", err, tt.contains)
			}
		})
	}
}

func TestPrivateKeyRoundTrip(t *testing.T) {
	for _, comment := range []string{"", "alice@example.com", "12345678"} {
		priv, pub, err := GenerateKey(comment)
		if err != nil {
			t.Fatal(err)
		}
		data := MarshalPrivateKey(priv)
		got, err := ParsePrivateKey(data)
		if err != nil {
			t.Fatalf("ParsePrivateKey: %v\n%s", err, data)
		}
		if !got.Key.Equal(priv.Key) || got.Comment != comment {
			t.Errorf("round trip gave comment %q and a different key", got.Comment)
		}
		if !got.Public().Key.Equal(pub.Key) {
			t.Error("public key of the parsed key differs")
		}
	}
}

func TestMarshalPrivateKeyLayout(t *testing.T) {
	data := MarshalPrivateKey(testKey())
	text := string(data)
	if !strings.HasPrefix(text, "-----BEGIN OPENSSH PRIVATE KEY-----\n") || !strings.HasSuffix(text, "\n-----END OPENSSH PRIVATE KEY-----\n") {
		t.Fatalf("bad armor:\n%s", text)
	}
	blob, err := unarmor(privateKeyLabel, data)
	if err != nil {
		t.Fatal(err)
	}
	f := splitPrivateKey(t, blob)
	if f.cipher != "none" || f.kdf != "none" || len(f.kdfOptions) != 0 || f.n != 1 {
		t.Errorf("header: cipher %q kdf %q options %q keys %d", f.cipher, f.kdf, f.kdfOptions, f.n)
	}
	s := f.section
	if len(s)%8 != 0 {
		t.Errorf("private section of %d bytes, not a multiple of 8", len(s))
	}
	if !bytes.Equal(s[0:4], s[4:8]) {
		t.Errorf("check values %x and %x differ", s[0:4], s[4:8])
	}
	// The section of testKey ends with its comment, then the padding.
	_, pad, ok := bytes.Cut(s, []byte("golden@plugctl"))
	if !ok || !bytes.Equal(pad, []byte{1, 2, 3, 4, 5, 6, 7}[:len(pad)]) {
		t.Errorf("padding %v, want 1, 2, 3...", pad)
	}
	// Check values are random: two encodings of a key differ in them only.
	other, _ := unarmor(privateKeyLabel, MarshalPrivateKey(testKey()))
	if bytes.Equal(blob, other) {
		t.Error("two encodings have the same check values")
	}
}

// privateKeyFields are the fields of an openssh-key-v1 blob holding one key.
type privateKeyFields struct {
	cipher, kdf         string
	kdfOptions, pubBlob []byte
	n                   uint32
	section             []byte
}

func splitPrivateKey(t *testing.T, blob []byte) privateKeyFields {
	t.Helper()
	if !bytes.HasPrefix(blob, []byte(privateKeyMagic)) {
		t.Fatalf("no magic in %q", blob)
	}
	r := wireReader{b: blob[len(privateKeyMagic):]}
	f := privateKeyFields{
		cipher:     string(r.string()),
		kdf:        string(r.string()),
		kdfOptions: r.string(),
		n:          r.uint32(),
		pubBlob:    r.string(),
		section:    r.string(),
	}
	if err := r.done(); err != nil {
		t.Fatal(err)
	}
	return f
}

func (f privateKeyFields) marshal() []byte {
	var w wireWriter
	w.raw([]byte(privateKeyMagic))
	w.string([]byte(f.cipher))
	w.string([]byte(f.kdf))
	w.string(f.kdfOptions)
	w.uint32(f.n)
	w.string(f.pubBlob)
	w.string(f.section)
	return armor(privateKeyLabel, w.b)
}

func TestParsePrivateKeyErrors(t *testing.T) {
	blob, err := unarmor(privateKeyLabel, MarshalPrivateKey(testKey()))
	if err != nil {
		t.Fatal(err)
	}
	// variant returns the test key's file with some fields changed.
	variant := func(change func(f *privateKeyFields)) []byte {
		f := splitPrivateKey(t, blob)
		change(&f)
		return f.marshal()
	}
	rsaPub := func() []byte {
		var w wireWriter
		w.string([]byte("ssh-rsa"))
		w.string([]byte{1, 0, 1})
		w.string(make([]byte, 128))
		return w.b
	}()
	// otherSeed is the test key's section with another key's seed.
	otherSeed := func(f *privateKeyFields) {
		f.section = bytes.Clone(f.section)
		i := bytes.Index(f.section, testKey().Key)
		f.section[i] ^= 1
	}
	tests := []struct {
		name     string
		data     []byte
		want     error
		contains []string
	}{
		{"public key", []byte(testPubLine), nil, []string{"public key"}},
		{"rsa pem", []byte("-----BEGIN RSA PRIVATE KEY-----\nAAAA\n-----END RSA PRIVATE KEY-----\n"), nil, []string{"not an OpenSSH private key"}},
		{"bad magic", armor(privateKeyLabel, []byte("openssh-key-v2\x00")), nil, []string{"bad magic"}},
		{"truncated", armor(privateKeyLabel, blob[:len(blob)-20]), nil, []string{"malformed"}},
		{"encrypted", variant(func(f *privateKeyFields) {
			f.cipher, f.kdf, f.kdfOptions = "aes256-ctr", "bcrypt", []byte("\x00\x00\x00\x10saltsaltsaltsalt\x00\x00\x00\x10")
		}), ErrEncryptedKey, []string{"aes256-ctr", "unencrypted", "plugctl manifest keygen", "ssh-keygen -t ed25519 -N '' -f KEY"}},
		{"rsa", variant(func(f *privateKeyFields) { f.pubBlob = rsaPub }), ErrUnsupportedKey, []string{`"ssh-rsa"`}},
		{"encrypted rsa", variant(func(f *privateKeyFields) { f.pubBlob, f.cipher = rsaPub, "aes256-ctr" }), ErrUnsupportedKey, []string{`"ssh-rsa"`}},
		{"two keys", variant(func(f *privateKeyFields) { f.n = 2 }), nil, []string{"2 keys"}},
		{"check values differ", variant(func(f *privateKeyFields) {
			f.section = bytes.Clone(f.section)
			f.section[0] ^= 1
		}), nil, []string{"check values"}},
		{"bad padding", variant(func(f *privateKeyFields) {
			f.section = bytes.Clone(f.section)
			f.section[len(f.section)-1] = 0
		}), nil, []string{"padding"}},
		{"unpadded", variant(func(f *privateKeyFields) { f.section = f.section[:len(f.section)-1] }), nil, []string{"padded"}},
		{"seed of another key", variant(otherSeed), nil, []string{"do not match"}},
		{"public key of another key", variant(func(f *privateKeyFields) {
			_, other, _ := GenerateKey("")
			f.pubBlob = other.blob()
		}), nil, []string{"do not match"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParsePrivateKey(tt.data)
			if err == nil {
				t.Fatal("no error")
			}
			if tt.want != nil && !errors.Is(err, tt.want) {
				t.Errorf("got %v, want %v", err, tt.want)
			}
			for _, s := range tt.contains {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q does not contain %q", err, s)
				}
			}
		})
	}
}

func TestSignInvalidKey(t *testing.T) {
	if _, err := Sign(PrivateKey{Key: ed25519.PrivateKey{1, 2, 3}}, Namespace, strings.NewReader("x")); err == nil {
		t.Fatal("Sign with a 3-byte key succeeded")
	}
}
