package cmd

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
	"unicode"

	"github.com/plugctl/plugctl/enroll"
	"github.com/plugctl/plugctl/registrar"
	"github.com/plugctl/plugctl/sign"
	"github.com/urfave/cli/v2"
)

// manifestCommand is `plugctl manifest`: the host's allow-list of plugins.
func manifestCommand() *cli.Command {
	return &cli.Command{
		Name:  "manifest",
		Usage: "enroll plugins in a host's allow-list, and check, revoke or remove them",
		UsageText: "plugctl manifest command [command options] [arguments...]\n\n" +
			"plugctl manifest enroll ./acme             # build the project and enroll its binary\n" +
			"plugctl manifest list                      # every enrolled plugin\n" +
			"plugctl manifest doctor                    # exit 1 if a binary no longer matches its entry\n" +
			"plugctl manifest update acme               # after a rebuild: record the new hash and version\n" +
			"plugctl manifest revoke acme --reason CVE  # hosts refuse it and end its live sessions",
		Description: "A registry is a directory with one TOML file per enrolled plugin\n" +
			"(docs/REGISTRY.md). Hosts accept a plugin only if an unrevoked entry names\n" +
			"its binary's path and its SHA-256, or a signer whose signature the binary\n" +
			"carries. The registry is --registry DIR, else $" + enroll.EnvRegistry + ", else\n" +
			"plugctl/registry in your configuration directory (~/.config on Linux).\n" +
			"A registry or entry that others can write is refused.\n\n" +
			"Entries are named by id, a unique id prefix of 4 or more characters, or name.\n\n" +
			"Exit codes: 0 ok; 1 failure, or drift found by doctor; 2 a usage error.",
		Subcommands: []*cli.Command{
			enrollCommand(),
			listCommand(),
			showCommand(),
			updateCommand(),
			doctorCommand(),
			revokeCommand(),
			entryCommand("unrevoke", "unrevoked", "accept a revoked plugin again", func(r *enroll.Registry, ref string) (*enroll.Entry, error) {
				return registrar.Unrevoke(r, ref)
			}),
			entryCommand("remove", "removed", "delete an entry (and the binary enroll built for it)", func(r *enroll.Registry, ref string) (*enroll.Entry, error) {
				return registrar.Remove(r, ref)
			}),
			keygenCommand(),
			signCommand(),
		},
		OnUsageError: onUsageError,
	}
}

var registryFlag = &cli.StringFlag{Name: "registry", Usage: "the registry `DIR` (default $" + enroll.EnvRegistry + ", else in your configuration directory)"}

func openRegistry(c *cli.Context) (*enroll.Registry, error) {
	dir, err := enroll.ResolveDir(c.String("registry"))
	if err != nil {
		return nil, err
	}
	return enroll.Open(dir), nil
}

