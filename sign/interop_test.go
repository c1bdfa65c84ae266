package sign

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// These tests run the real ssh-keygen to check that keys and signatures
// pass both ways between it and this package.

// sshKeygen returns a function running ssh-keygen with the given stdin
// (nil for none) and arguments, returning its stdout; it skips the test
// when ssh-keygen is not installed.
func sshKeygen(t *testing.T) func(stdin []byte, args ...string) (string, error) {
	t.Helper()
	path, err := exec.LookPath("ssh-keygen")
	if err != nil {
		t.Skipf("interop with OpenSSH not tested: %v", err)
	}
	// Without an agent socket ssh-keygen -Y sign uses the key file given,
	// not whatever key a developer's agent holds.
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "SSH_AUTH_SOCK=") {
			env = append(env, kv)
		}
	}
	return func(stdin []byte, args ...string) (string, error) {
		cmd := exec.Command(path, args...)
		cmd.Env = env
		if stdin != nil {
			cmd.Stdin = bytes.NewReader(stdin)
		}
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		if err := cmd.Run(); err != nil {
			return stdout.String(), errors.New("ssh-keygen " + strings.Join(args, " ") + ": " + err.Error() + ": " + strings.TrimSpace(stderr.String()))
		}
		return stdout.String(), nil
	}
}

// keygenFingerprint returns the fingerprint ssh-keygen -l prints for the
// key file at path (output "256 SHA256:... comment (ED25519)").
func keygenFingerprint(t *testing.T, run func([]byte, ...string) (string, error), path string) string {
	t.Helper()
	out, err := run(nil, "-l", "-f", path)
	if err != nil {
		t.Fatal(err)
	}
	f := strings.Fields(out)
	if len(f) < 2 {
		t.Fatalf("ssh-keygen -l printed %q", out)
	}
	return f[1]
}

func writeFile(t *testing.T, path string, data []byte) {
	t.Helper()
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestInteropFromSSHKeygen uses a key made by ssh-keygen and verifies a
// signature made by ssh-keygen.
func TestInteropFromSSHKeygen(t *testing.T) {
	run := sshKeygen(t)
	dir := t.TempDir()
	key := filepath.Join(dir, "K")
	if _, err := run(nil, "-q", "-t", "ed25519", "-N", "", "-C", "made by ssh-keygen", "-f", key); err != nil {
		t.Fatal(err)
	}
	priv, err := LoadPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	pub, err := LoadPublicKey(key + ".pub")
	if err != nil {
		t.Fatal(err)
	}
	if !priv.Public().Key.Equal(pub.Key) {
		t.Fatal("private and public key files hold different keys")
	}
	if priv.Comment != "made by ssh-keygen" || pub.Comment != "made by ssh-keygen" {
		t.Errorf("comments %q and %q, want %q", priv.Comment, pub.Comment, "made by ssh-keygen")
	}
	if got, want := pub.Fingerprint(), keygenFingerprint(t, run, key+".pub"); got != want {
		t.Errorf("Fingerprint() = %s, ssh-keygen -l says %s", got, want)
	}

	// MarshalPrivateKey writes the same file as ssh-keygen but for the
	// random check values.
	orig, err := os.ReadFile(key)
	if err != nil {
		t.Fatal(err)
	}
	theirs, err := unarmor(privateKeyLabel, orig)
	if err != nil {
		t.Fatal(err)
	}
	ours, err := unarmor(privateKeyLabel, MarshalPrivateKey(priv))
	if err != nil {
		t.Fatal(err)
	}
	if len(ours) == len(theirs) {
		at := len(ours) - len(splitPrivateKey(t, ours).section)
		copy(ours[at:at+8], theirs[at:at+8])
	}
	if got := armor(privateKeyLabel, ours); !bytes.Equal(got, orig) {
		t.Errorf("MarshalPrivateKey differs from ssh-keygen beyond the check values:\nours:\n%s\nssh-keygen:\n%s", got, orig)
	}

	bin := filepath.Join(dir, "plugin")
	writeFile(t, bin, []byte("\x7fELF a plugin built elsewhere\n"))
	if _, err := run(nil, "-Y", "sign", "-f", key, "-n", Namespace, bin); err != nil {
		t.Fatal(err)
	}
	if err := VerifyFile(pub, bin); err != nil {
		t.Fatalf("VerifyFile of ssh-keygen's signature: %v", err)
	}
	theirSig, err := os.ReadFile(bin + ".sig")
	if err != nil {
		t.Fatal(err)
	}
	msg, _ := os.ReadFile(bin)
	if err := Verify(pub, Namespace, bytes.NewReader(msg), theirSig); err != nil {
		t.Fatalf("Verify of ssh-keygen's signature: %v", err)
	}
	if err := Verify(pub, Namespace, bytes.NewReader(append(msg, 0)), theirSig); !errors.Is(err, ErrBadSignature) {
		t.Errorf("ssh-keygen's signature of a changed file: got %v, want ErrBadSignature", err)
	}
	// ed25519 is deterministic, so Sign must match ssh-keygen exactly.
	ourSig, err := Sign(priv, Namespace, bytes.NewReader(msg))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(ourSig, theirSig) {
		t.Errorf("Sign differs from ssh-keygen -Y sign:\nours:\n%s\nssh-keygen:\n%s", ourSig, theirSig)
	}

	// A signature ssh-keygen made for another purpose is refused.
	other := filepath.Join(dir, "document")
	writeFile(t, other, msg)
	if _, err := run(nil, "-Y", "sign", "-f", key, "-n", "file", other); err != nil {
		t.Fatal(err)
	}
	if err := VerifyFile(pub, other); !errors.Is(err, ErrNamespace) {
		t.Errorf("signature for namespace file: got %v, want ErrNamespace", err)
	}
}

// TestInteropToSSHKeygen checks that ssh-keygen accepts keys from
// WriteKeyPair and signatures from SignFile.
func TestInteropToSSHKeygen(t *testing.T) {
	run := sshKeygen(t)
	dir := t.TempDir()
	key := filepath.Join(dir, "K")
	pub, err := WriteKeyPair(key, "made by plugctl")
	if err != nil {
		t.Fatal(err)
	}
	out, err := run(nil, "-y", "-f", key)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.TrimSpace(out); got != pub.String() {
		t.Errorf("ssh-keygen -y prints %q, want %q", got, pub.String())
	}
	if got, want := pub.Fingerprint(), keygenFingerprint(t, run, key+".pub"); got != want {
		t.Errorf("Fingerprint() = %s, ssh-keygen -l says %s", got, want)
	}

	priv, err := LoadPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "plugin")
	msg := bytes.Repeat([]byte("\x7fELF a plugin built by plugctl\n"), 5000)
	writeFile(t, bin, msg)
	sigPath, err := SignFile(priv, bin)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := run(msg, "-Y", "check-novalidate", "-n", Namespace, "-f", key+".pub", "-s", sigPath); err != nil {
		t.Errorf("ssh-keygen rejects our signature: %v", err)
	}
	signers := filepath.Join(dir, "allowed_signers")
	writeFile(t, signers, []byte(`plugin-author namespaces="`+Namespace+`" `+pub.String()+"\n"))
	verify := []string{"-Y", "verify", "-f", signers, "-I", "plugin-author", "-n", Namespace, "-s", sigPath}
	if _, err := run(msg, verify...); err != nil {
		t.Errorf("ssh-keygen -Y verify rejects our signature: %v", err)
	}
	// ssh-keygen must also see a change of content, or the checks above
	// would prove nothing.
	if _, err := run(append(msg, 0), verify...); err == nil {
		t.Error("ssh-keygen -Y verify accepts our signature of a changed file")
	}
}

