package vault

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/dgraph-io/badger/v4"
)

// TestDBErrHidesKeys: whatever Badger's message says about a key, the
// vault's error names only the operation, and keeps the sentinel.
func TestDBErrHidesKeys(t *testing.T) {
	key := "CD-7K3M-Q9XW"
	for _, tc := range []struct {
		name string
		err  error
		is   error
	}{
		{"today's Get", fmt.Errorf("DB::Get key: %q err: %w", "c/"+key, badger.ErrDBClosed), badger.ErrDBClosed},
		{"a reworded Get", fmt.Errorf("get(c/%s): %w", key, badger.ErrConflict), badger.ErrConflict},
		{"key bytes in a dump", fmt.Errorf("Key with size 70000 exceeded 65000 limit. Key:\n%x %s", key, key), nil},
		{"not found", fmt.Errorf("key %s: %w", key, badger.ErrKeyNotFound), ErrNotFound},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := dbErr("read case", tc.err)
			if strings.Contains(err.Error(), key) || strings.Contains(err.Error(), fmt.Sprintf("%x", key)) {
				t.Errorf("error %q holds the key", err)
			}
			if tc.is != nil && !errors.Is(err, tc.is) {
				t.Errorf("error %q is not %v", err, tc.is)
			}
		})
	}
}
