package enroll_test

import (
	"bytes"
	"crypto/ed25519"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/plugctl/plugctl/enroll"
	"github.com/plugctl/plugctl/sign"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/golden")

// goldenSigner is the public key line of a key made from a fixed seed, so
// the golden files do not change from run to run.
func goldenSigner() string {
	seed := bytes.Repeat([]byte{0x42}, ed25519.SeedSize)
	k := sign.PrivateKey{Key: ed25519.NewKeyFromSeed(seed), Comment: "release@acme"}
	return k.Public().String()
}

func minimalEntry() *enroll.Entry {
	return &enroll.Entry{
		ID:         "6f1c0a2e-5b7d-4c1e-9a51-2f0e3c9d8b11",
		Name:       "acme",
		Path:       "/opt/acme/bin/acme",
		SHA256:     testDigest,
		EnrolledAt: time.Date(2026, 12, 2, 13, 25, 56, 0, time.UTC),
	}
}

func fullEntry() *enroll.Entry {
	cet := time.FixedZone("UTC+2", 2*60*60)
	return &enroll.Entry{
		ID:          "6f1c0a2e-5b7d-4c1e-9a51-2f0e3c9d8b11",
		Name:        "acme",
		Version:     "0.1.0-rc.1+build.7",
		Role:        "source",
		Path:        "/home/me/.config/plugctl/registry/bin/6f1c0a2e-5b7d-4c1e-9a51-2f0e3c9d8b11/acme",
		SHA256:      testDigest,
		Signer:      goldenSigner(),
		Project:     `/home/me/src/ácme "the" project`,
		EnrolledAt:  time.Date(2026, 12, 2, 15, 25, 56, 0, cet), // written in UTC: 13:25:56Z
		UpdatedAt:   time.Date(2026, 12, 2, 14, 2, 11, 123456789, time.UTC),
		Revoked:     true,
		RevokedAt:   time.Date(2026, 12, 2, 15, 0, 0, 0, time.UTC),
		Reason:      "CVE-2026-1234: \"quoted\" and a \\ backslash",
		AutoLaunch:  true,
		MaxSessions: 4,
		Args: []string{
			"--verbose",
			`say "hi"`,
			`C:\Program Files\acme`,
			"two\nlines",
			"a\ttab",
			"controls \x00 \x01 \a \b \f \r \x1b \x7f end",
			"unicode: ünïcødé ✓ 日本語 🚀 \u00a0 \u2028",
			"",
		},
		Env: map[string]string{
			"ZED":         "last",
			"ACME_URL":    "https://acme.example/?q=1&r=\"2\"",
			"_PRIVATE":    "x=1;y=2",
			"MIXED_Case9": "ö\t\n\\",
			"A":           "",
		},
	}
}

func TestMarshalGolden(t *testing.T) {
	for _, tc := range []struct {
		file  string
		entry *enroll.Entry
	}{
		{"minimal.toml", minimalEntry()},
		{"full.toml", fullEntry()},
	} {
		t.Run(tc.file, func(t *testing.T) {
			got := enroll.Marshal(tc.entry)
			golden := filepath.Join("testdata", "golden", tc.file)
			if *update {
				if err := os.MkdirAll(filepath.Dir(golden), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(golden, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test ./enroll -run TestMarshalGolden -update to create it)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("Marshal differs from %s (rerun with -update if the change is intended):\n--- got\n%s\n--- want\n%s", golden, got, want)
			}
		})
	}
}

// TestMarshalFull checks the properties the golden file is meant to
// show, so that a golden file rewritten with a bug in it still fails.
func TestMarshalFull(t *testing.T) {
	out := string(enroll.Marshal(fullEntry()))
	for _, want := range []string{
		"# A plugctl enrollment entry",
		`signer = "` + goldenSigner() + `"` + "\n",
		"enrolled_at = 2026-12-02T13:25:56Z\n", // converted to UTC
		"updated_at = 2026-12-02T14:02:11.123456789Z\n",
		"revoked = true\n",
		`revoked_reason = "CVE-2026-1234: \"quoted\" and a \\ backslash"` + "\n",
		`"say \"hi\""`,
		`"C:\\Program Files\\acme"`,
		`"two\nlines"`,
		`"a\ttab"`,
		`"controls \u0000 \u0001 \u0007 \u0008 \u000c \u000d \u001b \u007f end"`,
		"\"unicode: ünïcødé ✓ 日本語 🚀 \u00a0 \u2028\"",
		"max_sessions = 4\n",
		"auto_launch = true\n",
		"\n[env]\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("Marshal output lacks %q:\n%s", want, out)
		}
	}
	// Keys in the documented order, env sorted (byte order: '_' > 'Z').
	order := []string{"id =", "name =", "version =", "role =", "path =", "sha256 =", "signer =", "project =",
		"enrolled_at =", "updated_at =", "revoked =", "revoked_at =", "revoked_reason =",
		"auto_launch =", "max_sessions =", "args =", "[env]",
		`"A" =`, `"ACME_URL" =`, `"MIXED_Case9" =`, `"ZED" =`, `"_PRIVATE" =`}
	last := -1
	for _, k := range order {
		i := strings.Index(out, "\n"+k)
		if i < 0 {
			t.Fatalf("no line starting %q in\n%s", k, out)
		}
		if i < last {
			t.Errorf("%q is out of order in\n%s", k, out)
		}
		last = i
	}
	// No raw control character but the newlines that end lines.
	for i, r := range out {
		if r < 0x20 && r != '\n' || r == 0x7f {
			t.Errorf("raw control character %U at byte %d", r, i)
		}
	}
}

func TestMarshalMinimalLeavesOutUnset(t *testing.T) {
	out := string(enroll.Marshal(minimalEntry()))
	for _, k := range []string{"version", "role", "signer", "project", "updated_at", "revoked_at", "revoked_reason", "[env]"} {
		if strings.Contains(out, "\n"+k) {
			t.Errorf("minimal entry has %s:\n%s", k, out)
		}
	}
}

func TestMarshalDeterministic(t *testing.T) {
	for _, e := range []*enroll.Entry{minimalEntry(), fullEntry()} {
		first := enroll.Marshal(e)
		for range 20 { // env is a map: iteration order changes between runs
			if again := enroll.Marshal(e); !bytes.Equal(first, again) {
				t.Fatalf("Marshal is not deterministic:\n%s\n---\n%s", first, again)
			}
		}
	}
}

func TestRoundTrip(t *testing.T) {
	signerOnly := minimalEntry()
	signerOnly.SHA256 = ""
	signerOnly.Signer = goldenSigner()
	emptyArgs := minimalEntry()
	emptyArgs.Args = []string{}
	emptyArgs.Env = map[string]string{}
	local := fullEntry()
	local.EnrolledAt = time.Date(2026, 1, 2, 3, 4, 5, 6, time.FixedZone("west", -11*60*60))
	for name, e := range map[string]*enroll.Entry{
		"minimal":     minimalEntry(),
		"full":        fullEntry(),
		"signer-only": signerOnly,
		"empty-lists": emptyArgs,
		"offset-time": local,
	} {
		t.Run(name, func(t *testing.T) {
			data := enroll.Marshal(e)
			got, err := enroll.Parse("entry.toml", data)
			if err != nil {
				t.Fatalf("Parse(Marshal(e)): %v\n%s", err, data)
			}
			if d := diffEntry(e, got); d != "" {
				t.Errorf("round trip changed the entry:\n%s", d)
			}
			if again := enroll.Marshal(got); !bytes.Equal(again, data) {
				t.Errorf("Marshal(Parse(Marshal(e))) differs:\n%s\n---\n%s", data, again)
			}
		})
	}
}

// TestParseGolden parses the golden files themselves: they are what a
// registry written by an older plugctl holds.
func TestParseGolden(t *testing.T) {
	for file, want := range map[string]*enroll.Entry{"minimal.toml": minimalEntry(), "full.toml": fullEntry()} {
		data, err := os.ReadFile(filepath.Join("testdata", "golden", file))
		if err != nil {
			t.Fatal(err)
		}
		got, err := enroll.Parse(file, data)
		if err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		if d := diffEntry(want, got); d != "" {
			t.Errorf("%s:\n%s", file, d)
		}
	}
}