func enrollCommand() *cli.Command {
	return &cli.Command{
		Name:      "enroll",
		Usage:     "add a plugin to the registry: a project (built first) or a binary",
		ArgsUsage: "[DIR|BINARY]",
		UsageText: "plugctl manifest enroll [DIR|BINARY] [--name NAME] [--auto-launch] [--arg ARG]... [--env K=V]... [--signer KEY.pub]\n\n" +
			"plugctl manifest enroll                         # the project in . (built into the registry)\n" +
			"plugctl manifest enroll /opt/plugins/acme       # a binary, enrolled where it is\n" +
			"plugctl manifest enroll ./acme --auto-launch --env ACME_URL=https://x.test\n" +
			"plugctl manifest enroll ./acme --signer release.pub  # rebuilds signed by this key are accepted",
		Description: "enroll runs the plugin once over the protocol to read its name, version\n" +
			"and role from its HELLO, hashes the binary and writes a new entry with a\n" +
			"random id. A project directory is built with go build into the registry's\n" +
			"bin directory, a stable place that update rebuilds into. A path already\n" +
			"enrolled is refused: use update after a rebuild.",
		Flags: []cli.Flag{
			registryFlag,
			&cli.StringFlag{Name: "name", Usage: "the entry's `NAME` (default: the plugin's own)"},
			&cli.BoolFlag{Name: "auto-launch", DisableDefaultText: true, Usage: "a supervising host starts this plugin by itself"},
			&cli.StringSliceFlag{Name: "arg", Usage: "an argument a host launches it with, `ARG` (repeatable)"},
			&cli.StringSliceFlag{Name: "env", Usage: "an environment variable a host launches it with, `K=V` (repeatable)"},
			&cli.StringFlag{Name: "signer", Usage: "also accept any binary signed by this ed25519 `KEY` (a .pub file)"},
			&cli.BoolFlag{Name: "signer-only", DisableDefaultText: true, Usage: "pin by --signer alone, not by the binary's hash"},
			&cli.IntFlag{Name: "max-sessions", Value: enroll.DefaultMaxSessions, Usage: "concurrent sessions a host accepts (0: no limit)"},
		},
		OnUsageError:    onUsageError,
		HideHelpCommand: true,
		Action: func(c *cli.Context) error {
			if c.NArg() > 1 {
				return usagef("manifest enroll", "expected one project directory or binary, got %d arguments", c.NArg())
			}
			target := c.Args().First()
			if target == "" {
				target = "."
			}
			o := registrar.Options{Name: c.String("name"), AutoLaunch: c.Bool("auto-launch"),
				Args: c.StringSlice("arg"), MaxSessions: c.Int("max-sessions"), SignerOnly: c.Bool("signer-only")}
			if o.MaxSessions < 0 {
				return usagef("manifest enroll", "--max-sessions %d: want 0 (no limit) or more", o.MaxSessions)
			}
			var err error
			if o.Env, err = envFlag(c.StringSlice("env")); err != nil {
				return err
			}
			if key := c.String("signer"); key != "" {
				pub, err := sign.LoadPublicKey(key)
				if err != nil {
					return usagef("manifest enroll", "--signer: %v", err)
				}
				o.Signer = pub.String()
			} else if o.SignerOnly {
				return usagef("manifest enroll", "--signer-only needs --signer KEY.pub")
			}
			r, err := openRegistry(c)
			if err != nil {
				return err
			}
			e, err := registrar.Enroll(ctxOf(c), r, target, o)
			if err != nil {
				return err
			}
			fmt.Fprintf(c.App.Writer, "enrolled %s %s (%s) as %s\n", e.Name, e.Version, e.Role, e.ID)
			fmt.Fprintf(c.App.Writer, "  path     %s\n  pinned   by %s\n  registry %s\n", e.Path, e.Pinning(), r.Dir)
			return nil
		},
	}
}

// envFlag parses --env K=V values.
func envFlag(kvs []string) (map[string]string, error) {
	if len(kvs) == 0 {
		return nil, nil
	}
	env := map[string]string{}
	for _, kv := range kvs {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || !enroll.ValidEnvName(k) {
			return nil, usagef("manifest enroll", "--env %q: want NAME=value, NAME of letters, digits and _, not starting with a digit", kv)
		}
		env[k] = v
	}
	return env, nil
}

