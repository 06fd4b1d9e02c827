package vault_test

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// measured logs a test's measurement and appends it to
// $CLEANDROP_ARTIFACTS/measurements.txt, which make test prints at the end:
// go test shows a passing test's log only with -v.
func measured(t *testing.T, format string, args ...any) {
	t.Helper()
	line := fmt.Sprintf(format, args...)
	t.Log(line)
	art := os.Getenv("CLEANDROP_ARTIFACTS")
	if art == "" {
		return
	}
	os.MkdirAll(art, 0o755)
	f, err := os.OpenFile(filepath.Join(art, "measurements.txt"), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return
	}
	defer f.Close()
	fmt.Fprintf(f, "%s: %s\n", t.Name(), line)
}
