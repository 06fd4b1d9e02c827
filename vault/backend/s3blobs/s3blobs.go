package s3blobs

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"cleandrop/vault/backend"

	"github.com/minio/minio-go/v7"
)

// DefaultPartSize is the size of one part of a multipart upload, and so
// about the memory one upload holds. With S3's limit of 10,000 parts it
// allows blobs of up to 78 GiB (the drop's max_upload_mib defaults to 2
// GiB). At 16 MiB a 1 GiB upload on PostgreSQL and S3 peaked at 103.2
// MiB of RssAnon, over the 100 MiB the upload may take.
const DefaultPartSize = 8 << 20

// objectPrefix is where blobs live in the bucket.
const objectPrefix = "blobs/"

// Record states, the first byte of a name's record.
const (
	stateCommitted = 'c' // followed by the size in decimal
	stateSwept     = 's'
)

// Options configure a [Store].
type Options struct {
	// Records is the key prefix of the blob records in the metadata
	// store; it must not be a prefix of any other key the store holds.
	// Default "blobs/".
	Records []byte
	// PartSize is the part size of uploads, at least 5 MiB (S3's
	// minimum). Default [DefaultPartSize].
	PartSize uint64
	// Tick, if not zero, holds back the completion of every upload to the
	// next wall-clock multiple of Tick (the grid of the vault's write
	// schedule, write_interval): Commit sends the last part and completes
	// the multipart upload only then, so the object's Last-Modified, which
	// the object store sets at completion, is on the grid (later by the
	// time the last part takes to send, at most PartSize) and not the
	// moment the reporter's upload ended. Commit waits up to Tick.
	Tick time.Duration
}

// Store is a [backend.Blobs] in one bucket, with its records in meta.
type Store struct {
	client   *minio.Client
	bucket   string
	meta     backend.Meta
	records  []byte
	partSize uint64
	tick     time.Duration
}

// New returns a store of blobs in bucket, which must exist.
func New(client *minio.Client, bucket string, meta backend.Meta, opts Options) (*Store, error) {
	s := &Store{client: client, bucket: bucket, meta: meta, records: opts.Records, partSize: opts.PartSize, tick: opts.Tick}
	if s.records == nil {
		s.records = []byte("blobs/")
	}
	if s.partSize == 0 {
		s.partSize = DefaultPartSize
	}
	if s.tick < 0 {
		return nil, fmt.Errorf("s3 completion tick %v is negative", s.tick)
	}
	if s.partSize < 5<<20 {
		return nil, fmt.Errorf("s3 part size %d is below S3's minimum of 5 MiB", s.partSize)
	}
	return s, nil
}

func (s *Store) record(name string) []byte {
	return append(append([]byte(nil), s.records...), name...)
}

func object(name string) string { return objectPrefix + name }

// Create implements [backend.Blobs]: the upload streams into a multipart
// upload as it is written.
func (s *Store) Create(ctx context.Context) (backend.Upload, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	pr, pw := io.Pipe()
	u := &upload{s: s, name: backend.NewName(), pw: pw, done: make(chan struct{})}
	go func() {
		info, err := s.client.PutObject(ctx, s.bucket, object(u.name), pr, -1, minio.PutObjectOptions{
			PartSize:    s.partSize,
			ContentType: "application/octet-stream",
		})
		if err == nil {
			u.size = info.Size
		} else {
			err = classify("s3 upload", err)
			// minio-go aborts a failed multipart upload with ctx,
			// which fails if ctx was cancelled: abort it here.
			s.client.RemoveIncompleteUpload(context.WithoutCancel(ctx), s.bucket, object(u.name))
		}
		u.err = err
		// A writer waiting on the pipe learns that the upload
		// ended.
		if err != nil {
			pr.CloseWithError(err)
		} else {
			pr.CloseWithError(errors.New("upload already complete"))
		}
		close(u.done)
	}()
	return u, nil
}

// nextTick is the first multiple of d (since the Unix epoch) strictly
// after t.
func nextTick(t time.Time, d time.Duration) time.Time {
	p := int64(d)
	return time.Unix(0, (t.UnixNano()/p+1)*p)
}

var errAborted = errors.New("upload aborted")

type upload struct {
	s    *Store
	name string
	pw   *io.PipeWriter

	done chan struct{} // closed when PutObject returned
	size int64         // set before done is closed
	err  error         // set before done is closed

	mu       sync.Mutex
	finished bool
}

func (u *upload) Name() string { return u.name }

func (u *upload) Write(p []byte) (int, error) { return u.pw.Write(p) }

