package s3blobs_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"cleandrop/vault/backend"
	"cleandrop/vault/backend/pgstore"
	"cleandrop/vault/backend/s3blobs"
	"cleandrop/vault/backend/servers"
)

// put uploads size pseudo-random bytes (from seed) as a blob and returns
// its name and digest.
func put(ctx context.Context, t *testing.T, s backend.Blobs, size int, seed uint64) (string, [32]byte, error) {
	t.Helper()
	u, err := s.Create(ctx)
	if err != nil {
		return "", [32]byte{}, err
	}
	h := sha256.New()
	r := io.TeeReader(io.LimitReader(rand.NewChaCha8(seedBytes(seed)), int64(size)), h)
	if _, err := io.Copy(u, r); err != nil {
		u.Abort(context.WithoutCancel(ctx))
		return "", [32]byte{}, err
	}
	n, err := u.Commit(ctx)
	if err != nil {
		return "", [32]byte{}, err
	}
	if n != int64(size) {
		t.Fatalf("commit of %d bytes says %d", size, n)
	}
	return u.Name(), [32]byte(h.Sum(nil)), nil
}

func seedBytes(seed uint64) [32]byte {
	var b [32]byte
	for i := range 8 {
		b[i] = byte(seed >> (8 * i))
	}
	return b
}

// digest reads a blob whole and returns its digest.
func digest(t *testing.T, s backend.Blobs, name string) ([32]byte, int64, error) {
	t.Helper()
	b, err := s.Open(t.Context(), name)
	if err != nil {
		return [32]byte{}, 0, err
	}
	defer b.Close()
	h := sha256.New()
	n, err := io.Copy(h, b)
	return [32]byte(h.Sum(nil)), n, err
}

// datFiles returns the total size of the volume files (*.dat) under dir.
func datFiles(t *testing.T, dir string) (n int, size int64) {
	t.Helper()
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(p, ".dat") {
			if fi, err := d.Info(); err == nil {
				n++
				size += fi.Size()
			}
		}
		return nil
	})
	return n, size
}

