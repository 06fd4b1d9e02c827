package backendtest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"io"
	mrand "math/rand/v2"
	"runtime"
	"slices"
	"sync"
	"testing"
	"time"

	"cleandrop/vault/backend"
)

// BlobStore is a fresh, empty blob store under test.
type BlobStore struct {
	Blobs backend.Blobs
	// Stored lists every name the backend holds bytes under, committed
	// or not (files, objects, unfinished multipart uploads), so the suite
	// can check that an abort or a sweep leaves nothing behind.
	Stored func(ctx context.Context) ([]string, error)
}

// BlobsOpener opens a fresh, empty blob store.
type BlobsOpener func(t *testing.T) BlobStore

// LargeBlob is the size of the blob the streaming test writes and reads,
// and MaxHeapGrowth the bound on the heap while it does.
const (
	LargeBlob     = 256 << 20
	MaxHeapGrowth = 32 << 20
)

// RunBlobs runs the blob store suite.
func RunBlobs(t *testing.T, open BlobsOpener) {
	// The memory test runs first and alone, so that it measures only
	// itself.
	t.Run("LargeBlobStreamedMemoryFlat", func(t *testing.T) { testLarge(t, open(t)) })
	tests := []struct {
		name string
		fn   func(t *testing.T, s BlobStore)
	}{
		{"RoundTrip", testBlobRoundTrip},
		{"InvisibleBeforeCommit", testInvisible},
		{"AbortLeavesNothing", testAbortBlob},
		{"Delete", testDelete},
		{"OpenMissing", testOpenMissing},
		{"SweepRemovesOnlyAbandoned", testSweep},
		{"SweepRacesCommits", testSweepRace},
		{"ContextCancel", testBlobCancel},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.fn(t, open(t))
		})
	}
}

func randomBytes(seed uint64, n int) []byte {
	r := mrand.NewChaCha8([32]byte{byte(seed), byte(seed >> 8), byte(seed >> 16)})
	b := make([]byte, n)
	r.Read(b)
	return b
}

func write(t *testing.T, b backend.Blobs, data []byte) string {
	t.Helper()
	u, err := b.Create(t.Context())
	if err != nil {
		t.Fatalf("Create: %v", err)
	}
	if _, err := u.Write(data); err != nil {
		t.Fatalf("Write: %v", err)
	}
	n, err := u.Commit(t.Context())
	if err != nil {
		t.Fatalf("Commit: %v", err)
	}
	if n != int64(len(data)) {
		t.Fatalf("Commit reports %d bytes, wrote %d", n, len(data))
	}
	return u.Name()
}

func read(t *testing.T, b backend.Blobs, name string) []byte {
	t.Helper()
	r, err := b.Open(t.Context(), name)
	if err != nil {
		t.Fatalf("Open %s: %v", name, err)
	}
	defer r.Close()
	data, err := io.ReadAll(r)
	if err != nil {
		t.Fatalf("read %s: %v", name, err)
	}
	if r.Size() != int64(len(data)) {
		t.Errorf("Size %d, read %d bytes", r.Size(), len(data))
	}
	return data
}

func listed(t *testing.T, b backend.Blobs) map[string]int64 {
	t.Helper()
	m := map[string]int64{}
	if err := b.List(t.Context(), func(name string, size int64) error { m[name] = size; return nil }); err != nil {
		t.Fatalf("List: %v", err)
	}
	return m
}

func stored(t *testing.T, s BlobStore) []string {
	t.Helper()
	names, err := s.Stored(t.Context())
	if err != nil {
		t.Fatalf("Stored: %v", err)
	}
	slices.Sort(names)
	return names
}

func testBlobRoundTrip(t *testing.T, s BlobStore) {
	sizes := []int{0, 1, 64<<10 - 1, 64 << 10, 64<<10 + 1, 5<<20 + 3}
	names := map[string]int{}
	for i, size := range sizes {
		data := randomBytes(uint64(i), size)
		name := write(t, s.Blobs, data)
		if !backend.ValidName(name) {
			t.Errorf("name %q is not 32 hex digits", name)
		}
		if _, dup := names[name]; dup {
			t.Fatalf("name %s given twice", name)
		}
		names[name] = size
		if got := read(t, s.Blobs, name); !bytes.Equal(got, data) {
			t.Errorf("%d bytes: read back %d different bytes", size, len(got))
		}
		if size > 10 {
			r, err := s.Blobs.Open(t.Context(), name)
			if err != nil {
				t.Fatal(err)
			}
			buf := make([]byte, 7)
			off := int64(size / 3)
			if n, err := r.ReadAt(buf, off); n != 7 || (err != nil && err != io.EOF) || !bytes.Equal(buf, data[off:off+7]) {
				t.Errorf("%d bytes: ReadAt(%d) = %d, %v", size, off, n, err)
			}
			r.Close()
		}
	}
	got := listed(t, s.Blobs)
	if len(got) != len(names) {
		t.Errorf("List gives %d blobs, want %d", len(got), len(names))
	}
	for name, size := range names {
		if got[name] != int64(size) {
			t.Errorf("List: %s has size %d, want %d", name, got[name], size)
		}
	}
}

