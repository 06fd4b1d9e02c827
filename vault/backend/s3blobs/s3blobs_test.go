package s3blobs_test

import (
	"context"
	"testing"
	"time"

	"cleandrop/vault/backend"
	"cleandrop/vault/backend/backendtest"
	"cleandrop/vault/backend/badgerstore"
	"cleandrop/vault/backend/pgstore"
	"cleandrop/vault/backend/s3blobs"
	"cleandrop/vault/backend/servers"

	"github.com/minio/minio-go/v7"
)

// stored lists every object and unfinished multipart upload in bucket.
func stored(c *minio.Client, bucket string) func(context.Context) ([]string, error) {
	return func(ctx context.Context) ([]string, error) {
		var names []string
		for o := range c.ListObjects(ctx, bucket, minio.ListObjectsOptions{Recursive: true}) {
			if o.Err != nil {
				return nil, o.Err
			}
			names = append(names, o.Key[len("blobs/"):])
		}
		for u := range c.ListIncompleteUploads(ctx, bucket, "", true) {
			if u.Err != nil {
				return nil, u.Err
			}
			names = append(names, u.Key[len("blobs/"):])
		}
		return names, nil
	}
}

// TestBlobsS3Postgres runs the conformance suite on SeaweedFS's S3
// gateway with the blob records in PostgreSQL: the distributed pair.
func TestBlobsS3Postgres(t *testing.T) {
	w := servers.StartSeaweedFS(t)
	pg := servers.StartPostgres(t)
	runBlobs(t, w, func(t *testing.T) (backend.Meta, error) { return pgstore.Open(t.Context(), pg.NewDatabase(t)) }, s3blobs.Options{})
}

// TestBlobsS3Badger runs it with the records in Badger, as a single
// front-end with an object store would.
func TestBlobsS3Badger(t *testing.T) {
	w := servers.StartSeaweedFS(t)
	runBlobs(t, w, func(t *testing.T) (backend.Meta, error) {
		return badgerstore.OpenMeta(t.TempDir(), make([]byte, 32), nil)
	}, s3blobs.Options{})
}

// TestBlobsS3TickBadger runs it with Options.Tick (50 ms), where every
// Commit waits for the next tick before it completes the upload.
func TestBlobsS3TickBadger(t *testing.T) {
	w := servers.StartSeaweedFS(t)
	runBlobs(t, w, func(t *testing.T) (backend.Meta, error) {
		return badgerstore.OpenMeta(t.TempDir(), make([]byte, 32), nil)
	}, s3blobs.Options{Tick: 50 * time.Millisecond})
}

// TestS3ObjectsRevealOnlySize checks what the object store keeps of a
// blob: a random name under blobs/, the bytes, the size, and no user
// metadata or tags; it logs the headers the store answers with.
func TestS3ObjectsRevealOnlySize(t *testing.T) {
	w := servers.StartSeaweedFS(t)
	meta, err := badgerstore.OpenMeta(t.TempDir(), make([]byte, 32), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer meta.Close()
	c, bucket := w.Client(t), w.NewBucket(t)
	s, err := s3blobs.New(c, bucket, meta, s3blobs.Options{})
	if err != nil {
		t.Fatal(err)
	}
	u, err := s.Create(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	u.Write(make([]byte, 1000))
	if _, err := u.Commit(t.Context()); err != nil {
		t.Fatal(err)
	}
	var keys []string
	for o := range c.ListObjects(t.Context(), bucket, minio.ListObjectsOptions{Recursive: true}) {
		keys = append(keys, o.Key)
	}
	if len(keys) != 1 || keys[0] != "blobs/"+u.Name() {
		t.Fatalf("bucket holds %q, want only blobs/%s", keys, u.Name())
	}
	info, err := c.StatObject(t.Context(), bucket, keys[0], minio.StatObjectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if info.Size != 1000 {
		t.Errorf("size %d", info.Size)
	}
	if len(info.UserMetadata) != 0 || len(info.UserTags) != 0 {
		t.Errorf("object has user metadata %v, tags %v", info.UserMetadata, info.UserTags)
	}
	t.Logf("object headers: %v", info.Metadata)
}

// runBlobs runs the conformance suite on s3blobs over w, each test with a
// new bucket and the commit records in the store open makes.
func runBlobs(t *testing.T, w *servers.SeaweedFS, open func(t *testing.T) (backend.Meta, error), opts s3blobs.Options) {
	backendtest.RunBlobs(t, func(t *testing.T) backendtest.BlobStore {
		meta, err := open(t)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { meta.Close() })
		c, bucket := w.Client(t), w.NewBucket(t)
		s, err := s3blobs.New(c, bucket, meta, opts)
		if err != nil {
			t.Fatal(err)
		}
		return backendtest.BlobStore{Blobs: s, Stored: stored(c, bucket)}
	})
}
