package enroll

import (
	"crypto/rand"
	"fmt"
	"time"
)

// Entry is one enrolled plugin. The zero value of an optional field means
// it is not set.
type Entry struct {
	ID          string // a random UUID, stable across updates; names the entry's file
	Name        string // from the plugin's HELLO
	Version     string // from the plugin's HELLO, as last enrolled or updated
	Role        string // "source" or "sink", from the plugin's HELLO
	Path        string // the binary: absolute, symlinks resolved
	SHA256      string // lowercase hex digest of the binary
	Signer      string // an ssh-ed25519 public key line; a binary it signed is accepted whatever its hash
	Project     string // the project directory the binary is built from, for update
	EnrolledAt  time.Time
	UpdatedAt   time.Time
	Revoked     bool
	RevokedAt   time.Time
	Reason      string   // why it was revoked
	AutoLaunch  bool     // a supervising host starts it by itself
	MaxSessions int      // concurrent sessions a host accepts; 0: no limit
	Args        []string // arguments a host launches it with
	Env         map[string]string
}

// DefaultMaxSessions is the session limit of a new entry: one plugin, one
// process, unless the enrollment says otherwise.
const DefaultMaxSessions = 1

// Pinning says what an entry trusts: "hash", "signer" or "hash+signer".
func (e *Entry) Pinning() string {
	switch {
	case e.Signer == "":
		return "hash"
	case e.SHA256 == "":
		return "signer"
	default:
		return "hash+signer"
	}
}

// Ref is how messages name an entry: its name and short id.
func (e *Entry) Ref() string { return fmt.Sprintf("%s (%s)", e.Name, ShortID(e.ID)) }

// ShortID is the first block of an id, enough to tell entries apart in
// tables and messages; commands accept any unique prefix.
func ShortID(id string) string {
	if len(id) >= 8 {
		return id[:8]
	}
	return id
}

// NewID returns a random (version 4) UUID.
func NewID() string {
	var b [16]byte
	rand.Read(b[:]) // never fails: crypto/rand panics rather than return short
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// validID reports whether s is a UUID in canonical lowercase form.
func validID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i, c := range []byte(s) {
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
				return false
			}
		}
	}
	return true
}