func listCommand() *cli.Command {
	return &cli.Command{
		Name:      "list",
		Usage:     "list the enrolled plugins",
		UsageText: "plugctl manifest list [--json]",
		Flags: []cli.Flag{registryFlag,
			&cli.BoolFlag{Name: "json", DisableDefaultText: true, Usage: "print a JSON array of entries"}},
		OnUsageError:    onUsageError,
		HideHelpCommand: true,
		Action: func(c *cli.Context) error {
			r, s, err := loadRegistry(c)
			if err != nil {
				return err
			}
			if c.Bool("json") {
				return writeJSON(c.App.Writer, jsonEntries(s.Entries))
			}
			if len(s.Entries) == 0 {
				fmt.Fprintf(c.App.ErrWriter, "no plugins enrolled in %s (plugctl manifest enroll adds one)\n", r.Dir)
				return nil
			}
			tw := tabwriter.NewWriter(c.App.Writer, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tNAME\tVERSION\tROLE\tPINNED BY\tSTATE\tAUTO\tPATH")
			for _, e := range s.Entries {
				state := "enrolled"
				if e.Revoked {
					state = "revoked"
				}
				auto := "-"
				if e.AutoLaunch {
					auto = "yes"
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", enroll.ShortID(e.ID), e.Name, dash(e.Version), dash(e.Role), e.Pinning(), state, auto, e.Path)
			}
			return tw.Flush()
		},
	}
}

// loadRegistry loads the registry and warns, on stderr, of files that are
// not valid entries; the others load regardless.
func loadRegistry(c *cli.Context) (*enroll.Registry, *enroll.Snapshot, error) {
	r, err := openRegistry(c)
	if err != nil {
		return nil, nil, err
	}
	s, err := r.Load()
	if err != nil {
		return nil, nil, err
	}
	for _, p := range s.Problems {
		for _, line := range strings.Split(p.Error(), "\n") { // a file's problems are joined by lines
			fmt.Fprintf(c.App.ErrWriter, "plugctl: skipped: %s\n", line)
		}
	}
	return r, s, nil
}

func showCommand() *cli.Command {
	return &cli.Command{
		Name:      "show",
		Usage:     "show one entry",
		ArgsUsage: "ID|NAME",
		UsageText: "plugctl manifest show ID|NAME [--json]",
		Flags: []cli.Flag{registryFlag,
			&cli.BoolFlag{Name: "json", DisableDefaultText: true, Usage: "print the entry as JSON"}},
		OnUsageError:    onUsageError,
		HideHelpCommand: true,
		BashComplete:    completeEntries,
		Action: func(c *cli.Context) error {
			ref, err := oneRef(c, "manifest show")
			if err != nil {
				return err
			}
			_, s, err := loadRegistry(c)
			if err != nil {
				return err
			}
			e, err := s.Find(ref)
			if err != nil {
				return err
			}
			if c.Bool("json") {
				return writeJSON(c.App.Writer, jsonEntry(e))
			}
			tw := tabwriter.NewWriter(c.App.Writer, 0, 4, 2, ' ', 0)
			row := func(k, v string) {
				if v != "" {
					fmt.Fprintf(tw, "%s\t%s\n", k, v)
				}
			}
			row("id", e.ID)
			row("name", e.Name)
			row("version", dash(e.Version))
			row("role", e.Role)
			row("path", e.Path)
			row("pinned by", e.Pinning())
			row("sha256", e.SHA256)
			if e.Signer != "" {
				if pub, err := sign.ParsePublicKey([]byte(e.Signer)); err == nil {
					row("signer", pub.Fingerprint()+" "+pub.Comment)
				}
			}
			row("project", e.Project)
			row("enrolled", e.EnrolledAt.Format(time.RFC3339))
			row("updated", e.UpdatedAt.Format(time.RFC3339))
			if e.Revoked {
				row("revoked", e.RevokedAt.Format(time.RFC3339)+reasonText(e.Reason))
			}
			row("auto launch", fmt.Sprint(e.AutoLaunch))
			row("max sessions", maxSessionsText(e.MaxSessions))
			if len(e.Args) > 0 {
				row("args", strings.Join(e.Args, " "))
			}
			for _, k := range slices.Sorted(maps.Keys(e.Env)) {
				row("env", k+"="+printable(e.Env[k]))
			}
			return tw.Flush()
		},
	}
}

func updateCommand() *cli.Command {
	return &cli.Command{
		Name:      "update",
		Usage:     "record an entry's binary as it is now: hash, version and role; the id stays",
		ArgsUsage: "ID|NAME",
		UsageText: "plugctl manifest update ID|NAME [--no-build]\n\n" +
			"plugctl manifest update acme             # rebuild the project acme was enrolled from, and record it\n" +
			"plugctl manifest update 6f1c --no-build  # record the binary as it is",
		Flags: []cli.Flag{registryFlag,
			&cli.BoolFlag{Name: "no-build", DisableDefaultText: true, Usage: "do not rebuild an entry enrolled from a project"}},
		OnUsageError:    onUsageError,
		HideHelpCommand: true,
		BashComplete:    completeEntries,
		Action: func(c *cli.Context) error {
			ref, err := oneRef(c, "manifest update")
			if err != nil {
				return err
			}
			r, err := openRegistry(c)
			if err != nil {
				return err
			}
			before, after, err := registrar.Update(ctxOf(c), r, ref, !c.Bool("no-build"))
			if err != nil {
				return err
			}
			fmt.Fprintf(c.App.Writer, "updated %s\n", after.Ref())
			if before.Version != after.Version {
				fmt.Fprintf(c.App.Writer, "  version %s → %s\n", dash(before.Version), dash(after.Version))
			}
			if before.SHA256 != after.SHA256 {
				fmt.Fprintf(c.App.Writer, "  sha256  %s → %s\n", dash(before.SHA256), after.SHA256)
			} else {
				fmt.Fprintln(c.App.Writer, "  the binary is unchanged")
			}
			return nil
		},
	}
}

// errDrift is doctor's failure; its report already says what drifted.
var errDrift = errors.New("registry drift")

func doctorCommand() *cli.Command {
	return &cli.Command{
		Name:  "doctor",
		Usage: "check every entry against its binary; exit 1 on any drift",
		UsageText: "plugctl manifest doctor [--json]\n\n" +
			"plugctl manifest doctor && systemctl restart my-host   # only with a clean registry",
		Description: "doctor checks each entry as a host would, and more. Per entry, one line:\n" +
			"ok, revoked, or drift with what drifted: the binary missing, its hash\n" +
			"changed, a bad or missing signature, a new version or role, the binary or\n" +
			"its directory writable by others. Files that are not valid entries are\n" +
			"invalid, with file:line:col. A binary that no longer matches is not run.\n\n" +
			"Exit codes: 0 every entry matches; 1 drift or an invalid entry.",
		Flags: []cli.Flag{registryFlag,
			&cli.BoolFlag{Name: "json", DisableDefaultText: true, Usage: "print a JSON array of findings"}},
		OnUsageError:    onUsageError,
		HideHelpCommand: true,
		Action: func(c *cli.Context) error {
			r, err := openRegistry(c)
			if err != nil {
				return err
			}
			if _, err := os.Stat(r.Dir); errors.Is(err, fs.ErrNotExist) {
				return fmt.Errorf("registry %s does not exist: nothing is enrolled there (check --registry and %s; plugctl manifest enroll creates it)", r.Dir, enroll.EnvRegistry)
			}
			findings, err := registrar.Doctor(ctxOf(c), r)
			if err != nil {
				return err
			}
			if c.Bool("json") {
				if err := writeJSON(c.App.Writer, findings); err != nil {
					return err
				}
			} else {
				writeFindings(c.App.Writer, findings)
			}
			if registrar.Failed(findings) {
				return errDrift
			}
			return nil
		},
	}
}

func writeFindings(w io.Writer, findings []registrar.Finding) {
	if len(findings) == 0 {
		fmt.Fprintln(w, "no plugins enrolled")
		return
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for _, f := range findings {
		if f.ID == "" {
			for _, p := range f.Problems {
				fmt.Fprintf(tw, "%s\t%s\n", f.Status, p)
			}
			continue
		}
		detail := "pinned by " + f.Pinning
		if len(f.Problems) > 0 {
			detail = strings.Join(f.Problems, "; ")
		}
		for _, n := range f.Notes {
			detail += "; " + n
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", f.Status, f.Name, enroll.ShortID(f.ID), detail)
	}
	tw.Flush()
}

func revokeCommand() *cli.Command {
	return &cli.Command{
		Name:      "revoke",
		Usage:     "refuse a plugin from now on; hosts end its live sessions within 2 s",
		ArgsUsage: "ID|NAME",
		UsageText: "plugctl manifest revoke ID|NAME [--reason TEXT]\n\n" +
			"plugctl manifest revoke acme --reason \"CVE-2026-1234\"",
		Flags: []cli.Flag{registryFlag,
			&cli.StringFlag{Name: "reason", Usage: "why, recorded in the entry and sent to its sessions as `TEXT`"}},
		OnUsageError:    onUsageError,
		HideHelpCommand: true,
		BashComplete:    completeEntries,
		Action: func(c *cli.Context) error {
			ref, err := oneRef(c, "manifest revoke")
			if err != nil {
				return err
			}
			r, err := openRegistry(c)
			if err != nil {
				return err
			}
			e, err := registrar.Revoke(r, ref, c.String("reason"))
			if err != nil {
				return err
			}
			fmt.Fprintf(c.App.Writer, "revoked %s\n", e.Ref())
			return nil
		},
	}
}

// entryCommand is a command that takes one entry and changes it with do;
// done is what it says it did.
func entryCommand(name, done, usage string, do func(*enroll.Registry, string) (*enroll.Entry, error)) *cli.Command {
	return &cli.Command{
		Name:            name,
		Usage:           usage,
		ArgsUsage:       "ID|NAME",
		UsageText:       "plugctl manifest " + name + " ID|NAME",
		Flags:           []cli.Flag{registryFlag},
		OnUsageError:    onUsageError,
		HideHelpCommand: true,
		BashComplete:    completeEntries,
		Action: func(c *cli.Context) error {
			ref, err := oneRef(c, "manifest "+name)
			if err != nil {
				return err
			}
			r, err := openRegistry(c)
			if err != nil {
				return err
			}
			e, err := do(r, ref)
			if err != nil {
				return err
			}
			fmt.Fprintf(c.App.Writer, "%s %s\n", done, e.Ref())
			return nil
		},
	}
}

func keygenCommand() *cli.Command {
	return &cli.Command{
		Name:      "keygen",
		Usage:     "make an ed25519 key pair for signing plugins",
		ArgsUsage: "KEYFILE",
		UsageText: "plugctl manifest keygen KEYFILE [--comment TEXT]\n\n" +
			"plugctl manifest keygen ~/.config/plugctl/release   # writes release (mode 0600) and release.pub",
		Description: "keygen writes an unencrypted OpenSSH ed25519 private key to KEYFILE,\n" +
			"readable by you only, and its public key to KEYFILE.pub. ssh-keygen can read\n" +
			"both, and keys made by ssh-keygen -t ed25519 -N '' work here too.",
		Flags:           []cli.Flag{&cli.StringFlag{Name: "comment", Usage: "the public key's `TEXT` comment (default user@host)"}},
		OnUsageError:    onUsageError,
		HideHelpCommand: true,
		Action: func(c *cli.Context) error {
			path, err := oneRef(c, "manifest keygen")
			if err != nil {
				return err
			}
			comment := c.String("comment")
			if comment == "" {
				comment = defaultComment()
			}
			pub, err := sign.WriteKeyPair(path, comment)
			if err != nil {
				return err
			}
			fmt.Fprintf(c.App.Writer, "wrote %s (private, keep it secret) and %s.pub\n%s\n", path, path, pub.Fingerprint())
			return nil
		},
	}
}

func defaultComment() string {
	user := os.Getenv("USER")
	host, _ := os.Hostname()
	if user == "" || host == "" {
		return "plugctl"
	}
	return user + "@" + host
}

func signCommand() *cli.Command {
	return &cli.Command{
		Name:      "sign",
		Usage:     "sign a plugin binary: writes BINARY.sig beside it",
		ArgsUsage: "BINARY",
		UsageText: "plugctl manifest sign BINARY --key KEYFILE\n\n" +
			"go build -o acme . && plugctl manifest sign acme --key ~/.config/plugctl/release",
		Description: "sign writes a detached signature of BINARY to BINARY.sig, in the SSH\n" +
			"signature format (ssh-keygen -Y sign -n " + sign.Namespace + " makes the same). A host\n" +
			"accepts a binary whose entry names the key's public half as signer, even\n" +
			"when its hash changed since it was enrolled.",
		Flags:           []cli.Flag{&cli.StringFlag{Name: "key", Usage: "the private `KEYFILE` (required)"}},
		OnUsageError:    onUsageError,
		HideHelpCommand: true,
		Action: func(c *cli.Context) error {
			bin, err := oneRef(c, "manifest sign")
			if err != nil {
				return err
			}
			if c.String("key") == "" {
				return usagef("manifest sign", "--key KEYFILE is required: the private key to sign with (plugctl manifest keygen makes one)")
			}
			key, err := sign.LoadPrivateKey(c.String("key"))
			if err != nil {
				return err
			}
			sig, err := sign.SignFile(key, bin)
			if err != nil {
				return err
			}
			fmt.Fprintf(c.App.Writer, "wrote %s (signed by %s)\n", sig, key.Public().Fingerprint())
			return nil
		},
	}
}

// oneRef returns the command's only argument.
func oneRef(c *cli.Context, cmd string) (string, error) {
	if c.NArg() != 1 {
		return "", usagef(cmd, "expected one argument, got %d", c.NArg())
	}
	return c.Args().First(), nil
}

// completeEntries completes entry names from the registry.
func completeEntries(c *cli.Context) {
	if c.NArg() > 0 {
		return
	}
	r, err := openRegistry(c)
	if err != nil {
		return
	}
	s, err := r.Load()
	if err != nil {
		return
	}
	seen := map[string]int{}
	for _, e := range s.Entries {
		seen[e.Name]++
	}
	for _, e := range s.Entries {
		// A name the shell would split, or one that names several
		// entries, is no use to complete: the short id is.
		if seen[e.Name] > 1 || strings.ContainsAny(e.Name, " \t\n'\"") {
			fmt.Fprintln(c.App.Writer, enroll.ShortID(e.ID))
		} else {
			fmt.Fprintln(c.App.Writer, e.Name)
		}
	}
}

// entryJSON is an entry as list --json and show --json print it; the
// field names are stable.
type entryJSON struct {
	ID          string            `json:"id"`
	Name        string            `json:"name"`
	Version     string            `json:"version"`
	Role        string            `json:"role,omitempty"`
	Path        string            `json:"path"`
	Pinning     string            `json:"pinning"`
	SHA256      string            `json:"sha256,omitempty"`
	Signer      string            `json:"signer,omitempty"`
	Project     string            `json:"project,omitempty"`
	EnrolledAt  time.Time         `json:"enrolled_at"`
	UpdatedAt   time.Time         `json:"updated_at"`
	Revoked     bool              `json:"revoked"`
	RevokedAt   *time.Time        `json:"revoked_at,omitempty"`
	Reason      string            `json:"revoked_reason,omitempty"`
	AutoLaunch  bool              `json:"auto_launch"`
	MaxSessions int               `json:"max_sessions"`
	Args        []string          `json:"args"`
	Env         map[string]string `json:"env"`
}

func jsonEntry(e *enroll.Entry) entryJSON {
	j := entryJSON{ID: e.ID, Name: e.Name, Version: e.Version, Role: e.Role, Path: e.Path, Pinning: e.Pinning(),
		SHA256: e.SHA256, Signer: e.Signer, Project: e.Project, EnrolledAt: e.EnrolledAt, UpdatedAt: e.UpdatedAt,
		Revoked: e.Revoked, Reason: e.Reason, AutoLaunch: e.AutoLaunch, MaxSessions: e.MaxSessions,
		Args: e.Args, Env: e.Env}
	if e.Revoked {
		j.RevokedAt = &e.RevokedAt
	}
	if j.Args == nil {
		j.Args = []string{}
	}
	if j.Env == nil {
		j.Env = map[string]string{}
	}
	return j
}

func jsonEntries(es []*enroll.Entry) []entryJSON {
	out := make([]entryJSON, len(es))
	for i, e := range es {
		out[i] = jsonEntry(e)
	}
	return out
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func reasonText(reason string) string {
	if reason == "" {
		return ""
	}
	return " (" + reason + ")"
}

func maxSessionsText(n int) string {
	if n == 0 {
		return "no limit"
	}
	return fmt.Sprint(n)
}

// printable is v, or v quoted when it holds what a terminal would act on.
func printable(v string) string {
	if strings.IndexFunc(v, func(r rune) bool { return !unicode.IsPrint(r) }) >= 0 {
		return strconv.Quote(v)
	}
	return v
}
