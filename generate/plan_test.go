package generate

import (
	"bytes"
	"flag"
	"fmt"
	"go/ast"
	"go/format"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/plugctl/plugctl/manifest"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

// testGenerator is the plugctl version the test projects are planned by.
const testGenerator = "v0.9.0"

// packageSources holds the copied packages' sources in their directories,
// as the CLI embeds them.
var packageSources = os.DirFS("..")

// cases are the manifests whose projects are compared with golden files
// and built.
var cases = []struct {
	name string
	load func(t testing.TB) *manifest.Manifest
}{
	{"starter-source", func(t testing.TB) *manifest.Manifest { return starter(t, "source") }},
	{"starter-callback", func(t testing.TB) *manifest.Manifest { return starter(t, "source", manifest.ShapeCallback) }},
	{"starter-sink", func(t testing.TB) *manifest.Manifest { return starter(t, "sink") }},
	{"big", func(t testing.TB) *manifest.Manifest { return load(t, "testdata/big.toml") }},
	{"forms", func(t testing.TB) *manifest.Manifest { return load(t, "testdata/forms.toml") }},
	// Less than the manifest checker allows: no parameters, no event kinds.
	{"minimal", func(testing.TB) *manifest.Manifest {
		return &manifest.Manifest{Name: "minimal", Kind: "sink", Version: "0.0.1"}
	}},
}

// starter is the manifest plugctl new writes for a plugin called acme, of
// the kind and the optional shape.
func starter(t testing.TB, kind string, shape ...string) *manifest.Manifest {
	t.Helper()
	data, err := StarterManifest(Starter{Name: "acme", Kind: kind, Shape: strings.Join(shape, "")})
	if err != nil {
		t.Fatal(err)
	}
	m, err := manifest.Parse("plugin.toml", data)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func load(t testing.TB, path string) *manifest.Manifest {
	t.Helper()
	m, err := manifest.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func plan(t testing.TB, m *manifest.Manifest) []File {
	t.Helper()
	files, err := Plan(m, packageSources, testGenerator)
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// isCopy reports whether a planned file is a copy of the sdk, sdktest or
// wire package, which changes with the package and is checked against it
// instead of a golden file.
func isCopy(f File) bool {
	return strings.HasPrefix(f.Path, "internal/sdk/") || strings.HasPrefix(f.Path, "internal/wire/")
}

// TestGolden compares each generated file with its golden file, byte for
// byte; go test ./generate -update rewrites them. FILES.golden lists the
// paths and owners.
func TestGolden(t *testing.T) {
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := filepath.Join("testdata", "golden", c.name)
			files := plan(t, c.load(t))
			var list strings.Builder
			if *update {
				if err := os.RemoveAll(dir); err != nil {
					t.Fatal(err)
				}
			}
			for _, f := range files {
				fmt.Fprintf(&list, "%-8s %s\n", f.Owner, f.Path)
				if !isCopy(f) {
					golden(t, filepath.Join(dir, filepath.FromSlash(f.Path)+".golden"), f.Data)
				}
			}
			golden(t, filepath.Join(dir, "FILES.golden"), []byte(list.String()))
		})
	}
}

func golden(t *testing.T, path string, got []byte) {
	t.Helper()
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./generate -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the generated file (run go test ./generate -update if the change is intended):\n%s",
			path, firstDifference(got, want))
	}
}

// firstDifference shows the first line where got and want differ.
func firstDifference(got, want []byte) string {
	g, w := strings.Split(string(got), "\n"), strings.Split(string(want), "\n")
	for i := range max(len(g), len(w)) {
		var gl, wl string
		if i < len(g) {
			gl = g[i]
		}
		if i < len(w) {
			wl = w[i]
		}
		if gl != wl {
			return fmt.Sprintf("line %d:\ngot:  %q\nwant: %q", i+1, gl, wl)
		}
	}
	return "they differ in length"
}

