package acceptance

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// Build compiles the Go plugin project in dir into a fresh temporary
// directory and returns the binary's path and a cleanup that removes it.
// A failed build returns an error holding the compiler's output.
func Build(ctx context.Context, dir string) (binary string, cleanup func(), err error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", nil, err
	}
	tmp, err := os.MkdirTemp("", "plugctl-test-")
	if err != nil {
		return "", nil, err
	}
	cleanup = func() { os.RemoveAll(tmp) }
	binary = filepath.Join(tmp, filepath.Base(abs))
	if err := BuildTo(ctx, abs, binary); err != nil {
		cleanup()
		return "", nil, err
	}
	return binary, cleanup, nil
}

// BuildTo compiles the Go plugin project in dir into the executable out.
// A failed build returns an error holding the compiler's output.
func BuildTo(ctx context.Context, dir, out string) error {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return err
	}
	cmd := exec.CommandContext(ctx, "go", "build", "-o", out, ".")
	cmd.Dir = abs
	var buf bytes.Buffer
	cmd.Stdout, cmd.Stderr = &buf, &buf
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("go build in %s: %w\n%s", abs, err, strings.TrimSpace(buf.String()))
	}
	return nil
}
