package s3blobs_test

import (
	"context"
	"testing"

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
	backendtest.RunBlobs(t, func(t *testing.T) backendtest.BlobStore {
		meta, err := pgstore.Open(t.Context(), pg.NewDatabase(t))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { meta.Close() })
		c, bucket := w.Client(t), w.NewBucket(t)
		s, err := s3blobs.New(c, bucket, meta, s3blobs.Options{})
		if err != nil {
			t.Fatal(err)
		}
		return backendtest.BlobStore{Blobs: s, Stored: stored(c, bucket)}
	})
}

// TestBlobsS3Badger runs it with the records in Badger, as a single
// front-end with an object store would.
func TestBlobsS3Badger(t *testing.T) {
	w := servers.StartSeaweedFS(t)
	backendtest.RunBlobs(t, func(t *testing.T) backendtest.BlobStore {
		meta, err := badgerstore.OpenMeta(t.TempDir(), make([]byte, 32), nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { meta.Close() })
		c, bucket := w.Client(t), w.NewBucket(t)
		s, err := s3blobs.New(c, bucket, meta, s3blobs.Options{})
		if err != nil {
			t.Fatal(err)
		}
		return backendtest.BlobStore{Blobs: s, Stored: stored(c, bucket)}
	})
}