// TestPlanDeterministic plans each project twice, the second time from a
// manifest with its lists reversed, and wants the same bytes, sorted by path.
func TestPlanDeterministic(t *testing.T) {
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m := c.load(t)
			first := plan(t, m)
			if !slices.IsSortedFunc(first, func(a, b File) int { return strings.Compare(a.Path, b.Path) }) {
				t.Error("files are not sorted by path")
			}
			shuffled := *m
			shuffled.Config = slices.Clone(m.Config)
			shuffled.Global = slices.Clone(m.Global)
			shuffled.Events = slices.Clone(m.Events)
			slices.Reverse(shuffled.Config)
			slices.Reverse(shuffled.Global)
			slices.Reverse(shuffled.Events)
			second := plan(t, &shuffled)
			if len(first) != len(second) {
				t.Fatalf("%d files, then %d", len(first), len(second))
			}
			for i := range first {
				if first[i].Path != second[i].Path || first[i].Owner != second[i].Owner || !bytes.Equal(first[i].Data, second[i].Data) {
					t.Errorf("%s differs between two plans", first[i].Path)
				}
			}
		})
	}
}

// TestIdents checks manifest.FixedIdents and manifest.KindIdents, which
// the manifest checker keeps event kinds from clashing on, against the
// generated main package: each kind's identifiers are all declared, and
// nothing else is declared but the fixed ones.
func TestIdents(t *testing.T) {
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m := c.load(t)
			declared := map[string]bool{}
			for _, f := range plan(t, m) {
				if path.Dir(f.Path) != "." || !strings.HasSuffix(f.Path, ".go") {
					continue
				}
				file, err := parser.ParseFile(token.NewFileSet(), f.Path, f.Data, parser.SkipObjectResolution)
				if err != nil {
					t.Fatal(err)
				}
				for _, d := range file.Decls {
					for _, name := range declNames(d) {
						declared[name] = true
					}
				}
			}
			expected := map[string]bool{}
			for _, k := range m.Events {
				for _, id := range manifest.KindIdents(k.Name, m.Kind) {
					expected[id.Name] = true
					if !declared[id.Name] {
						t.Errorf("kind %s: %s (%s) is not declared", k.Name, id.Name, id.What)
					}
				}
			}
			for name := range declared {
				if !expected[name] && !slices.Contains(manifest.FixedIdents(), name) {
					t.Errorf("%s is declared but is in neither manifest.FixedIdents nor manifest.KindIdents", name)
				}
			}
		})
	}
}

// declNames returns the package-level names a declaration declares;
// methods declare none.
func declNames(d ast.Decl) []string {
	var names []string
	switch d := d.(type) {
	case *ast.FuncDecl:
		if d.Recv == nil {
			names = append(names, d.Name.Name)
		}
	case *ast.GenDecl:
		for _, spec := range d.Specs {
			switch s := spec.(type) {
			case *ast.TypeSpec:
				names = append(names, s.Name.Name)
			case *ast.ValueSpec:
				for _, n := range s.Names {
					names = append(names, n.Name)
				}
			}
		}
	}
	return names
}

// generatedRE is how Go tools recognise generated files
// (golang.org/s/generatedcode).
var generatedRE = regexp.MustCompile(`(?m)^// Code generated .* DO NOT EDIT\.$`)

// TestHeaders checks who carries the header: every file plugctl owns, in
// its first line; no file the user owns, anywhere.
func TestHeaders(t *testing.T) {
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			for _, f := range plan(t, c.load(t)) {
				switch {
				case f.Owner == User && generatedRE.Match(f.Data):
					t.Errorf("%s belongs to the user but is marked generated", f.Path)
				case f.Owner == Plugctl && strings.HasSuffix(f.Path, ".go") && !bytes.HasPrefix(f.Data, []byte(Header+"\n")):
					t.Errorf("%s does not start with the header line", f.Path)
				case f.Path == "README.md" && !bytes.HasPrefix(f.Data, []byte("<!-- Code generated by plugctl. DO NOT EDIT. -->\n")):
					t.Errorf("README.md does not start with the header comment")
				}
				if strings.HasSuffix(f.Path, ".go") {
					formatted, err := format.Source(f.Data)
					if err != nil || !bytes.Equal(formatted, f.Data) {
						t.Errorf("%s is not gofmt-formatted (%v)", f.Path, err)
					}
				}
			}
		})
	}
}

