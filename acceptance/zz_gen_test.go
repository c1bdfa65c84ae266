package acceptance

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/plugctl/plugctl/manifest"
)

func TestZZGenerated(t *testing.T) {
	dir := os.Getenv("GEN_DIR")
	if dir == "" {
		t.Skip()
	}
	bin, cleanup, err := Build(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	defer cleanup()
	m, err := manifest.Load(dir + "/plugin.toml")
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	rs, err := Run(context.Background(), Options{Command: []string{bin}, Manifest: m})
	if err != nil {
		t.Fatal(err)
	}
	WriteText(os.Stdout, rs, false)
	t.Logf("suite %s", time.Since(start))
}
