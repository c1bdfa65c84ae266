package acceptance

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func writeModule(t *testing.T, main string) string {
	dir := filepath.Join(t.TempDir(), "demo")
	os.MkdirAll(dir, 0o755)
	os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module example.com/demo\n\ngo 1.26\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "main.go"), []byte(main), 0o644)
	return dir
}

func TestBuild(t *testing.T) {
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("no go command")
	}
	dir := writeModule(t, "package main\n\nfunc main() { println(\"built\") }\n")
	bin, cleanup, err := Build(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(bin).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "built") {
		t.Errorf("running the binary: %v %s", err, out)
	}
	cleanup()
	if _, err := os.Stat(bin); !os.IsNotExist(err) {
		t.Errorf("cleanup left %s", bin)
	}

	dir = writeModule(t, "package main\n\nfunc main() { undefinedThing() }\n")
	if _, _, err := Build(context.Background(), dir); err == nil || !strings.Contains(err.Error(), "undefined: undefinedThing") {
		t.Errorf("broken build: %v", err)
	}
}
