package sign

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
)

// Both OpenSSH private keys and SSH signatures are stored as a PEM-like
// armor: a BEGIN line, the base64 of a binary blob, an END line. The lines
// are wrapped at 70 columns, as ssh-keygen writes them (encoding/pem wraps
// at 64, which OpenSSH reads but would make our files differ from its).

const armorWidth = 70

// armor encodes data between BEGIN and END lines carrying label.
func armor(label string, data []byte) []byte {
	enc := base64.StdEncoding.EncodeToString(data)
	var b bytes.Buffer
	b.WriteString("-----BEGIN " + label + "-----\n")
	for len(enc) > armorWidth {
		b.WriteString(enc[:armorWidth])
		b.WriteByte('\n')
		enc = enc[armorWidth:]
	}
	b.WriteString(enc)
	b.WriteString("\n-----END " + label + "-----\n")
	return b.Bytes()
}

// unarmor returns the blob armored under label in text. Whitespace around
// the armor and inside the base64 (any line length, CRLF line ends) is
// accepted; anything else before, after or between the lines is not.
func unarmor(label string, text []byte) ([]byte, error) {
	begin := []byte("-----BEGIN " + label + "-----")
	end := []byte("-----END " + label + "-----")
	text = bytes.TrimSpace(text)
	if !bytes.HasPrefix(text, begin) {
		return nil, fmt.Errorf("missing %q line", begin)
	}
	text = text[len(begin):]
	i := bytes.Index(text, end)
	if i < 0 {
		return nil, fmt.Errorf("missing %q line", end)
	}
	if len(bytes.TrimSpace(text[i+len(end):])) > 0 {
		return nil, fmt.Errorf("unexpected data after %q line", end)
	}
	enc := bytes.Join(bytes.Fields(text[:i]), nil)
	if len(enc) == 0 {
		return nil, errors.New("no data between the armor lines")
	}
	data := make([]byte, base64.StdEncoding.DecodedLen(len(enc)))
	n, err := base64.StdEncoding.Strict().Decode(data, enc)
	if err != nil {
		return nil, fmt.Errorf("bad base64: %v", err)
	}
	return data[:n], nil
}
