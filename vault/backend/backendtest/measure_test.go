package backendtest

import (
	"bytes"
	"context"
	"io"
	"testing"
	"time"

	"cleandrop/vault/backend"
)

// bufferingBlobs keeps a blob in memory until Commit: the memory test
// must catch it.
type bufferingBlobs struct {
	blobs map[string][]byte
}

type bufferingUpload struct {
	b    *bufferingBlobs
	name string
	bytes.Buffer
}

func (u *bufferingUpload) Name() string { return u.name }
func (u *bufferingUpload) Commit(context.Context) (int64, error) {
	u.b.blobs[u.name] = u.Bytes()
	return int64(u.Len()), nil
}
func (u *bufferingUpload) Abort(context.Context) error { return nil }

type bufferingBlob struct {
	*bytes.Reader
}

func (bufferingBlob) Close() error { return nil }

func (b *bufferingBlobs) Create(context.Context) (backend.Upload, error) {
	return &bufferingUpload{b: b, name: backend.NewName()}, nil
}

func (b *bufferingBlobs) Open(_ context.Context, name string) (backend.Blob, error) {
	return bufferingBlob{bytes.NewReader(b.blobs[name])}, nil
}

func (b *bufferingBlobs) Delete(_ context.Context, name string) error {
	delete(b.blobs, name)
	return nil
}

func (b *bufferingBlobs) List(context.Context, func(string, int64) error) error { return nil }
func (b *bufferingBlobs) Sweep(context.Context, time.Duration) (int, error)     { return 0, nil }

var _ io.ReaderAt = bufferingBlob{}

// TestMemoryCheckCatchesBuffering shows that the suite's memory test
// fails a store that buffers a whole blob.
func TestMemoryCheckCatchesBuffering(t *testing.T) {
	growW, _ := measureLarge(t, &bufferingBlobs{blobs: map[string][]byte{}})
	t.Logf("a buffering store grew the heap by %d MiB", growW>>20)
	if growW <= MaxHeapGrowth {
		t.Errorf("heap growth %d MiB with a buffering store is within the bound %d MiB", growW>>20, MaxHeapGrowth>>20)
	}
}
