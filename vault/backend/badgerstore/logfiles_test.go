package badgerstore

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// TestDropEmptyLogFiles: only empty .mem and .vlog files go, and none
// while another holds the directory's lock (a running Badger).
func TestDropEmptyLogFiles(t *testing.T) {
	dir := t.TempDir()
	for name, size := range map[string]int{"00001.mem": 0, "00002.mem": 4096, "000001.vlog": 20, "000002.vlog": 0, "MANIFEST": 0, "000003.sst": 0, "KEYREGISTRY": 0} {
		if err := os.WriteFile(filepath.Join(dir, name), make([]byte, size), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	unlock, ok, err := lockDir(dir)
	if err != nil || !ok {
		t.Fatalf("lock: %v %v", ok, err)
	}
	if got, err := DropEmptyLogFiles(dir); err != nil || len(got) != 0 {
		t.Fatalf("while locked: dropped %q, %v", got, err)
	}
	unlock()
	got, err := DropEmptyLogFiles(dir)
	if err != nil || !slices.Equal(got, []string{"000002.vlog", "00001.mem"}) {
		t.Fatalf("dropped %q, %v; want the empty memtable and value log files alone", got, err)
	}
	for _, name := range []string{"00002.mem", "000001.vlog", "MANIFEST", "000003.sst", "KEYREGISTRY"} {
		if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	if got, err := DropEmptyLogFiles(filepath.Join(dir, "missing")); err != nil || got != nil {
		t.Fatalf("a missing directory: %q, %v", got, err)
	}
}