// killOneVolume starts SeaweedFS with volumes volume servers and
// replication 001 (a second copy on another server of the rack), commits
// blobs through s3blobs with their records in PostgreSQL, some of them
// multipart (40 MiB in 16 MiB parts), checks that every byte is stored
// twice, kills one volume server (SIGKILL), and checks that every
// committed blob still opens and reads back byte for byte, whole and by
// range. It returns the store and how many blobs it committed.
func killOneVolume(t *testing.T, volumes int) (*s3blobs.Store, int) {
	begin := time.Now()
	c := servers.StartSeaweedCluster(t, "001", volumes)
	pg := servers.StartPostgres(t)
	meta, err := pgstore.Open(t.Context(), pg.NewDatabase(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { meta.Close() })
	bucket := c.NewBucket(t)
	c.WaitWritable(t, bucket)
	t.Logf("cluster writable after %v", time.Since(begin).Round(time.Millisecond))
	s, err := s3blobs.New(c.Client(t), bucket, meta, s3blobs.Options{})
	if err != nil {
		t.Fatal(err)
	}

	sizes := []int{1, 1000, 100 << 10, 3 << 20, 17 << 20, 40 << 20, 40<<20 + 12345, 5000}
	type committed struct {
		name   string
		size   int64
		digest [32]byte
	}
	var blobs []committed
	for i, size := range sizes {
		name, d, err := put(t.Context(), t, s, size, uint64(i))
		if err != nil {
			t.Fatalf("upload %d (%d bytes): %v", i, size, err)
		}
		blobs = append(blobs, committed{name, int64(size), d})
	}
	t.Logf("committed after %v", time.Since(begin).Round(time.Millisecond))
	var total int64
	for _, b := range blobs {
		total += b.size
	}
	var stored int64
	for i, v := range c.Volumes {
		n, size := datFiles(t, v.Dir)
		t.Logf("volume server %d: %d volume files, %d bytes", i+1, n, size)
		stored += size
	}
	if stored < 2*total {
		t.Fatalf("the volume servers hold %d bytes of volumes, less than twice the %d committed: not replicated", stored, total)
	}

	c.Volumes[1].Kill()
	killed := time.Now()
	for _, b := range blobs {
		d, n, err := digest(t, s, b.name)
		if err != nil {
			t.Fatalf("blob %s (%d bytes) after the kill: %v", b.name, b.size, err)
		}
		if n != b.size || d != b.digest {
			t.Fatalf("blob %s reads back %d bytes, digest %x; committed %d bytes, %x", b.name, n, d, b.size, b.digest)
		}
	}
	// A range from the middle of the largest blob, as an export reads.
	last := blobs[len(blobs)-2]
	blob, err := s.Open(t.Context(), last.name)
	if err != nil {
		t.Fatal(err)
	}
	got := make([]byte, 1<<20)
	if _, err := blob.ReadAt(got, 30<<20); err != nil {
		t.Fatalf("range read after the kill: %v", err)
	}
	blob.Close()
	want := make([]byte, 30<<20+1<<20)
	io.ReadFull(rand.NewChaCha8(seedBytes(uint64(len(blobs)-2))), want)
	if !bytes.Equal(got, want[30<<20:]) {
		t.Fatal("range read after the kill differs from what was written")
	}
	t.Logf("all %d committed blobs (%d bytes) read back identical %v after one of %d volume servers was killed",
		len(blobs), total, time.Since(killed).Round(time.Millisecond), volumes)

	return s, len(blobs)
}

// TestFailoverS3VolumeKilled: two volume servers, replication 001; one
// is killed and every committed blob reads back identical
// (killOneVolume). New uploads are then refused: a volume takes writes
// only while all its copies do, and the one server left cannot hold a
// second copy of a new volume (SeaweedFS and minio-go retry for about
// five minutes before the error; the test waits 20 s). The drop's part
// is that a refused upload leaves nothing visible: the reporter is told
// to try again, and no receipt is shown.
func TestFailoverS3VolumeKilled(t *testing.T) {
	s, committed := killOneVolume(t, 2)
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	if name, _, err := put(ctx, t, s, 2<<20, 99); err == nil {
		t.Fatalf("a new upload with one of two replicas down was committed as %s; SeaweedFS was expected to refuse it", name)
	} else {
		t.Logf("new upload with one volume server down: %v", err)
	}
	var listed []string
	if err := s.List(t.Context(), func(name string, size int64) error {
		listed = append(listed, name)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if len(listed) != committed {
		t.Fatalf("after the refused upload %d blobs are listed, want the %d committed", len(listed), committed)
	}
}

// TestFailoverS3VolumeKilledThreeServers: three volume servers,
// replication 001; one is killed, every committed blob reads back
// identical, and new uploads (multipart too) succeed again once the
// master has grown volumes on the two left, within a minute.
func TestFailoverS3VolumeKilledThreeServers(t *testing.T) {
	s, _ := killOneVolume(t, 3)
	killed := time.Now()
	for i, size := range []int{2 << 20, 40 << 20} {
		for {
			ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
			name, want, err := put(ctx, t, s, size, uint64(100+i))
			cancel()
			if err == nil {
				got, _, err := digest(t, s, name)
				if err != nil || got != want {
					t.Fatalf("the new %d-byte blob reads back %x, %v", size, got, err)
				}
				t.Logf("new %d-byte upload committed %v after the blobs were read back", size, time.Since(killed).Round(time.Millisecond))
				break
			}
			if time.Since(killed) > time.Minute {
				t.Fatalf("no new upload of %d bytes succeeded within a minute of the kill: %v", size, err)
			}
			t.Logf("new upload: %v; trying again", err)
		}
	}
}
