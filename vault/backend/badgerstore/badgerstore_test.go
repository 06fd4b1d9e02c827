package badgerstore_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"cleandrop/vault/backend"
	"cleandrop/vault/backend/backendtest"
	"cleandrop/vault/backend/badgerstore"
)

func openMeta(t *testing.T) backend.Meta {
	key := make([]byte, 32)
	m, err := badgerstore.OpenMeta(t.TempDir(), key, nil)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestMetaBadger(t *testing.T) { backendtest.RunMeta(t, openMeta) }

func openBlobs(t *testing.T) backendtest.BlobStore {
	dir := t.TempDir()
	b, err := badgerstore.OpenBlobs(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	return backendtest.BlobStore{Blobs: b, Stored: func(context.Context) ([]string, error) {
		var names []string
		for _, sub := range []string{"uploads", "blobs"} {
			entries, err := os.ReadDir(filepath.Join(dir, sub))
			if err != nil {
				return nil, err
			}
			for _, e := range entries {
				names = append(names, e.Name())
			}
		}
		return names, nil
	}}
}

func TestBlobsLocal(t *testing.T) { backendtest.RunBlobs(t, openBlobs) }

// TestBlobTimesMidnight checks that a committed blob's file is dated to
// midnight (UTC) of its day, whatever the time of the commit.
func TestBlobTimesMidnight(t *testing.T) {
	dir := t.TempDir()
	now := time.Date(2025, 3, 4, 1, 30, 0, 0, time.FixedZone("UTC+5", 5*3600)) // 3 March in UTC
	b, err := badgerstore.OpenBlobs(dir, func() time.Time { return now })
	if err != nil {
		t.Fatal(err)
	}
	u, err := b.Create(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	u.Write([]byte("sealed"))
	if _, err := u.Commit(t.Context()); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(filepath.Join(dir, "blobs", u.Name()))
	if err != nil {
		t.Fatal(err)
	}
	if want := time.Date(2025, 3, 3, 0, 0, 0, 0, time.UTC); !fi.ModTime().Equal(want) {
		t.Errorf("blob mtime %v, want %v", fi.ModTime().UTC(), want)
	}
}
