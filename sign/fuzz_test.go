package sign

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

// FuzzVerify feeds arbitrary bytes to Verify as the signature of the golden
// message. Verify must not panic, and must fail with one of its sentinel
// errors, so callers can always map a failure to a reason.
func FuzzVerify(f *testing.F) {
	// More seeds, among them testdata/golden.sig, are in testdata/fuzz.
	k := testKey()
	f.Add(mustSign(f, k, "file", goldenMessage))
	f.Fuzz(func(t *testing.T, armored []byte) {
		err := Verify(k.Public(), Namespace, strings.NewReader(goldenMessage), armored)
		if err == nil {
			return
		}
		for _, sentinel := range []error{ErrNotSignature, ErrFormat, ErrKeyMismatch, ErrNamespace, ErrBadSignature} {
			if errors.Is(err, sentinel) {
				return
			}
		}
		t.Fatalf("Verify failed without a sentinel error: %v", err)
	})
}

// FuzzParsePrivateKey checks that ParsePrivateKey does not panic, and that
// whatever it accepts survives MarshalPrivateKey unchanged.
func FuzzParsePrivateKey(f *testing.F) {
	f.Add(MarshalPrivateKey(testKey()))
	f.Fuzz(func(t *testing.T, data []byte) {
		k, err := ParsePrivateKey(data)
		if err != nil {
			return
		}
		again, err := ParsePrivateKey(MarshalPrivateKey(k))
		if err != nil {
			t.Fatalf("cannot parse MarshalPrivateKey output: %v", err)
		}
		if !bytes.Equal(again.Key, k.Key) || again.Comment != k.Comment {
			t.Fatal("MarshalPrivateKey changed the key")
		}
	})
}
