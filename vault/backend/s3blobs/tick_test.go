package s3blobs_test

import (
	"sync"
	"testing"
	"time"

	"cleandrop/vault/backend/badgerstore"
	"cleandrop/vault/backend/s3blobs"
	"cleandrop/vault/backend/servers"

	"github.com/minio/minio-go/v7"
)

// TestS3LastModifiedOnTick: with Options.Tick, uploads written half-way
// between two ticks complete on the next tick, so every object's
// Last-Modified (whole seconds, set by SeaweedFS at completion) is on
// the tick's grid, later by at most the seconds the last part takes to
// send, and not at the moment the upload ended. A blob committed at the
// same moment through a store without Tick is the control: its
// Last-Modified is off the grid, so the check does tell them apart.
func TestS3LastModifiedOnTick(t *testing.T) {
	const tick = 10 * time.Second
	const slack = 2 * time.Second // sending the last part, and the clock's second
	w := servers.StartSeaweedFS(t)
	meta, err := badgerstore.OpenMeta(t.TempDir(), make([]byte, 32), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer meta.Close()
	c, bucket := w.Client(t), w.NewBucket(t)
	onTick, err := s3blobs.New(c, bucket, meta, s3blobs.Options{Tick: tick})
	if err != nil {
		t.Fatal(err)
	}
	plain, err := s3blobs.New(c, bucket, meta, s3blobs.Options{Records: []byte("plain/")})
	if err != nil {
		t.Fatal(err)
	}
	// Off the grid: half-way to the next tick.
	now := time.Now()
	time.Sleep(time.Until(now.Truncate(tick).Add(tick + tick/2)))

	sizes := []int{1000, 1 << 20, 20 << 20, 40 << 20}
	names := make([]string, len(sizes))
	ended := make([]time.Time, len(sizes))
	var wg sync.WaitGroup
	for i, size := range sizes {
		wg.Go(func() {
			u, err := onTick.Create(t.Context())
			if err != nil {
				t.Error(err)
				return
			}
			u.Write(make([]byte, size))
			ended[i] = time.Now()
			if _, err := u.Commit(t.Context()); err != nil {
				t.Error(err)
			}
			names[i] = u.Name()
		})
	}
	control, _, err := put(t.Context(), t, plain, 1000, 1)
	if err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	if t.Failed() {
		return
	}

	offGrid := func(lm time.Time) time.Duration { return lm.Sub(lm.Truncate(tick)) }
	lastModified := map[string]time.Time{}
	for o := range c.ListObjects(t.Context(), bucket, minio.ListObjectsOptions{Recursive: true}) {
		if o.Err != nil {
			t.Fatal(o.Err)
		}
		lastModified[o.Key] = o.LastModified
	}
	for i, name := range names {
		info, err := c.StatObject(t.Context(), bucket, "blobs/"+name, minio.StatObjectOptions{})
		if err != nil {
			t.Fatal(err)
		}
		lm := info.LastModified
		t.Logf("%d bytes: written by %s, Last-Modified %s (listed %s), %v after a tick",
			sizes[i], ended[i].UTC().Format("15:04:05.000"), lm.UTC().Format("15:04:05"),
			lastModified["blobs/"+name].UTC().Format("15:04:05"), offGrid(lm))
		if off := offGrid(lm); off > slack || !lm.Equal(lastModified["blobs/"+name]) {
			t.Errorf("blob of %d bytes: Last-Modified %s is %v past the %v grid (listing says %s)",
				sizes[i], lm.UTC().Format(time.RFC3339), off, tick, lastModified["blobs/"+name].UTC().Format(time.RFC3339))
		}
		if !lm.After(ended[i]) {
			t.Errorf("blob of %d bytes: Last-Modified %s is not after its upload ended at %s", sizes[i], lm, ended[i])
		}
	}
	info, err := c.StatObject(t.Context(), bucket, "blobs/"+control, minio.StatObjectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("control without Tick: Last-Modified %s, %v after a tick", info.LastModified.UTC().Format("15:04:05"), offGrid(info.LastModified))
	if offGrid(info.LastModified) <= slack {
		t.Errorf("the control's Last-Modified %s is on the grid too: the check cannot tell", info.LastModified)
	}
}
