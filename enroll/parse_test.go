package enroll_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/plugctl/plugctl/enroll"
)

// baseLines is a valid entry, one key a line, so a case that replaces a
// key keeps its line number and one that adds a key puts it on line 6.
var baseLines = []string{
	`id = "6f1c0a2e-5b7d-4c1e-9a51-2f0e3c9d8b11"`, // 1
	`name = "acme"`,                      // 2
	`path = "/opt/acme/bin/acme"`,        // 3
	`sha256 = "` + testDigest + `"`,      // 4
	`enrolled_at = 2026-12-02T13:25:56Z`, // 5
}

// doc is baseLines with changes: "key = ..." replaces the line setting
// key, or is added at the end when no line does; "-key" removes the
// line (leaving an empty one, so the others keep their numbers); anything
// else is added as it is.
func doc(changes ...string) string {
	lines := append([]string(nil), baseLines...)
	for _, c := range changes {
		if k, ok := strings.CutPrefix(c, "-"); ok {
			for i, l := range lines {
				if strings.HasPrefix(l, k+" =") {
					lines[i] = ""
				}
			}
			continue
		}
		k, _, isKV := strings.Cut(c, " =")
		replaced := false
		for i, l := range lines {
			if isKV && i < len(baseLines) && strings.HasPrefix(l, k+" =") {
				lines[i], replaced = c, true
			}
		}
		if !replaced {
			lines = append(lines, c)
		}
	}
	return strings.Join(lines, "\n") + "\n"
}

type wantErr struct {
	line, col int
	key       string
	msg       string // a part of Msg
}

func TestParseValid(t *testing.T) {
	for name, src := range map[string]string{
		"base":             doc(),
		"max_sessions max": doc("max_sessions = 65536"),
		"signer only":      doc("-sha256", `signer = "`+goldenSigner()+`"`),
		"env":              doc("[env]", `A_1 = "x"`, `_b = ""`),
		"inline env":       doc(`env = { A = "x", "B" = "y" }`),
		"local datetime":   doc("updated_at = 2026-12-02T13:25:56"),
		"space in date":    doc("updated_at = 2026-12-02 13:25:56Z"),
		"bom":              "\uFEFF" + doc(),
		"crlf":             strings.ReplaceAll(doc("[env]", `A = "x"`), "\n", "\r\n"),
	} {
		if _, err := enroll.Parse(name, []byte(src)); err != nil {
			t.Errorf("%s: %v\n%s", name, err, src)
		}
	}
}

