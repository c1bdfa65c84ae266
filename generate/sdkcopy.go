package generate

import (
	"fmt"
	"io/fs"
	"path"
	"strings"
)

// sdkFiles copies the SDK's sources into internal/sdk, so that the project
// builds with the standard library alone. Each copy is the original with
// the header line and a blank line in front, and nothing else changed: a
// test compares them byte for byte.
func sdkFiles(sdkFS fs.FS) ([]File, error) {
	names, err := fs.Glob(sdkFS, "*.go")
	if err != nil {
		return nil, fmt.Errorf("sdk sources: %w", err)
	}
	var files []File
	for _, name := range names {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		src, err := fs.ReadFile(sdkFS, name)
		if err != nil {
			return nil, fmt.Errorf("sdk sources: %w", err)
		}
		data := make([]byte, 0, len(Header)+2+len(src))
		data = append(append(data, Header+"\n\n"...), src...)
		files = append(files, File{Path: path.Join("internal/sdk", name), Data: data, Owner: Plugctl})
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("sdk sources: no .go file found")
	}
	return files, nil
}