func (u *upload) Commit(ctx context.Context) (int64, error) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.finished {
		return 0, errors.New("commit of a finished upload")
	}
	u.finished = true
	if u.s.tick > 0 {
		// The last part (all of a blob smaller than a part) is still
		// in the pipe: the upload completes when it is closed.
		wait := time.NewTimer(time.Until(nextTick(time.Now(), u.s.tick)))
		select {
		case <-wait.C:
		case <-ctx.Done():
			wait.Stop()
			u.pw.CloseWithError(ctx.Err())
			<-u.done
			return 0, ctx.Err()
		case <-u.done:
			// The upload failed already; it is handled below.
			wait.Stop()
		}
	}
	u.pw.Close()
	select {
	case <-u.done:
	case <-ctx.Done():
		u.pw.CloseWithError(ctx.Err())
		<-u.done
		if u.err == nil {
			u.s.client.RemoveObject(context.WithoutCancel(ctx), u.s.bucket, object(u.name), minio.RemoveObjectOptions{})
		}
		return 0, ctx.Err()
	}
	if u.err != nil {
		if u.s.swept(ctx, u.name) {
			return 0, backend.ErrSwept
		}
		return 0, u.err
	}
	rec := strconv.AppendInt([]byte{stateCommitted}, u.size, 10)
	err := u.s.meta.Update(ctx, func(tx backend.Tx) error {
		ok, err := tx.PutIfAbsent(u.s.record(u.name), rec)
		if err != nil {
			return err
		}
		if !ok {
			return backend.ErrSwept
		}
		return nil
	})
	if errors.Is(err, backend.ErrSwept) {
		// The sweep claimed the object first; it removes it too, but
		// it may have listed it before the upload completed.
		u.s.client.RemoveObject(context.WithoutCancel(ctx), u.s.bucket, object(u.name), minio.RemoveObjectOptions{})
		return 0, backend.ErrSwept
	}
	if err != nil {
		// The record may or may not have landed: leave the object; if
		// it has no record, a sweep removes it.
		return 0, fmt.Errorf("s3 commit record: %w", err)
	}
	return u.size, nil
}

// swept reports whether the sweep claimed name.
func (s *Store) swept(ctx context.Context, name string) bool {
	var st byte
	s.meta.View(context.WithoutCancel(ctx), func(tx backend.Tx) error {
		v, err := tx.Get(s.record(name))
		if err == nil && len(v) > 0 {
			st = v[0]
		}
		return err
	})
	return st == stateSwept
}

func (u *upload) Abort(ctx context.Context) error {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.finished {
		return nil
	}
	u.finished = true
	u.pw.CloseWithError(errAborted)
	<-u.done
	if u.err == nil {
		// Completed before it saw the abort: remove the object.
		if err := u.s.client.RemoveObject(ctx, u.s.bucket, object(u.name), minio.RemoveObjectOptions{}); err != nil {
			return fmt.Errorf("s3 abort: %w", err)
		}
	}
	return nil
}

// committedSize returns the size recorded for a committed blob.
func committedSize(v []byte) (int64, bool) {
	if len(v) < 2 || v[0] != stateCommitted {
		return 0, false
	}
	n, err := strconv.ParseInt(string(v[1:]), 10, 64)
	return n, err == nil && n >= 0
}

// committed returns the size of committed blob name, or
// [backend.ErrNotFound] for a name that is not one.
func (s *Store) committed(ctx context.Context, name string) (int64, error) {
	if !backend.ValidName(name) {
		return 0, backend.ErrNotFound
	}
	var size int64
	err := s.meta.View(ctx, func(tx backend.Tx) error {
		v, err := tx.Get(s.record(name))
		if err != nil {
			return err
		}
		var ok bool
		if size, ok = committedSize(v); !ok {
			return backend.ErrNotFound
		}
		return nil
	})
	return size, err
}

// Open implements [backend.Blobs].
func (s *Store) Open(ctx context.Context, name string) (backend.Blob, error) {
	size, err := s.committed(ctx, name)
	if err != nil {
		return nil, err
	}
	obj, err := s.client.GetObject(ctx, s.bucket, object(name), minio.GetObjectOptions{})
	if err != nil {
		return nil, fmt.Errorf("s3 open: %w", err)
	}
	return &blob{Object: obj, size: size}, nil
}

type blob struct {
	*minio.Object
	size int64
}

func (b *blob) Size() int64 { return b.size }

// Delete implements [backend.Blobs]: the record goes first, so the blob
// is gone for the vault even if removing the object fails (a sweep then
// removes it).
func (s *Store) Delete(ctx context.Context, name string) error {
	if !backend.ValidName(name) {
		return nil
	}
	found := false
	err := s.meta.Update(ctx, func(tx backend.Tx) error {
		v, err := tx.Get(s.record(name))
		if errors.Is(err, backend.ErrNotFound) {
			found = false
			return nil
		}
		if err != nil {
			return err
		}
		if _, found = committedSize(v); !found {
			return nil
		}
		return tx.Delete(s.record(name))
	})
	if err != nil || !found {
		return err
	}
	if err := s.client.RemoveObject(ctx, s.bucket, object(name), minio.RemoveObjectOptions{}); err != nil {
		return fmt.Errorf("s3 delete: %w", err)
	}
	return nil
}

