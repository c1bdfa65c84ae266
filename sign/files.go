package sign

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"

	"github.com/plugctl/plugctl/internal/atomicfile"
)

// LoadPublicKey reads a public key file (KEY.pub) as ssh-keygen writes it.
func LoadPublicKey(path string) (PublicKey, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return PublicKey{}, err
	}
	if bytes.HasPrefix(bytes.TrimSpace(data), []byte("-----BEGIN ")) {
		return PublicKey{}, fmt.Errorf("%s is a private key; give the .pub file", path)
	}
	k, err := ParsePublicKey(data)
	if err != nil {
		return PublicKey{}, fmt.Errorf("%s: %w", path, err)
	}
	return k, nil
}

// LoadPrivateKey reads an unencrypted ed25519 private key file. On Unix it
// refuses a file that group or others can read or write, as ssh does.
func LoadPrivateKey(path string) (PrivateKey, error) {
	f, err := os.Open(path)
	if err != nil {
		return PrivateKey{}, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return PrivateKey{}, err
	}
	var data bytes.Buffer
	if _, err := data.ReadFrom(f); err != nil {
		return PrivateKey{}, err
	}
	// Checked before the permissions, which a .pub file rightly fails.
	if bytes.HasPrefix(bytes.TrimSpace(data.Bytes()), []byte("ssh-")) {
		return PrivateKey{}, fmt.Errorf("%s is a public key; give the private key file", path)
	}
	if err := checkKeyPerm(path, fi.Mode()); err != nil {
		return PrivateKey{}, err
	}
	k, err := ParsePrivateKey(data.Bytes())
	if err != nil {
		return PrivateKey{}, fmt.Errorf("%s: %w", path, err)
	}
	return k, nil
}

// WriteKeyPair generates a key pair and writes the private key to path
// (mode 0600) and the public key to path+".pub" (mode 0644), the layout of
// ssh-keygen -f path. It never overwrites: if either file exists, nothing
// is written.
func WriteKeyPair(path, comment string) (PublicKey, error) {
	pubPath := path + ".pub"
	for _, p := range []string{path, pubPath} {
		if _, err := os.Lstat(p); err == nil {
			return PublicKey{}, existsError(p)
		} else if !errors.Is(err, fs.ErrNotExist) {
			return PublicKey{}, err
		}
	}
	priv, pub, err := GenerateKey(comment)
	if err != nil {
		return PublicKey{}, err
	}
	if err := createFile(path, MarshalPrivateKey(priv), 0o600); err != nil {
		return PublicKey{}, err
	}
	if err := createFile(pubPath, []byte(pub.String()+"\n"), 0o644); err != nil {
		// Half a key pair is worse than none: the user would have to find
		// and delete the private key before trying again.
		os.Remove(path)
		return PublicKey{}, err
	}
	return pub, nil
}

func existsError(path string) error {
	return fmt.Errorf("%s already exists; refusing to overwrite it (remove it or choose another name)", path)
}

// SignFile signs the file at path for Namespace and writes the signature
// to path+".sig", replacing an older signature. The file is streamed
// through the hash, not read into memory.
func SignFile(k PrivateKey, path string) (sigPath string, err error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	sig, err := Sign(k, Namespace, f)
	if err != nil {
		return "", fmt.Errorf("sign %s: %w", path, err)
	}
	sigPath = path + ".sig"
	if err := atomicfile.Write(sigPath, sig, 0o644); err != nil {
		return "", err
	}
	return sigPath, nil
}

// VerifyFile checks that path+".sig" is a signature of the file at path
// made by k for Namespace. A missing signature file gives ErrNoSignature;
// the other errors are those of Verify.
func VerifyFile(k PublicKey, path string) error {
	sigPath := path + ".sig"
	sig, err := os.ReadFile(sigPath)
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("%w: %s does not exist", ErrNoSignature, sigPath)
	}
	if err != nil {
		return err
	}
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := Verify(k, Namespace, f, sig); err != nil {
		return fmt.Errorf("%s: %w", sigPath, err)
	}
	return nil
}

// createFile writes a new file at path, which must not exist, so that
// readers never see a partly written key.
func createFile(path string, data []byte, perm fs.FileMode) error {
	err := atomicfile.Create(path, data, perm)
	if errors.Is(err, fs.ErrExist) {
		return existsError(path)
	}
	return err
}
