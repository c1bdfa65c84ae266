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
	cmd := exec.CommandContext(ctx, "go", "build", "-o", binary, ".")
	cmd.Dir = abs
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		cleanup()
		return "", nil, fmt.Errorf("go build in %s: %w\n%s", abs, err, strings.TrimSpace(out.String()))
	}
	return binary, cleanup, nil
}