func TestParseErrors(t *testing.T) {
	decoyMultiline := strings.Join([]string{
		baseLines[0], baseLines[1], baseLines[2], // 1-3
		`project = """`,    // 4
		`sha256 = "decoy"`, // 5: inside the string
		`"""`,              // 6
		`sha256 = "bad"`,   // 7
		baseLines[4],       // 8
	}, "\n")
	decoyArray := strings.Join([]string{
		baseLines[0], baseLines[1], baseLines[2], baseLines[3], baseLines[4],
		`args = [`,              // 6
		`  "max_sessions = 3",`, // 7
		`  # max_sessions = 2`,  // 8
		`]`,                     // 9
		`max_sessions = -1`,     // 10
	}, "\n")
	decoyComment := strings.Join([]string{
		baseLines[0], baseLines[1], baseLines[2], // 1-3
		`# sha256 = "an old one"`, // 4
		`#sha256="another"`,       // 5
		`sha256 = "bad"`,          // 6
		baseLines[4],              // 7
	}, "\n")

	for _, tc := range []struct {
		name string
		src  string
		want []wantErr
		hint string // a part of the first error's Hint
	}{
		// Unknown keys.
		{"unknown key", doc(`sha265 = "x"`), []wantErr{{6, 1, "sha265", "unknown key"}}, `did you mean "sha256"?`},
		{"unknown key no suggestion", doc(`colour = "blue"`), []wantErr{{6, 1, "colour", "unknown key"}}, "remove it"},
		{"unknown table", doc(`[extra]`, `a = 1`), []wantErr{{6, 2, "extra", "unknown key"}}, ""},
		{"unknown dotted key", doc(`extra.a = 1`), []wantErr{{6, 1, "extra", "unknown key"}}, ""},

		// Wrong types, every key.
		{"id type", doc(`id = 1`), []wantErr{{1, 1, "id", "must be a string, not an integer"}}, "quote it"},
		{"name type", doc(`name = true`), []wantErr{{2, 1, "name", "must be a string, not a boolean"}}, ""},
		{"version type", doc(`version = 1.5`), []wantErr{{6, 1, "version", "must be a string, not a float"}}, ""},
		{"role type", doc(`role = []`), []wantErr{{6, 1, "role", "must be a string, not an array"}}, ""},
		{"path type", doc(`path = 1`), []wantErr{{3, 1, "path", "must be a string"}}, ""},
		{"sha256 type", doc(`sha256 = 1`), []wantErr{
			{4, 1, "sha256", "must be a string, not an integer"},
			{4, 1, "sha256", "neither sha256 nor signer"},
		}, ""},
		{"signer type", doc(`signer = 1`), []wantErr{{6, 1, "signer", "must be a string"}}, ""},
		{"project type", doc(`project = {}`), []wantErr{{6, 1, "project", "must be a string, not a table"}}, ""},
		{"enrolled_at type", doc(`enrolled_at = "2026-12-02T13:25:56Z"`), []wantErr{{5, 1, "enrolled_at", `must be a date and time, not a string "2026-12-02T13:25:56Z"`}}, "unquoted"},
		{"updated_at type", doc(`updated_at = 1`), []wantErr{{6, 1, "updated_at", "must be a date and time, not an integer"}}, ""},
		{"revoked type", doc(`revoked = "yes"`), []wantErr{{6, 1, "revoked", "must be true or false"}}, ""},
		{"revoked_at type", doc(`revoked_at = true`), []wantErr{{6, 1, "revoked_at", "must be a date and time, not a boolean"}}, ""},
		{"revoked_reason type", doc(`revoked_reason = 1`), []wantErr{{6, 1, "revoked_reason", "must be a string"}}, ""},
		{"auto_launch type", doc(`auto_launch = 1`), []wantErr{{6, 1, "auto_launch", "must be true or false"}}, ""},
		{"max_sessions type", doc(`max_sessions = "1"`), []wantErr{{6, 1, "max_sessions", "must be an integer, not a string"}}, ""},
		{"args type", doc(`args = "--verbose"`), []wantErr{{6, 1, "args", "must be an array of strings"}}, ""},
		{"env type", doc(`env = "A=1"`), []wantErr{{6, 1, "env", "must be a table, not a string"}}, ""},
		{"env type array", doc(`env = ["A=1"]`), []wantErr{{6, 1, "env", "must be a table, not an array"}}, ""},

		// Values that do not check.
		{"id not uuid", doc(`id = "acme"`), []wantErr{{1, 1, "id", `"acme" is not a UUID`}}, ""},
		{"id uppercase", doc(`id = "6F1C0A2E-5B7D-4C1E-9A51-2F0E3C9D8B11"`), []wantErr{{1, 1, "id", "is not a UUID"}}, ""},
		{"id empty", doc(`id = ""`), []wantErr{{1, 1, "id", "is empty"}}, ""},
		{"name empty", doc(`name = ""`), []wantErr{{2, 1, "name", "is empty"}}, ""},
		{"role", doc(`role = "filter"`), []wantErr{{6, 1, "role", `"filter" is not a role`}}, `"source" or "sink"`},
		{"relative path", doc(`path = "bin/acme"`), []wantErr{{3, 1, "path", "not an absolute path"}}, ""},
		{"sha256 uppercase", doc(`sha256 = "` + strings.ToUpper(testDigest) + `"`), []wantErr{{4, 1, "sha256", "not a SHA-256 digest"}}, "64 lowercase hex digits"},
		{"sha256 short", doc(`sha256 = "9f86d081"`), []wantErr{{4, 1, "sha256", "not a SHA-256 digest"}}, ""},
		{"neither sha256 nor signer", doc(`-sha256`), []wantErr{{1, 1, "", "neither sha256 nor signer is set"}}, "plugctl manifest update"},
		{"empty sha256 and no signer", doc(`sha256 = ""`), []wantErr{{4, 1, "sha256", "neither sha256 nor signer is set"}}, ""},
		{"signer not ed25519", doc(`signer = "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQ user@host"`), []wantErr{{6, 1, "signer", "unsupported key type"}}, "ssh-ed25519 public key line"},
		{"signer bad base64", doc(`signer = "ssh-ed25519 !!!notbase64 me"`), []wantErr{{6, 1, "signer", "bad base64"}}, ""},
		{"signer private key", doc(`signer = "-----BEGIN OPENSSH PRIVATE KEY-----"`), []wantErr{{6, 1, "signer", "private key"}}, ""},
		{"env name digit", doc(`[env]`, `"1ABC" = "x"`), []wantErr{{7, 1, "env.1ABC", "not an environment variable name"}}, ""},
		{"env name dash", doc(`[env]`, `A-B = "x"`), []wantErr{{7, 1, "env.A-B", "not an environment variable name"}}, ""},
		{"env name equals", doc(`[env]`, `"A=B" = "x"`), []wantErr{{7, 1, "env.A=B", "not an environment variable name"}}, ""},
		{"env value int", doc(`[env]`, `A = 1`), []wantErr{{7, 1, "env.A", "must be a string, not an integer"}}, "quote it"},
		{"env value table", doc(`[env.A]`, `B = "x"`), []wantErr{{6, 6, "env.A", "must be a string, not a table"}}, ""},
		{"max_sessions negative", doc(`max_sessions = -1`), []wantErr{{6, 1, "max_sessions", "-1 is out of range"}}, "65536"},
		{"max_sessions too big", doc(`max_sessions = 65537`), []wantErr{{6, 1, "max_sessions", "65537 is out of range"}}, ""},
		{"max_sessions float", doc(`max_sessions = 1.0`), []wantErr{{6, 1, "max_sessions", "must be an integer, not a float"}}, ""},
		{"args item int", doc(`args = ["--verbose", 2]`), []wantErr{{6, 1, "args", "item 2 is an integer, not a string"}}, ""},
		{"args item array", doc(`args = [["a"]]`), []wantErr{{6, 1, "args", "item 1 is an array"}}, ""},
		{"zero enrolled_at", doc(`enrolled_at = 0001-01-01T00:00:00Z`), []wantErr{{5, 1, "enrolled_at", "zero time"}}, ""},
		{"time without date", doc(`updated_at = 13:25:56`), []wantErr{{6, 1, "updated_at", "between the years 1 and 9999"}}, ""},
		{"offset before year 1", doc(`revoked_at = 0001-01-01T00:00:00+01:00`), []wantErr{{6, 1, "revoked_at", "between the years 1 and 9999"}}, ""},
		{"offset after year 9999", doc(`updated_at = 9999-12-31T23:59:59-01:00`), []wantErr{{6, 1, "updated_at", "between the years 1 and 9999"}}, ""},

		// Missing keys have no place of their own.
		{"id missing", doc(`-id`), []wantErr{{1, 1, "", "id is missing"}}, "enroll the plugin again"},
		{"all missing", "# nothing\n", []wantErr{
			{1, 1, "", "id is missing"},
			{1, 1, "", "name is missing"},
			{1, 1, "", "path is missing"},
			{1, 1, "", "neither sha256 nor signer"},
			{1, 1, "", "enrolled_at is missing"},
		}, ""},

		// Where the key is, however it is written.
		{"quoted key", strings.Replace(doc(), `sha256 = "`+testDigest+`"`, `"sha256" = "bad"`, 1), []wantErr{{4, 1, "sha256", "not a SHA-256 digest"}}, ""},
		{"literal key", strings.Replace(doc(), `sha256 = "`+testDigest+`"`, `'sha256' = "bad"`, 1), []wantErr{{4, 1, "sha256", "not a SHA-256 digest"}}, ""},
		{"escaped key", strings.Replace(doc(), `sha256 = "`+testDigest+`"`, `"sh\u0061256" = "bad"`, 1), []wantErr{{4, 1, "sha256", "not a SHA-256 digest"}}, ""},
		{"indented", strings.Replace(doc(), `sha256 = "`+testDigest+`"`, `   sha256   =   "bad"`, 1), []wantErr{{4, 4, "sha256", "not a SHA-256 digest"}}, ""},
		{"tabs", doc("\tmax_sessions\t=\t-1"), []wantErr{{6, 2, "max_sessions", "out of range"}}, ""},
		{"no spaces", strings.Replace(doc(), `sha256 = "`+testDigest+`"`, `sha256="bad"`, 1), []wantErr{{4, 1, "sha256", "not a SHA-256 digest"}}, ""},
		{"key in comments first", decoyComment, []wantErr{{6, 1, "sha256", "not a SHA-256 digest"}}, ""},
		{"key in multi-line string first", decoyMultiline, []wantErr{{7, 1, "sha256", "not a SHA-256 digest"}}, ""},
		{"key in multi-line array first", decoyArray, []wantErr{{10, 1, "max_sessions", "out of range"}}, ""},
		{"env header with comment", doc(`[env] # secrets`, `A = 1`), []wantErr{{7, 1, "env.A", "must be a string"}}, ""},
		{"env header with spaces", doc(`[ env ]`, `OK = "x"`, `  B = 2`), []wantErr{{8, 3, "env.B", "must be a string"}}, ""},
		{"env header quoted", doc(`["env"]`, `B = 2`), []wantErr{{7, 1, "env.B", "must be a string"}}, ""},
		{"env key also top level", doc(`version = "A"`, `[env]`, `OK = "x"`, `version = 2`), []wantErr{{9, 1, "env.version", "must be a string"}}, ""},
		{"env inline", doc(`env = { A = "ok", B = 2 }`), []wantErr{{6, 19, "env.B", "must be a string"}}, ""},
		{"env dotted", doc(`env.B = 2`), []wantErr{{6, 5, "env.B", "must be a string"}}, ""},
		{"key after date with space", doc(`updated_at = 2026-12-02 13:25:56Z`, `revoked = 1`), []wantErr{{7, 1, "revoked", "must be true or false"}}, ""},

		// Not TOML at all: the decoder's position, as line and column.
		{"syntax double equals", doc(`max_sessions = = 1`), []wantErr{{6, 16, "", "invalid TOML: expected value but found '='"}}, "fix the file"},
		{"syntax unterminated string", doc(`name = "acme`), []wantErr{{2, 13, "", "invalid TOML: strings cannot contain newlines"}}, ""},
		{"syntax bad value", doc(`max_sessions = lots`), []wantErr{{6, 16, "", "invalid TOML"}}, ""},
		{"syntax unterminated table", doc(`[env`), []wantErr{{6, 5, "", "invalid TOML"}}, ""},
		{"syntax duplicate key", doc() + `name = "again"` + "\n", []wantErr{{6, 1, "", "invalid TOML: Key 'name' has already been defined"}}, ""},
		{"syntax control character", doc("revoked_reason = \"a\x01b\""), []wantErr{{6, 19, "", "invalid TOML: TOML files cannot contain control characters"}}, ""},
		{"syntax bad date", doc(`updated_at = 2026-13-02T13:25:56Z`), []wantErr{{6, 14, "", "invalid TOML: invalid datetime"}}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e, err := enroll.Parse("reg/x.toml", []byte(tc.src))
			if err == nil {
				t.Fatalf("Parse accepted\n%s\nas %+v", tc.src, e)
			}
			if e != nil {
				t.Errorf("Parse returned an entry with its error")
			}
			got := parseErrors(t, err)
			if len(got) != len(tc.want) {
				t.Fatalf("%d errors, want %d:\n%v\nsource:\n%s", len(got), len(tc.want), err, tc.src)
			}
			for i, w := range tc.want {
				g := got[i]
				if g.File != "reg/x.toml" || g.Line != w.line || g.Col != w.col || g.Key != w.key || !strings.Contains(g.Msg, w.msg) {
					t.Errorf("error %d is %s:%d:%d key %q msg %q,\n      want %s:%d:%d key %q msg containing %q\nsource:\n%s",
						i, g.File, g.Line, g.Col, g.Key, g.Msg, "reg/x.toml", w.line, w.col, w.key, w.msg, numbered(tc.src))
				}
			}
			if !strings.Contains(got[0].Hint, tc.hint) {
				t.Errorf("hint %q does not contain %q", got[0].Hint, tc.hint)
			}
			// errors.As finds the first one through the join.
			var first *enroll.Error
			if !errors.As(err, &first) || first != got[0] {
				t.Errorf("errors.As did not find the first *Error")
			}
		})
	}
}

