package sign

import (
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

func TestWriteKeyPair(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "signing")
	pub, err := WriteKeyPair(path, "alice@example.com")
	if err != nil {
		t.Fatal(err)
	}
	if runtime.GOOS != "windows" {
		for p, want := range map[string]os.FileMode{path: 0o600, path + ".pub": 0o644} {
			fi, err := os.Stat(p)
			if err != nil {
				t.Fatal(err)
			}
			if got := fi.Mode().Perm(); got != want {
				t.Errorf("%s has mode %04o, want %04o", p, got, want)
			}
		}
	}
	priv, err := LoadPrivateKey(path)
	if err != nil {
		t.Fatal(err)
	}
	loaded, err := LoadPublicKey(path + ".pub")
	if err != nil {
		t.Fatal(err)
	}
	if !priv.Public().Key.Equal(pub.Key) || !loaded.Key.Equal(pub.Key) {
		t.Error("written keys do not match the returned public key")
	}
	if priv.Comment != "alice@example.com" || loaded.Comment != "alice@example.com" {
		t.Errorf("comments %q and %q, want alice@example.com", priv.Comment, loaded.Comment)
	}
	assertOnly(t, dir, "signing", "signing.pub")
}

func TestWriteKeyPairRefusesOverwrite(t *testing.T) {
	for _, existing := range []string{"k", "k.pub"} {
		t.Run(existing, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "k")
			if err := os.WriteFile(filepath.Join(dir, existing), []byte("precious"), 0o600); err != nil {
				t.Fatal(err)
			}
			_, err := WriteKeyPair(path, "")
			if err == nil || !strings.Contains(err.Error(), "already exists") || !strings.Contains(err.Error(), existing) {
				t.Fatalf("got %v, want an error saying %s already exists", err, existing)
			}
			data, err := os.ReadFile(filepath.Join(dir, existing))
			if err != nil || string(data) != "precious" {
				t.Errorf("existing file changed: %q, %v", data, err)
			}
			assertOnly(t, dir, existing)
		})
	}
}

func TestCreateFileRefusesOverwrite(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "k")
	if err := os.WriteFile(path, []byte("precious"), 0o600); err != nil {
		t.Fatal(err)
	}
	// WriteKeyPair checks first; createFile must refuse too, for a file
	// created between that check and the write.
	if err := createFile(path, []byte("new"), 0o600); err == nil || !strings.Contains(err.Error(), "already exists") {
		t.Fatalf("got %v, want an already exists error", err)
	}
	if data, _ := os.ReadFile(path); string(data) != "precious" {
		t.Errorf("existing file changed to %q", data)
	}
	assertOnly(t, dir, "k")
}

func TestLoadWrongKind(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "k")
	if _, err := WriteKeyPair(path, ""); err != nil {
		t.Fatal(err)
	}
	_, err := LoadPublicKey(path)
	if want := path + " is a private key; give the .pub file"; err == nil || err.Error() != want {
		t.Errorf("LoadPublicKey(private key) = %v, want %q", err, want)
	}
	_, err = LoadPrivateKey(path + ".pub")
	if want := path + ".pub is a public key; give the private key file"; err == nil || err.Error() != want {
		t.Errorf("LoadPrivateKey(public key) = %v, want %q", err, want)
	}
	if _, err := LoadPrivateKey(filepath.Join(dir, "missing")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("LoadPrivateKey(missing) = %v, want ErrNotExist", err)
	}
}

func TestSignFileVerifyFile(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "plugin")
	if err := os.WriteFile(bin, []byte("\x7fELF plugin v1"), 0o755); err != nil {
		t.Fatal(err)
	}
	k := testKey()

	err := VerifyFile(k.Public(), bin)
	if !errors.Is(err, ErrNoSignature) || !strings.Contains(err.Error(), bin+".sig") {
		t.Fatalf("unsigned: got %v, want ErrNoSignature naming %s.sig", err, bin)
	}

	sigPath, err := SignFile(k, bin)
	if err != nil {
		t.Fatal(err)
	}
	if sigPath != bin+".sig" {
		t.Errorf("SignFile wrote %s, want %s.sig", sigPath, bin)
	}
	if err := VerifyFile(k.Public(), bin); err != nil {
		t.Fatalf("VerifyFile: %v", err)
	}

	if err := os.WriteFile(bin, []byte("\x7fELF plugin v2"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := VerifyFile(k.Public(), bin); !errors.Is(err, ErrBadSignature) {
		t.Fatalf("changed binary: got %v, want ErrBadSignature", err)
	}
	// Re-signing replaces the old signature.
	if _, err := SignFile(k, bin); err != nil {
		t.Fatal(err)
	}
	if err := VerifyFile(k.Public(), bin); err != nil {
		t.Fatalf("VerifyFile after re-signing: %v", err)
	}
	_, other, err := GenerateKey("")
	if err != nil {
		t.Fatal(err)
	}
	if err := VerifyFile(other, bin); !errors.Is(err, ErrKeyMismatch) {
		t.Fatalf("other key: got %v, want ErrKeyMismatch", err)
	}
	assertOnly(t, dir, "plugin", "plugin.sig")

	if _, err := SignFile(k, filepath.Join(dir, "missing")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("SignFile(missing) = %v, want ErrNotExist", err)
	}
}

// assertOnly checks that dir holds exactly the named files: no temporary
// files left behind, nothing written after a refusal.
func assertOnly(t *testing.T, dir string, names ...string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range entries {
		got = append(got, e.Name())
	}
	if strings.Join(got, " ") != strings.Join(names, " ") {
		t.Errorf("%s holds %q, want %q", dir, got, names)
	}
}
