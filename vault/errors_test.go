package vault

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"syscall"
	"testing"

	"cleandrop/vault/backend"

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

// The storage errors of a batch are ErrStorage, with ErrNoSpace where the
// storage said it was full; the vault's own refusals (the floor, a closed
// or closing vault) are not storage failures.
func TestStorageErrors(t *testing.T) {
	for _, c := range []struct {
		name             string
		err              error
		storage, noSpace bool
	}{
		{"ENOSPC", fmt.Errorf("write: %w", syscall.ENOSPC), true, true},
		{"a full store", fmt.Errorf("s3 upload: %w", backend.ErrNoSpace), true, true},
		{"EIO", fmt.Errorf("write: %w", syscall.EIO), true, false},
		{"a failing store", errors.New("s3 upload: 500"), true, false},
		{"a store that timed out", fmt.Errorf("s3 commit: %w", context.DeadlineExceeded), true, false},
		{"the floor", ErrLowSpace, false, false},
		{"a closing vault", context.Canceled, false, false},
		{"a closed vault", errClosed, false, false},
	} {
		err := spaceErr(c.err)
		if errors.Is(err, ErrStorage) != c.storage || errors.Is(err, ErrNoSpace) != c.noSpace {
			t.Errorf("%s: spaceErr gives %v: storage %v, no space %v", c.name, err, errors.Is(err, ErrStorage), errors.Is(err, ErrNoSpace))
		}
		if c.storage {
			err := dbErr("write object", c.err)
			if !errors.Is(err, ErrStorage) || errors.Is(err, ErrNoSpace) != c.noSpace {
				t.Errorf("%s: dbErr gives %v: storage %v, no space %v", c.name, err, errors.Is(err, ErrStorage), errors.Is(err, ErrNoSpace))
			}
		}
	}
}