// TestPackageCopy checks that every source of the copied packages, and
// nothing else, is copied into internal/ unchanged but for the header and a
// blank line, and the imports of the sdk and wire packages, which become
// the project's copies'.
func TestPackageCopy(t *testing.T) {
	files := plan(t, starter(t, "source"))
	copies := map[string][]byte{}
	for _, f := range files {
		if isCopy(f) {
			if f.Owner != Plugctl {
				t.Errorf("%s is owned by %s, want plugctl", f.Path, f.Owner)
			}
			copies[strings.TrimPrefix(f.Path, "internal/")] = f.Data
		}
	}
	imports := strings.NewReplacer(
		`"github.com/plugctl/plugctl/sdk"`, `"example.com/acme/internal/sdk"`,
		`"github.com/plugctl/plugctl/wire"`, `"example.com/acme/internal/wire"`)
	n := 0
	for _, dir := range []string{"sdk", "sdk/sdktest", "wire"} {
		names, err := fs.Glob(packageSources, dir+"/*.go")
		if err != nil {
			t.Fatal(err)
		}
		for _, name := range names {
			if strings.HasSuffix(name, "_test.go") {
				if _, ok := copies[name]; ok {
					t.Errorf("test file %s was copied", name)
				}
				continue
			}
			n++
			orig, err := fs.ReadFile(packageSources, name)
			if err != nil {
				t.Fatal(err)
			}
			want := Header + "\n\n" + imports.Replace(string(orig))
			if got := copies[name]; string(got) != want {
				t.Errorf("internal/%s is not %s with the header in front and the imports the project's", name, name)
			}
			if strings.Contains(string(copies[name]), "github.com/plugctl/plugctl") {
				t.Errorf("internal/%s still refers to github.com/plugctl/plugctl", name)
			}
		}
	}
	if n == 0 || len(copies) != n {
		t.Errorf("copied %d files, want the %d sources of sdk, sdk/sdktest and wire", len(copies), n)
	}
}

// TestGeneratedProjectBuilds writes each project to a temporary directory
// and runs go vet, go build and go test in it, offline and outside any
// workspace: the project needs nothing but the standard library, and its
// generated tests pass.
func TestGeneratedProjectBuilds(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a project per case")
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			write(t, dir, plan(t, c.load(t)))
			for _, args := range [][]string{{"vet", "./..."}, {"build", "./..."}, {"test", "./..."}} {
				if out, err := goCommand(dir, args...).CombinedOutput(); err != nil {
					t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, out)
				}
			}
		})
	}
}

// TestGeneratedProjectCrossBuilds vets a source and a sink project, tests
// included, for each OS plugctl's users have: the generated code and the
// copied SDK build on all of them.
func TestGeneratedProjectCrossBuilds(t *testing.T) {
	if testing.Short() {
		t.Skip("builds projects for other systems")
	}
	for _, c := range cases {
		if c.name != "starter-sink" && c.name != "big" { // both roles, every field type
			continue
		}
		dir := t.TempDir()
		write(t, dir, plan(t, c.load(t)))
		for _, goos := range []string{"linux", "darwin", "windows"} {
			t.Run(c.name+"/"+goos, func(t *testing.T) {
				cmd := goCommand(dir, "vet", "./...")
				cmd.Env = append(cmd.Env, "GOOS="+goos, "GOARCH=arm64")
				if out, err := cmd.CombinedOutput(); err != nil {
					t.Fatalf("GOOS=%s go vet ./...: %v\n%s", goos, err, out)
				}
			})
		}
	}
}