// TestParseErrorsSorted has four problems that Parse finds in another
// order than they appear (unknown keys first, env last, the role between):
// all three are reported, sorted by line.
func TestParseErrorsSorted(t *testing.T) {
	src := strings.Join([]string{
		baseLines[0],         // 1
		`role = "filter"`,    // 2
		baseLines[1],         // 3
		`colour = "blue"`,    // 4
		baseLines[2],         // 5
		`max_sessions = 1.5`, // 6
		baseLines[3],         // 7
		baseLines[4],         // 8
		`[env]`,              // 9
		`GOOD = "x"`,         // 10
		`BAD = 1`,            // 11
		`ALSO_GOOD = "y"`,    // 12
	}, "\n")
	_, err := enroll.Parse("x.toml", []byte(src))
	got := parseErrors(t, err)
	want := []wantErr{
		{2, 1, "role", "is not a role"},
		{4, 1, "colour", "unknown key"},
		{6, 1, "max_sessions", "must be an integer"},
		{11, 1, "env.BAD", "must be a string"},
	}
	if len(got) != len(want) {
		t.Fatalf("got %d errors, want %d: %v", len(got), len(want), err)
	}
	for i, w := range want {
		if g := got[i]; g.Line != w.line || g.Col != w.col || g.Key != w.key || !strings.Contains(g.Msg, w.msg) {
			t.Errorf("error %d: %v, want %d:%d %s %q", i, g, w.line, w.col, w.key, w.msg)
		}
	}
	// The joined message lists them one a line, in the same order.
	lines := strings.Split(err.Error(), "\n")
	if len(lines) != len(want) || !strings.HasPrefix(lines[0], "x.toml:2:1: role: ") || !strings.HasPrefix(lines[3], "x.toml:11:1: env.BAD: ") {
		t.Errorf("joined message:\n%s", err)
	}
}

func TestErrorString(t *testing.T) {
	for _, tc := range []struct {
		err  enroll.Error
		want string
	}{
		{enroll.Error{File: "a.toml", Line: 3, Col: 7, Key: "sha256", Msg: "bad", Hint: "fix it"}, "a.toml:3:7: sha256: bad (fix it)"},
		{enroll.Error{File: "a.toml", Line: 1, Col: 1, Msg: "id is missing"}, "a.toml:1:1: id is missing"},
	} {
		if got := tc.err.Error(); got != tc.want {
			t.Errorf("Error() = %q, want %q", got, tc.want)
		}
	}
}

// numbered prefixes each line of src with its number, for failure messages.
func numbered(src string) string {
	var b strings.Builder
	for i, l := range strings.Split(src, "\n") {
		fmt.Fprintf(&b, "%3d| %s\n", i+1, l)
	}
	return b.String()
}
