package browsertest

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestArtifactDir(t *testing.T) {
	t.Run("env set/a b", func(t *testing.T) {
		root := t.TempDir()
		t.Setenv("CLEANDROP_ARTIFACTS", root)
		dir := ArtifactDir(t)
		if want := filepath.Join(root, "TestArtifactDir_env_set_a_b"); dir != want {
			t.Errorf("ArtifactDir = %q, want %q", dir, want)
		}
		if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
			t.Errorf("ArtifactDir did not create %s: %v", dir, err)
		}
	})
	t.Run("env unset", func(t *testing.T) {
		t.Setenv("CLEANDROP_ARTIFACTS", "")
		dir := ArtifactDir(t)
		if !strings.HasPrefix(dir, os.TempDir()) {
			t.Errorf("ArtifactDir = %q, want a t.TempDir under %s", dir, os.TempDir())
		}
		if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
			t.Errorf("ArtifactDir = %q: %v", dir, err)
		}
	})
}