// TestInteropGolden has ssh-keygen check the committed golden signature
// and the fingerprint the tests expect of testKey.
func TestInteropGolden(t *testing.T) {
	run := sshKeygen(t)
	dir := t.TempDir()
	pubPath := filepath.Join(dir, "golden.pub")
	writeFile(t, pubPath, []byte(testPubLine+"\n"))
	if got := keygenFingerprint(t, run, pubPath); got != testFingerprint {
		t.Errorf("ssh-keygen -l says %s, tests expect %s", got, testFingerprint)
	}
	sig := filepath.Join("testdata", "golden.sig")
	if _, err := run([]byte(goldenMessage), "-Y", "check-novalidate", "-n", Namespace, "-f", pubPath, "-s", sig); err != nil {
		t.Errorf("ssh-keygen rejects testdata/golden.sig: %v", err)
	}
}

// TestInteropRefusedKeys checks the errors for ssh-keygen keys plugctl
// cannot use.
func TestInteropRefusedKeys(t *testing.T) {
	run := sshKeygen(t)
	dir := t.TempDir()

	enc := filepath.Join(dir, "encrypted")
	if _, err := run(nil, "-q", "-t", "ed25519", "-N", "a passphrase", "-f", enc); err != nil {
		t.Fatal(err)
	}
	_, err := LoadPrivateKey(enc)
	if !errors.Is(err, ErrEncryptedKey) || !strings.Contains(err.Error(), "ssh-keygen -t ed25519 -N '' -f KEY") {
		t.Errorf("encrypted key: got %v, want ErrEncryptedKey with a hint", err)
	}

	ecdsa := filepath.Join(dir, "ecdsa")
	if _, err := run(nil, "-q", "-t", "ecdsa", "-N", "", "-f", ecdsa); err != nil {
		t.Fatal(err)
	}
	for name, load := range map[string]func() error{
		"private": func() error { _, err := LoadPrivateKey(ecdsa); return err },
		"public":  func() error { _, err := LoadPublicKey(ecdsa + ".pub"); return err },
	} {
		err := load()
		if !errors.Is(err, ErrUnsupportedKey) || !strings.Contains(err.Error(), "ecdsa-sha2-nistp256") {
			t.Errorf("ecdsa %s key: got %v, want ErrUnsupportedKey naming ecdsa-sha2-nistp256", name, err)
		}
	}
}
