package generate

import (
	"fmt"
	"io/fs"
	"path"
	"strings"
)

// CopiedPackages are the directories of plugctl's packages that every
// project gets a copy of, in internal/ under the same path, so that it
// builds with the standard library alone: the SDK, its checks for the
// generated tests, and the wire protocol.
var CopiedPackages = []string{"sdk", "sdk/sdktest", "wire"}

// packageFiles copies the sources of CopiedPackages, held in directories
// of those paths in src, into the project's internal/. Each copy is the
// original with the header line and a blank line in front, and the imports
// of the copied packages turned into imports of the project's copies;
// nothing else changes: a test compares them byte for byte.
func packageFiles(src fs.FS, p *project) ([]File, error) {
	imports := strings.NewReplacer(
		`"github.com/plugctl/plugctl/sdk"`, `"`+p.sdk+`"`,
		`"github.com/plugctl/plugctl/wire"`, `"`+p.wire+`"`,
	)
	var files []File
	for _, dir := range CopiedPackages {
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
			data := Header + "\n\n" + imports.Replace(string(orig))
			files = append(files, File{Path: path.Join("internal", name), Data: []byte(data), Owner: Plugctl})
		}
		if len(files) == copied {
			return nil, fmt.Errorf("%s sources: no .go file found", dir)
		}
	}
	return files, nil
}
