package servers

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// SeaweedFS is a SeaweedFS server (master, volume, filer and S3 gateway
// in one process) started for a test.
type SeaweedFS struct {
	// Endpoint is the S3 gateway's host:port on 127.0.0.1.
	Endpoint string
	proc     *process
	buckets  atomic.Int32
}

// weedBinary is $CLEANDROP_WEED (make test sets it to the binary make
// deps built), else weed on the PATH.
func weedBinary() string {
	if p := os.Getenv("CLEANDROP_WEED"); p != "" {
		if _, err := os.Stat(p); err == nil {
			return p
		}
		return ""
	}
	p, _ := exec.LookPath("weed")
	return p
}

// StartSeaweedFS starts `weed server -s3` on free ports of 127.0.0.1 with
// its data in a new temporary directory, and waits until the S3 gateway
// answers. It is stopped (SIGTERM, then SIGKILL after 5 s: it ignores
// SIGTERM for a while) when the test ends.
func StartSeaweedFS(t testing.TB) *SeaweedFS {
	t.Helper()
	return StartSeaweedFSIn(t, t.TempDir())
}

// StartSeaweedFSIn is [StartSeaweedFS] with its data in dir (a small file
// system made for the test, to fill it).
func StartSeaweedFSIn(t testing.TB, dir string) *SeaweedFS {
	t.Helper()
	bin := weedBinary()
	if bin == "" {
		missing(t, "SeaweedFS (weed) not found at $CLEANDROP_WEED=%q or on the PATH", os.Getenv("CLEANDROP_WEED"))
	}
	port := func() string { return strconv.Itoa(freePort(t)) }
	s3 := port()
	cmd := exec.Command(bin, "server", "-dir="+dir, "-ip=127.0.0.1", "-ip.bind=127.0.0.1",
		"-master.port="+port(), "-volume.port="+port(), "-filer.port="+port(),
		"-s3", "-s3.port="+s3, "-s3.port.iceberg=0", "-s3.port.lance=0",
		// Each bucket is a collection with volumes of its own: allow
		// many small ones (the default, 8, runs out after a few
		// buckets and uploads fail with an internal error).
		"-volume.max=100", "-master.volumeSizeLimitMB=256",
		"-volume.preStopSeconds=0",
		// No usage reports: tests reach nothing beyond 127.0.0.1.
		"-master.telemetry=false")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "TMPDIR="+dir)
	w := &SeaweedFS{Endpoint: net.JoinHostPort("127.0.0.1", s3)}
	w.proc = start(t, "weed", cmd)
	t.Cleanup(func() {
		w.proc.stop(syscall.SIGTERM, 5*time.Second)
		if t.Failed() {
			t.Logf("weed output (last 4 KiB):\n%s", tail(w.proc.out.String(), 4096))
		}
	})
	client := w.Client(t)
	w.proc.waitFor(t, 120*time.Second, func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		defer cancel()
		_, err := client.ListBuckets(ctx)
		return err
	})
	// The gateway lists buckets a few seconds before it takes writes (its
	// filer's lock ring comes up later, and a write meanwhile fails):
	// wait for one write to go through, in a bucket of its own.
	const ready = "cleandrop-ready"
	w.proc.waitFor(t, 120*time.Second, func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := client.MakeBucket(ctx, ready, minio.MakeBucketOptions{}); err != nil {
			if ok, _ := client.BucketExists(ctx, ready); !ok {
				return err
			}
		}
		_, err := client.PutObject(ctx, ready, "ready", strings.NewReader("ready"), 5, minio.PutObjectOptions{})
		return err
	})
	ctx := context.Background()
	if err := client.RemoveObject(ctx, ready, "ready", minio.RemoveObjectOptions{}); err != nil {
		t.Fatalf("seaweedfs: remove the readiness object: %v", err)
	}
	if err := client.RemoveBucket(ctx, ready); err != nil {
		t.Fatalf("seaweedfs: remove the readiness bucket: %v", err)
	}
	return w
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

// Client is an S3 client of the gateway, without credentials.
func (w *SeaweedFS) Client(t testing.TB) *minio.Client {
	t.Helper()
	c, err := minio.New(w.Endpoint, &minio.Options{Creds: credentials.NewStaticV4("", "", ""), Secure: false})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// NewBucket creates an empty bucket and returns its name. Making the
// first buckets can take SeaweedFS a while (it grows volumes), so it
// retries for up to a minute.
func (w *SeaweedFS) NewBucket(t testing.TB) string {
	t.Helper()
	name := fmt.Sprintf("cleandrop-t%d", w.buckets.Add(1))
	c := w.Client(t)
	deadline := time.Now().Add(time.Minute)
	for {
		err := c.MakeBucket(context.Background(), name, minio.MakeBucketOptions{})
		if err == nil {
			return name
		}
		if time.Now().After(deadline) {
			t.Fatalf("make bucket %s: %v", name, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// Kill stops the server as a crash would (SIGKILL).
func (w *SeaweedFS) Kill() { w.proc.kill() }

// S3cmdConfig writes a configuration file for Debian's s3cmd into dir,
// for the gateway at endpoint, and returns its path. The test's SeaweedFS
// has no identities configured, so it checks no signature; s3cmd insists
// on a key pair (without one it asks the EC2 metadata service for a
// role), so it gets a placeholder that grants nothing.
func S3cmdConfig(dir, endpoint string) (string, error) {
	cfg := filepath.Join(dir, "s3cfg")
	return cfg, os.WriteFile(cfg, fmt.Appendf(nil, "[default]\nhost_base = %s\nhost_bucket = %s\nuse_https = False\naccess_key = placeholder\nsecret_key = placeholder\nsignature_v2 = False\ncheck_ssl_certificate = False\n", endpoint, endpoint), 0o600)
}