func testInvisible(t *testing.T, s BlobStore) {
	u, err := s.Blobs.Create(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := u.Write(randomBytes(1, 300<<10)); err != nil {
		t.Fatal(err)
	}
	if _, ok := listed(t, s.Blobs)[u.Name()]; ok {
		t.Error("an uncommitted blob is listed")
	}
	if r, err := s.Blobs.Open(t.Context(), u.Name()); !errors.Is(err, backend.ErrNotFound) {
		if err == nil {
			r.Close()
		}
		t.Errorf("Open of an uncommitted blob: %v, want ErrNotFound", err)
	}
	if _, err := u.Commit(t.Context()); err != nil {
		t.Fatal(err)
	}
	if size, ok := listed(t, s.Blobs)[u.Name()]; !ok || size != 300<<10 {
		t.Errorf("a committed blob is not listed with its size (%d, %v)", size, ok)
	}
	if err := u.Abort(t.Context()); err != nil {
		t.Errorf("Abort after Commit: %v", err)
	}
	if got := read(t, s.Blobs, u.Name()); len(got) != 300<<10 {
		t.Errorf("after Abort of a committed upload: %d bytes", len(got))
	}
}

func testAbortBlob(t *testing.T, s BlobStore) {
	keep := write(t, s.Blobs, []byte("kept"))
	u, err := s.Blobs.Create(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := u.Write(randomBytes(2, 1<<20)); err != nil {
		t.Fatal(err)
	}
	if err := u.Abort(t.Context()); err != nil {
		t.Fatalf("Abort: %v", err)
	}
	if _, err := u.Commit(t.Context()); err == nil {
		t.Error("Commit after Abort succeeded")
	}
	if got := stored(t, s); !slices.Equal(got, []string{keep}) {
		t.Errorf("after Abort the backend holds %q, want only %s", got, keep)
	}
	if _, err := s.Blobs.Open(t.Context(), u.Name()); !errors.Is(err, backend.ErrNotFound) {
		t.Errorf("Open of an aborted blob: %v", err)
	}
}

func testDelete(t *testing.T, s BlobStore) {
	a := write(t, s.Blobs, []byte("a"))
	b := write(t, s.Blobs, []byte("b"))
	if err := s.Blobs.Delete(t.Context(), a); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Blobs.Open(t.Context(), a); !errors.Is(err, backend.ErrNotFound) {
		t.Errorf("Open of a deleted blob: %v", err)
	}
	if got := listed(t, s.Blobs); len(got) != 1 || got[b] != 1 {
		t.Errorf("List after Delete: %v", got)
	}
	if got := stored(t, s); !slices.Equal(got, []string{b}) {
		t.Errorf("after Delete the backend holds %q", got)
	}
	if err := s.Blobs.Delete(t.Context(), a); err != nil {
		t.Errorf("deleting twice: %v", err)
	}
	if err := s.Blobs.Delete(t.Context(), backend.NewName()); err != nil {
		t.Errorf("deleting a blob that never was: %v", err)
	}
}

func testOpenMissing(t *testing.T, s BlobStore) {
	for _, name := range []string{backend.NewName(), "../../etc/passwd", "", "ABCDEF0123456789ABCDEF0123456789"} {
		if _, err := s.Blobs.Open(t.Context(), name); !errors.Is(err, backend.ErrNotFound) {
			t.Errorf("Open(%q): %v, want ErrNotFound", name, err)
		}
	}
}

func testSweep(t *testing.T, s BlobStore) {
	kept := write(t, s.Blobs, randomBytes(3, 1000))
	// An upload left behind by a crashed front-end: written, never
	// committed or aborted.
	abandoned, err := s.Blobs.Create(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := abandoned.Write(randomBytes(4, 200<<10)); err != nil {
		t.Fatal(err)
	}
	// A fresh upload is not swept by a sweep of old ones.
	fresh, err := s.Blobs.Create(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := fresh.Write([]byte("fresh")); err != nil {
		t.Fatal(err)
	}
	if n, err := s.Blobs.Sweep(t.Context(), time.Hour); err != nil || n != 0 {
		t.Errorf("Sweep(1h) of fresh uploads: removed %d, %v", n, err)
	}
	if _, err := fresh.Commit(t.Context()); err != nil {
		t.Fatalf("Commit after Sweep(1h): %v", err)
	}
	n, err := s.Blobs.Sweep(t.Context(), 0)
	if err != nil {
		t.Fatalf("Sweep(0): %v", err)
	}
	if n < 1 {
		t.Errorf("Sweep(0) removed %d uploads, want the abandoned one", n)
	}
	want := []string{kept, fresh.Name()}
	slices.Sort(want)
	if got := stored(t, s); !slices.Equal(got, want) {
		t.Errorf("after Sweep the backend holds %q, want %q", got, want)
	}
	if _, err := abandoned.Commit(t.Context()); !errors.Is(err, backend.ErrSwept) {
		t.Errorf("Commit of a swept upload: %v, want ErrSwept", err)
	}
	if _, ok := listed(t, s.Blobs)[abandoned.Name()]; ok {
		t.Error("a swept upload is listed")
	}
	if got := read(t, s.Blobs, kept); !bytes.Equal(got, randomBytes(3, 1000)) {
		t.Error("Sweep changed a committed blob")
	}
}

// testSweepRace commits while other front-ends sweep: with an age that
// spares live uploads every commit wins; with an age of zero a commit
// either wins (and the blob stays, complete) or fails with ErrSwept (and
// leaves nothing).
func testSweepRace(t *testing.T, s BlobStore) {
	for _, age := range []time.Duration{time.Hour, 0} {
		stop := make(chan struct{})
		sweeps := make(chan error, 1)
		go func() {
			var err error
			for {
				select {
				case <-stop:
					sweeps <- err
					return
				default:
				}
				if _, e := s.Blobs.Sweep(t.Context(), age); e != nil && err == nil {
					err = e
				}
			}
		}()
		const writers = 6
		type result struct {
			name string
			seed uint64
			err  error
		}
		results := make([]result, writers)
		var wg sync.WaitGroup
		for i := range writers {
			wg.Go(func() {
				seed := uint64(100*int(age/time.Second) + i)
				u, err := s.Blobs.Create(t.Context())
				if err != nil {
					results[i].err = err
					return
				}
				results[i].name, results[i].seed = u.Name(), seed
				data := randomBytes(seed, 100<<10)
				for off := 0; off < len(data); off += 10 << 10 {
					if _, err := u.Write(data[off : off+10<<10]); err != nil {
						break // a swept upload may fail here; Commit says so
					}
				}
				_, results[i].err = u.Commit(t.Context())
				if results[i].err != nil {
					u.Abort(t.Context())
				}
			})
		}
		wg.Wait()
		close(stop)
		if err := <-sweeps; err != nil {
			t.Fatalf("Sweep(%v): %v", age, err)
		}
		if _, err := s.Blobs.Sweep(t.Context(), 0); err != nil {
			t.Fatal(err)
		}
		have := listed(t, s.Blobs)
		won := 0
		for _, r := range results {
			if r.err == nil {
				won++
			}
		}
		t.Logf("sweeping uploads idle for %v while %d commit: %d won, %d swept", age, writers, won, writers-won)
		for _, r := range results {
			switch {
			case r.err == nil:
				if got := read(t, s.Blobs, r.name); !bytes.Equal(got, randomBytes(r.seed, 100<<10)) {
					t.Errorf("sweep %v: committed blob reads back %d different bytes", age, len(got))
				}
			case age > 0:
				t.Errorf("sweep %v: a commit failed: %v", age, r.err)
			case errors.Is(r.err, backend.ErrSwept):
				if _, ok := have[r.name]; ok {
					t.Errorf("sweep %v: a swept upload is listed", age)
				}
			default:
				t.Errorf("sweep %v: a commit failed with %v, want nil or ErrSwept", age, r.err)
			}
		}
	}
	var want []string
	for name := range listed(t, s.Blobs) {
		want = append(want, name)
	}
	slices.Sort(want)
	if got := stored(t, s); !slices.Equal(got, want) {
		t.Errorf("after the sweeps the backend holds %q, want the committed %q", got, want)
	}
}

func testBlobCancel(t *testing.T, s BlobStore) {
	ctx, cancel := context.WithCancel(t.Context())
	u, err := s.Blobs.Create(ctx)
	if err != nil {
		t.Fatal(err)
	}
	u.Write(randomBytes(5, 100<<10))
	cancel()
	// The writer may notice at once or at the next part; Commit must.
	u.Write(randomBytes(6, 100<<10))
	if _, err := u.Commit(t.Context()); err == nil {
		t.Error("Commit of an upload whose context was cancelled succeeded")
	}
	u.Abort(t.Context())
	if _, ok := listed(t, s.Blobs)[u.Name()]; ok {
		t.Error("a cancelled upload is listed")
	}
	if got := stored(t, s); len(got) != 0 {
		t.Errorf("a cancelled upload left %q", got)
	}
	if _, err := s.Blobs.Create(ctx); err == nil {
		t.Error("Create with a cancelled context succeeded")
	}
	if _, err := s.Blobs.Open(ctx, backend.NewName()); !errors.Is(err, context.Canceled) && !errors.Is(err, backend.ErrNotFound) {
		t.Errorf("Open with a cancelled context: %v", err)
	}
}

// heapPeak samples HeapInuse until stop is closed and sends its peak.
func heapPeak(stop <-chan struct{}, peak chan<- uint64) {
	var ms runtime.MemStats
	var max uint64
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		runtime.ReadMemStats(&ms)
		max = maxU(max, ms.HeapInuse)
		select {
		case <-stop:
			peak <- max
			return
		case <-tick.C:
		}
	}
}

func maxU(a, b uint64) uint64 {
	if a > b {
		return a
	}
	return b
}

func heapBase() uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapInuse
}

func testLarge(t *testing.T, s BlobStore) {
	growW, growR := measureLarge(t, s.Blobs)
	t.Logf("%d MiB blob: heap in use grew by %.1f MiB while writing, %.1f MiB while reading",
		LargeBlob>>20, float64(growW)/(1<<20), float64(growR)/(1<<20))
	if growW > MaxHeapGrowth || growR > MaxHeapGrowth {
		t.Errorf("heap grew by %d (write) and %d (read) bytes, bound %d: the blob is buffered", growW, growR, MaxHeapGrowth)
	}
}

// measureLarge writes a [LargeBlob] blob, reads it back, deletes it, and
// returns how much the heap in use grew beyond its level before each.
func measureLarge(t *testing.T, b backend.Blobs) (growW, growR int64) {
	s := BlobStore{Blobs: b}
	rng := mrand.NewChaCha8([32]byte{7})
	buf := make([]byte, 1<<20)
	sum := sha256.New()

	base := heapBase()
	stop, peak := make(chan struct{}), make(chan uint64, 1)
	go heapPeak(stop, peak)
	u, err := s.Blobs.Create(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	for written := 0; written < LargeBlob; written += len(buf) {
		rng.Read(buf)
		sum.Write(buf)
		if _, err := u.Write(buf); err != nil {
			t.Fatalf("Write at %d: %v", written, err)
		}
	}
	n, err := u.Commit(t.Context())
	close(stop)
	writePeak := <-peak
	if err != nil || n != LargeBlob {
		t.Fatalf("Commit: %d, %v", n, err)
	}
	want := sum.Sum(nil)

	base2 := heapBase()
	stop, peak = make(chan struct{}), make(chan uint64, 1)
	go heapPeak(stop, peak)
	r, err := s.Blobs.Open(t.Context(), u.Name())
	if err != nil {
		t.Fatal(err)
	}
	sum.Reset()
	got, err := io.CopyBuffer(sum, r, buf)
	r.Close()
	close(stop)
	readPeak := <-peak
	if err != nil || got != LargeBlob || !bytes.Equal(sum.Sum(nil), want) {
		t.Fatalf("read back %d bytes (%v), same hash %v", got, err, bytes.Equal(sum.Sum(nil), want))
	}
	if err := s.Blobs.Delete(t.Context(), u.Name()); err != nil {
		t.Error(err)
	}
	return int64(writePeak) - int64(base), int64(readPeak) - int64(base2)
}