// TestGeneratedTestsFail breaks generated code in the ways the generated
// tests exist to catch, one at a time, and checks that go test fails in the
// named test: the generated tests can fail.
func TestGeneratedTestsFail(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go test once per broken project")
	}
	dir := t.TempDir()
	write(t, dir, plan(t, load(t, "testdata/big.toml")))
	for _, m := range []struct {
		what, file, old, new, failing string
	}{
		{"a rule unchecked", "spec_gen.go", `{Type: wire.ValidationGreaterThan, Value: "0"},` + "\n\t\t\t\t\t" + `{Type: wire.ValidationLessThan, Value: "1000000"},`,
			`{Type: wire.ValidationLessThan, Value: "1000000"},`, "TestParseConfigInvalid/auth.user_id/greater_than"},
		{"a required parameter not required", "spec_gen.go", `{Type: wire.ValidationRequired},` + "\n\t\t\t\t\t" + `{Type: wire.ValidationRegex, Value: "^https?://`,
			`{Type: wire.ValidationRegex, Value: "^https?://`, "TestParseConfigInvalid/url/required"},
		{"a default changed", "spec_gen.go", `Default: "4",`, `Default: "5",`, "TestParseGlobalConfigDefaults"},
		{"a secret shown", "spec_gen.go", "Secret:      true,", "Secret:      false,", "TestParseConfigSecrets"},
		{"an unknown setting accepted", "internal/sdk/settings.go", "problems.Add(name, msg)", "_ = msg", "TestParseConfigUnknown"},
		{"a kind off by one", "events_gen.go", "const KindUserLogin sdk.Kind = 2", "const KindUserLogin sdk.Kind = 1", "TestKinds"},
		{"< not escaped", "internal/sdk/json.go", "c != '<' && ", "", "TestUserLoginEventAppendJSON"},
	} {
		t.Run(m.what, func(t *testing.T) {
			path := filepath.Join(dir, m.file)
			orig, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Contains(orig, []byte(m.old)) {
				t.Fatalf("%s has no %q to break", m.file, m.old)
			}
			broken := bytes.Replace(orig, []byte(m.old), []byte(m.new), 1)
			if err := os.WriteFile(path, broken, 0o644); err != nil {
				t.Fatal(err)
			}
			defer os.WriteFile(path, orig, 0o644)
			out, err := goCommand(dir, "test", ".").CombinedOutput()
			if err == nil {
				t.Fatalf("go test passed with %s", m.what)
			}
			if !bytes.Contains(out, []byte("--- FAIL: "+m.failing)) && !bytes.Contains(out, []byte("--- FAIL: "+strings.ReplaceAll(m.failing, " ", "_"))) {
				t.Errorf("go test failed, but not in %s:\n%s", m.failing, out)
			}
		})
	}
}

// write writes planned files under dir.
func write(t *testing.T, dir string, files []File) {
	t.Helper()
	for _, f := range files {
		path := filepath.Join(dir, filepath.FromSlash(f.Path))
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, f.Data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// goCommand runs the go command in dir offline, outside any workspace, as
// a project with no dependencies must build.
func goCommand(dir string, args ...string) *exec.Cmd {
	cmd := exec.Command("go", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod", "GOPROXY=off", "GOWORK=off")
	return cmd
}

// BenchmarkPlan plans a project of 300 parameters and 30 event kinds.
func BenchmarkPlan(b *testing.B) {
	m := largeManifest()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Plan(m, packageSources, testGenerator); err != nil {
			b.Fatal(err)
		}
	}
}

// largeManifest builds a manifest of 300 parameters, split between the
// instance and the process, of every type and rule, and 30 event kinds of
// eight fields each.
func largeManifest() *manifest.Manifest {
	m := &manifest.Manifest{Name: "large", Kind: "source", Version: "1.0.0", Summary: "A large plugin."}
	for i := range 300 {
		p := manifest.Param{Name: fmt.Sprintf("param_%03d", i), Description: fmt.Sprintf("Parameter number %d.", i)}
		switch i % 6 {
		case 0:
			p.Type, p.Required, p.Regex = manifest.TypeString, true, `^[a-z]+\d*$`
			p.Secret = i%12 == 0
		case 1:
			p.Type, p.HasDefault, p.Default = manifest.TypeInt, true, "5"
			p.HasGreaterThan, p.GreaterThan, p.HasLessThan, p.LessThan = true, "0", true, "100"
		case 2:
			p.Type, p.HasDefault, p.Default = manifest.TypeFloat, true, "0.5"
			p.Exclusion = []string{"0.25"}
		case 3:
			p.Type, p.HasDefault, p.Default = manifest.TypeBool, true, "true"
		case 4:
			p.Type, p.HasDefault, p.Default = manifest.TypeDuration, true, "10s"
			p.HasGreaterThan, p.GreaterThan = true, "1s"
		case 5:
			p.Type = manifest.TypeStrings
			p.Inclusion = []string{"a", "b", "c"}
		}
		if i%3 == 0 {
			m.Global = append(m.Global, p)
		} else {
			m.Config = append(m.Config, p)
		}
	}
	for i := range 30 {
		k := manifest.EventKind{Name: fmt.Sprintf("kind_%02d", i), Description: "An event kind."}
		for _, typ := range fieldTypes {
			k.Fields = append(k.Fields, manifest.Field{Name: "f_" + typ, Type: typ})
		}
		m.Events = append(m.Events, k)
	}
	return m
}