// Copy implements [backend.Copier] with a server-side copy (in parts for
// a large object), committed by its own record like an upload.
func (s *Store) Copy(ctx context.Context, name string) (string, int64, error) {
	size, err := s.committed(ctx, name)
	if err != nil {
		return "", 0, err
	}
	to := backend.NewName()
	info, err := s.client.ComposeObject(ctx,
		minio.CopyDestOptions{Bucket: s.bucket, Object: object(to), ReplaceMetadata: true, ContentType: "application/octet-stream"},
		minio.CopySrcOptions{Bucket: s.bucket, Object: object(name)})
	if err != nil {
		return "", 0, classify("s3 copy", err)
	}
	if info.Size != size {
		s.client.RemoveObject(context.WithoutCancel(ctx), s.bucket, object(to), minio.RemoveObjectOptions{})
		return "", 0, fmt.Errorf("s3 copy: %d bytes, not %d", info.Size, size)
	}
	rec := strconv.AppendInt([]byte{stateCommitted}, size, 10)
	if err := s.meta.Update(ctx, func(tx backend.Tx) error {
		ok, err := tx.PutIfAbsent(s.record(to), rec)
		if err == nil && !ok {
			err = backend.ErrSwept
		}
		return err
	}); err != nil {
		s.client.RemoveObject(context.WithoutCancel(ctx), s.bucket, object(to), minio.RemoveObjectOptions{})
		return "", 0, fmt.Errorf("s3 copy record: %w", err)
	}
	return to, size, nil
}

// List implements [backend.Blobs] from the records; fn runs inside a
// read transaction of the metadata store.
func (s *Store) List(ctx context.Context, fn func(name string, size int64) error) error {
	return s.meta.View(ctx, func(tx backend.Tx) error {
		return tx.Scan(s.records, func(k, v []byte) error {
			size, ok := committedSize(v)
			if !ok {
				return nil
			}
			return fn(string(k[len(s.records):]), size)
		})
	})
}

// claim marks name swept unless it is committed, and reports whether the
// sweep may remove it (it was not committed).
func (s *Store) claim(ctx context.Context, name string) (bool, error) {
	mine := false
	err := s.meta.Update(ctx, func(tx backend.Tx) error {
		ok, err := tx.PutIfAbsent(s.record(name), []byte{stateSwept})
		if err != nil || ok {
			mine = ok
			return err
		}
		v, err := tx.Get(s.record(name))
		if err != nil {
			return err
		}
		mine = len(v) > 0 && v[0] == stateSwept
		return nil
	})
	return mine, err
}

// Sweep implements [backend.Blobs]. Times are the object store's
// (Initiated, Last-Modified) against this machine's clock: give ages far
// above the clocks' difference.
func (s *Store) Sweep(ctx context.Context, olderThan time.Duration) (int, error) {
	cutoff := time.Now().Add(-olderThan)
	old := func(t time.Time) bool { return olderThan <= 0 || t.Before(cutoff) }
	n := 0
	for u := range s.client.ListIncompleteUploads(ctx, s.bucket, objectPrefix, true) {
		if u.Err != nil {
			return n, fmt.Errorf("s3 sweep: list uploads: %w", u.Err)
		}
		name, ok := strings.CutPrefix(u.Key, objectPrefix)
		if !ok || !backend.ValidName(name) || !old(u.Initiated) {
			continue
		}
		if _, err := s.claim(ctx, name); err != nil {
			return n, fmt.Errorf("s3 sweep: %w", err)
		}
		core := minio.Core{Client: s.client}
		if err := core.AbortMultipartUpload(ctx, s.bucket, u.Key, u.UploadID); err != nil && !isNoSuchUpload(err) {
			return n, fmt.Errorf("s3 sweep: abort upload: %w", err)
		}
		n++
	}
	for o := range s.client.ListObjects(ctx, s.bucket, minio.ListObjectsOptions{Prefix: objectPrefix, Recursive: true}) {
		if o.Err != nil {
			return n, fmt.Errorf("s3 sweep: list objects: %w", o.Err)
		}
		name, ok := strings.CutPrefix(o.Key, objectPrefix)
		if !ok || !backend.ValidName(name) || !old(o.LastModified) {
			continue
		}
		mine, err := s.claim(ctx, name)
		if err != nil {
			return n, fmt.Errorf("s3 sweep: %w", err)
		}
		if !mine {
			continue // committed
		}
		if err := s.client.RemoveObject(ctx, s.bucket, o.Key, minio.RemoveObjectOptions{}); err != nil {
			return n, fmt.Errorf("s3 sweep: remove: %w", err)
		}
		n++
	}
	return n, nil
}

// classify wraps an error of the object store for op, in
// [backend.ErrNoSpace] when the store says it is full: 507 Insufficient
// Storage (MinIO's XMinioStorageFull), or a quota (QuotaExceeded, as
// Ceph's gateway names it). Other stores (SeaweedFS) answer a full disk
// with a plain 500, which stays a storage failure.
func classify(op string, err error) error {
	var r minio.ErrorResponse
	if errors.As(err, &r) && (r.StatusCode == http.StatusInsufficientStorage || r.Code == "XMinioStorageFull" || r.Code == "QuotaExceeded") {
		return fmt.Errorf("%s: %w: %w", op, backend.ErrNoSpace, err)
	}
	return fmt.Errorf("%s: %w", op, err)
}

func isNoSuchUpload(err error) bool {
	return minio.ToErrorResponse(err).Code == "NoSuchUpload"
}
