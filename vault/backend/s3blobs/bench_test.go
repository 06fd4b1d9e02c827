package s3blobs_test

import (
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"cleandrop/vault/backend/badgerstore"
	"cleandrop/vault/backend/s3blobs"
	"cleandrop/vault/backend/servers"

	"filippo.io/age"
	"github.com/minio/minio-go/v7"
)

// BenchmarkS3Upload1GiB uploads the same sealed file to the same SeaweedFS
// (one weed server process) through s3blobs and with Debian's s3cmd put,
// one after the other in every iteration (run it with -benchtime 3x for
// best of 3, interleaved), and reports the best throughput of each and
// their ratio. The file is 1 GiB of random bytes sealed with age to a
// fresh recipient before the clock starts (so both clients send exactly
// the same ciphertext from the page cache); CLEANDROP_BENCH_S3_MIB sets
// another size. Parts: s3blobs 16 MiB, s3cmd its default 15 MiB.
func BenchmarkS3Upload1GiB(b *testing.B) {
	mib := 1024
	if v := os.Getenv("CLEANDROP_BENCH_S3_MIB"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 {
			b.Fatalf("CLEANDROP_BENCH_S3_MIB=%q", v)
		}
		mib = n
	}
	w := servers.StartSeaweedFS(b)
	meta, err := badgerstore.OpenMeta(b.TempDir(), make([]byte, 32), nil)
	if err != nil {
		b.Fatal(err)
	}
	defer meta.Close()
	c, bucket := w.Client(b), w.NewBucket(b)
	s, err := s3blobs.New(c, bucket, meta, s3blobs.Options{})
	if err != nil {
		b.Fatal(err)
	}

	file := filepath.Join(b.TempDir(), "sealed.age")
	f, err := os.Create(file)
	if err != nil {
		b.Fatal(err)
	}
	id, err := age.GenerateX25519Identity()
	if err != nil {
		b.Fatal(err)
	}
	sealer, err := age.Encrypt(f, id.Recipient())
	if err != nil {
		b.Fatal(err)
	}
	if _, err := io.Copy(sealer, io.LimitReader(rand.NewChaCha8([32]byte{1}), int64(mib)<<20)); err != nil {
		b.Fatal(err)
	}
	if err := sealer.Close(); err != nil {
		b.Fatal(err)
	}
	f.Close()
	fi, err := os.Stat(file)
	if err != nil {
		b.Fatal(err)
	}
	size := fi.Size()
	s3cmd(b, w.Endpoint, "ls") // configured and answering before the clock starts

	var best [2]time.Duration
	keep := func(i int, d time.Duration) {
		if best[i] == 0 || d < best[i] {
			best[i] = d
		}
	}
	round := 0
	b.ResetTimer()
	for b.Loop() {
		round++
		start := time.Now()
		in, err := os.Open(file)
		if err != nil {
			b.Fatal(err)
		}
		u, err := s.Create(b.Context())
		if err != nil {
			b.Fatal(err)
		}
		if _, err := io.Copy(u, in); err != nil {
			b.Fatal(err)
		}
		in.Close()
		if n, err := u.Commit(b.Context()); err != nil || n != size {
			b.Fatalf("commit: %d bytes, %v", n, err)
		}
		d := time.Since(start)
		keep(0, d)

		key := fmt.Sprintf("s3cmd/%d", round)
		start = time.Now()
		s3cmd(b, w.Endpoint, "put", file, "s3://"+bucket+"/"+key)
		d2 := time.Since(start)
		keep(1, d2)
		b.Logf("round %d: s3blobs %.0f MB/s, s3cmd put %.0f MB/s", round, mbps(size, d), mbps(size, d2))

		b.StopTimer()
		if err := s.Delete(b.Context(), u.Name()); err != nil {
			b.Fatal(err)
		}
		if err := c.RemoveObject(b.Context(), bucket, key, minio.RemoveObjectOptions{}); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
	b.ReportMetric(mbps(size, best[0]), "s3blobs-MB/s")
	b.ReportMetric(mbps(size, best[1]), "s3cmd-MB/s")
	b.ReportMetric(best[1].Seconds()/best[0].Seconds(), "s3blobs/s3cmd")
}

func mbps(size int64, d time.Duration) float64 { return float64(size) / 1e6 / d.Seconds() }
