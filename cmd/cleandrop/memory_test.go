package main

import (
	"bufio"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// procMem reads a process's resident memory from /proc/PID/status, in KiB:
// RssAnon (private) and RssFile (file-backed pages, e.g. Badger's maps).
func procMem(pid int) (anon, file int64, err error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		n, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
		switch k {
		case "RssAnon":
			anon = n
		case "RssFile":
			file = n
		}
	}
	return anon, file, sc.Err()
}

// memSampler records the peak memory of a process until stopped.
type memSampler struct {
	mu                 sync.Mutex
	peakAnon, peakFile int64
	stop               chan struct{}
	done               chan struct{}
}

func sample(pid int, every time.Duration) *memSampler {
	m := &memSampler{stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(m.done)
		for {
			if a, f, err := procMem(pid); err == nil {
				m.mu.Lock()
				m.peakAnon, m.peakFile = max(m.peakAnon, a), max(m.peakFile, f)
				m.mu.Unlock()
			}
			select {
			case <-m.stop:
				return
			case <-time.After(every):
			}
		}
	}()
	return m
}

func (m *memSampler) finish() (anon, file int64) {
	close(m.stop)
	<-m.done
	return m.peakAnon, m.peakFile
}

// fastRandom is an endless stream of pseudo-random bytes, cheap to make.
type fastRandom struct{ r *rand.ChaCha8 }

func (f fastRandom) Read(p []byte) (int, error) { return f.r.Read(p) }

func freeBytes(dir string) uint64 {
	var st syscall.Statfs_t
	if syscall.Statfs(dir, &st) != nil {
		return 0
	}
	return st.Bavail * uint64(st.Bsize)
}

// TestLargeUploadMemory streams a 1 GiB attachment through the server and
// checks that its private memory stays flat (grows by less than 64 MiB).
// CLEANDROP_BIG_MIB changes the size.
func TestLargeUploadMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: skipping the 1 GiB upload")
	}
	mib := int64(1024)
	if v := os.Getenv("CLEANDROP_BIG_MIB"); v != "" {
		mib, _ = strconv.ParseInt(v, 10, 64)
	}
	size := mib << 20
	dir := t.TempDir()
	if free := freeBytes(dir); free < uint64(size)*2+(512<<20) {
		t.Skipf("only %d MiB free in %s: the %d MiB upload needs twice its size", free>>20, dir, mib)
	}
	s := startDemo(t)
	r := newReporter(t, s.url)
	// Warm up: one small report runs the receipt KDF and fills caches.
	r.report("acc", "warm-up", nil)
	warmAnon, _, err := procMem(s.pid())
	if err != nil {
		t.Fatal(err)
	}
	// The file's first read waits until the server has taken the agency and
	// message fields (and run the receipt KDF, a fixed 64 MiB per report);
	// the baseline is taken there, so the growth is the attachment's own.
	started, release := make(chan struct{}), make(chan struct{})
	gated := &gatedReader{r: io.LimitReader(fastRandom{rand.NewChaCha8([32]byte{1})}, size), started: started, release: release}
	var baseAnon, baseFile int64
	var m *memSampler
	var start time.Time
	go func() {
		<-started
		time.Sleep(700 * time.Millisecond)
		baseAnon, baseFile, _ = procMem(s.pid())
		m = sample(s.pid(), 20*time.Millisecond)
		start = time.Now()
		close(release)
	}()
	_, ref := r.report("acc", "a very large attachment follows", []upload{{"big.bin", gated}})
	elapsed := time.Since(start)
	peakAnon, peakFile := m.finish()
	growth := peakAnon - baseAnon
	result := fmt.Sprintf("attachment of %d MiB: %.1f s (%.0f MB/s); RssAnon after warm-up %d MiB, before the file %d MiB, peak %d MiB (growth %d MiB); RssFile before %d MiB, peak %d MiB",
		mib, elapsed.Seconds(), float64(size)/elapsed.Seconds()/1e6, warmAnon>>10, baseAnon>>10, peakAnon>>10, growth>>10, baseFile>>10, peakFile>>10)
	measured(t, "%s", result)
	if growth >= 64<<10 {
		t.Errorf("private memory grew by %d MiB during a %d MiB upload (limit 64 MiB)", growth>>10, mib)
	}
	var found bool
	for _, l := range strings.Split(s.cli(t, "cases"), "\n") {
		found = found || strings.HasPrefix(l, ref)
	}
	if !found {
		t.Fatalf("case %s not listed after the upload", ref)
	}
}

// gatedReader signals its first read and waits for release before reading.
type gatedReader struct {
	r       io.Reader
	once    sync.Once
	started chan struct{}
	release chan struct{}
}

func (g *gatedReader) Read(p []byte) (int, error) {
	g.once.Do(func() {
		close(g.started)
		<-g.release
	})
	return g.r.Read(p)
}
