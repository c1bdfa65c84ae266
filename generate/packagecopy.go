package generate

import (
	"bytes"
	"fmt"
	"io/fs"
	"path"
	"strings"
)

// wireImport is the wire package's import path, quoted as the sdk
// package's import declaration has it.
const wireImport = `"github.com/plugctl/plugctl/wire"`

// packageFiles copies the sources of the sdk and wire packages, held in the
// directories of those names in src, into internal/sdk and internal/wire,
// so that the project builds with the standard library alone. Each copy is
// the original with the header line and a blank line in front, and in the
// sdk's, the import of the wire package turned into one of the project's
// copy; nothing else changes: a test compares them byte for byte.
func packageFiles(src fs.FS, p *project) ([]File, error) {
	projectWire := []byte(`"` + p.wire + `"`)
	var files []File
	for _, dir := range []string{"sdk", "wire"} {
		names, err := fs.Glob(src, dir+"/*.go")
		if err != nil {
			return nil, fmt.Errorf("%s sources: %w", dir, err)
		}
		copied := len(files)
		for _, name := range names {
			if strings.HasSuffix(name, "_test.go") {
				continue
			}
			orig, err := fs.ReadFile(src, name)
			if err != nil {
				return nil, fmt.Errorf("%s sources: %w", dir, err)
			}
			if dir == "sdk" {
				orig = bytes.ReplaceAll(orig, []byte(wireImport), projectWire)
			}
			data := make([]byte, 0, len(Header)+2+len(orig))
			data = append(append(data, Header+"\n\n"...), orig...)
			files = append(files, File{Path: path.Join("internal", name), Data: data, Owner: Plugctl})
		}
		if len(files) == copied {
			return nil, fmt.Errorf("%s sources: no .go file found", dir)
		}
	}
	return files, nil
}
