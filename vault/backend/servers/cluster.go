package servers

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
)

// SeaweedCluster is a SeaweedFS cluster of separate processes started for
// a test: one master, Volumes volume servers in one rack, and a filer with
// the S3 gateway. Each process has its own ports and directory.
type SeaweedCluster struct {
	SeaweedFS
	// Volumes are the volume servers, in the order they started.
	Volumes []*WeedVolume
	// Replication is the master's default replication ("001": one more
	// copy on another server of the same rack).
	Replication string
	master      string // host:port
}

// WeedVolume is one volume server of a [SeaweedCluster].
type WeedVolume struct {
	// Addr is its host:port.
	Addr string
	Dir  string
	proc *process
}

// Kill stops the volume server as a crash would (SIGKILL).
func (v *WeedVolume) Kill() { v.proc.kill() }

// StartSeaweedCluster starts a master with default replication
// replication, volumes volume servers in rack r1 of data centre dc1, and a
// filer with the S3 gateway, all on 127.0.0.1, and waits until a bucket
// can take an object. Everything is stopped when the test ends.
func StartSeaweedCluster(t testing.TB, replication string, volumes int) *SeaweedCluster {
	t.Helper()
	bin := weedBinary()
	if bin == "" {
		missing(t, "SeaweedFS (weed) not found at $CLEANDROP_WEED=%q or on the PATH", os.Getenv("CLEANDROP_WEED"))
	}
	root := t.TempDir()
	port := func() string { return strconv.Itoa(freePort(t)) }
	c := &SeaweedCluster{Replication: replication}
	run := func(name string, args ...string) *process {
		dir := filepath.Join(root, name)
		if err := os.MkdirAll(dir, 0o700); err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(bin, args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "TMPDIR="+dir)
		p := start(t, "weed "+name, cmd)
		t.Cleanup(func() {
			p.stop(syscall.SIGTERM, 5*time.Second)
			if t.Failed() {
				t.Logf("weed %s output (last 4 KiB):\n%s", name, tail(p.out.String(), 4096))
			}
		})
		return p
	}
	mport := port()
	c.master = net.JoinHostPort("127.0.0.1", mport)
	run("master", "master", "-ip=127.0.0.1", "-ip.bind=127.0.0.1", "-port="+mport,
		"-mdir="+filepath.Join(root, "master"), "-peers=none", "-telemetry=false",
		"-defaultReplication="+replication, "-volumeSizeLimitMB=256")
	for i := range volumes {
		name := fmt.Sprintf("volume%d", i+1)
		vport := port()
		v := &WeedVolume{Addr: net.JoinHostPort("127.0.0.1", vport), Dir: filepath.Join(root, name)}
		v.proc = run(name, "volume", "-ip=127.0.0.1", "-ip.bind=127.0.0.1", "-port="+vport,
			"-dir="+v.Dir, "-mserver="+c.master, "-dataCenter=dc1", "-rack=r1",
			"-max=100", "-preStopSeconds=0")
		c.Volumes = append(c.Volumes, v)
	}
	s3 := port()
	c.Endpoint = net.JoinHostPort("127.0.0.1", s3)
	c.proc = run("filer", "filer", "-ip=127.0.0.1", "-ip.bind=127.0.0.1", "-port="+port(),
		"-master="+c.master, "-defaultStoreDir="+filepath.Join(root, "filer"),
		"-s3", "-s3.port="+s3, "-s3.port.iceberg=0", "-s3.port.lance=0")
	client := c.Client(t)
	c.proc.waitFor(t, 120*time.Second, func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		defer cancel()
		_, err := client.ListBuckets(ctx)
		return err
	})
	return c
}

// WaitWritable waits until bucket takes a small object, which it does once
// the master has grown volumes for it with the replication asked for.
func (c *SeaweedCluster) WaitWritable(t testing.TB, bucket string) {
	t.Helper()
	client := c.Client(t)
	c.proc.waitFor(t, 120*time.Second, func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_, err := client.PutObject(ctx, bucket, "probe", bytes.NewReader(make([]byte, 1024)), 1024, minio.PutObjectOptions{})
		if err != nil {
			return err
		}
		return client.RemoveObject(ctx, bucket, "probe", minio.RemoveObjectOptions{})
	})
}
