package browsertest

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// ArtifactDir returns the directory where a test keeps files worth
// looking at afterwards, such as screenshots: $CLEANDROP_ARTIFACTS/<test
// name> (created) when that variable is set, else t.TempDir().
func ArtifactDir(t testing.TB) string {
	t.Helper()
	root := os.Getenv("CLEANDROP_ARTIFACTS")
	if root == "" {
		return t.TempDir()
	}
	name := strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '_', r == '.':
			return r
		}
		return '_'
	}, t.Name())
	dir := filepath.Join(root, name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatalf("artifact dir: %v", err)
	}
	return dir
}
