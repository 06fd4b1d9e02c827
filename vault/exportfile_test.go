package vault

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"cleandrop/vault/backend"
)

// exportCase commits a case with a report, an attachment of a megabyte
// and a few bytes, one of two placeChunks and a byte, and a small one, and
// returns its reference and the record of the largest (item 3), which
// does not start its pack.
func exportCase(t *testing.T, s *Store) (string, itemRecord) {
	t.Helper()
	b, err := s.NewCase("a1", testAccess(t, "lookup-export"))
	if err != nil {
		t.Fatal(err)
	}
	for _, it := range []struct {
		kind Kind
		name string
		data []byte
	}{
		{KindReport, "", []byte("the report")},
		{KindAttachment, "first.bin", random(pipeBufSize + 3)},
		{KindAttachment, "big.bin", random(2*placeChunk + 1)},
		{KindAttachment, "small.txt", random(100)},
	} {
		addItem(t, b, it.kind, it.name, it.data)
	}
	ref, err := b.Commit()
	if err != nil {
		t.Fatal(err)
	}
	var rec itemRecord
	if err := s.view(func(tx backend.Tx) error { rec, err = s.loadItem(tx, ref, 3); return err }); err != nil {
		t.Fatal(err)
	}
	if rec.Pack == "" || rec.Off == 0 || rec.Size < 2*placeChunk {
		t.Fatalf("the large item is not in a pack after another: %+v", rec)
	}
	return ref, rec
}

// An export to a file open for reading and writing copies the large item
// inside the kernel; one to a file open for writing only reads and writes
// it. Both write the very bytes of an export to memory.
func TestExportToFile(t *testing.T) {
	s, _ := openInternal(t, filepath.Join(t.TempDir(), "vault"), Options{})
	ref, _ := exportCase(t, s)
	var want bytes.Buffer
	if err := s.Export(&want, ref); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		dir    string // "" for the test's temporary directory
		flag   int
		direct bool
	}{
		{"read-write", "", os.O_RDWR, true},
		{"write-only", "", os.O_WRONLY, false},
		{"append", "", os.O_RDWR | os.O_APPEND, false},
		// The kernel will not copy from one file system to another: the
		// first copy fails, and the export reads and writes.
		{"another file system", "/dev/shm", os.O_RDWR, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			if tc.dir != "" {
				dir = otherFS(t, tc.dir, dir)
			}
			path := filepath.Join(dir, "case.tar")
			f, err := os.OpenFile(path, tc.flag|os.O_CREATE|os.O_EXCL, 0o600)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			if got := newFileOut(f).direct; got != tc.direct {
				t.Errorf("copied inside the kernel: %v, want %v", got, tc.direct)
			}
			if err := s.Export(f, ref); err != nil {
				t.Fatalf("Export: %v", err)
			}
			got, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want.Bytes()) {
				t.Errorf("the bundle in the file (%d bytes) differs from the one in memory (%d)", len(got), want.Len())
			}
		})
	}
}

// otherFS returns a new directory in parent, on another file system than
// near's, or skips the test.
func otherFS(t *testing.T, parent, near string) string {
	t.Helper()
	var a, b syscall.Stat_t
	if syscall.Stat(parent, &a) != nil || syscall.Stat(near, &b) != nil || a.Dev == b.Dev {
		t.Skipf("skipping: %s is not on a file system of its own here", parent)
	}
	dir, err := os.MkdirTemp(parent, "cleandrop-export")
	if err != nil {
		t.Skipf("skipping: %v", err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

// placeItem copies an item from its pack to the file and returns the
// SHA-256 of what the file holds; a closed done stops it.
func TestPlaceItem(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "vault")
	s, _ := openInternal(t, dir, Options{})
	ref, rec := exportCase(t, s)
	out, err := os.OpenFile(filepath.Join(t.TempDir(), "out"), os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	out.WriteString("head")
	rc, err := s.OpenItem(ref, 3)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	sum, err := placeItem(newFileOut(out), rc, rec.Size, nil)
	if err != nil {
		t.Fatalf("placeItem: %v", err)
	}
	pack, err := os.ReadFile(filepath.Join(dir, packDir, rec.Pack))
	if err != nil {
		t.Fatal(err)
	}
	wantSum := sha256.Sum256(pack[rec.Off : rec.Off+rec.Size])
	got, _ := os.ReadFile(out.Name())
	if !bytes.Equal(sum, wantSum[:]) || !bytes.Equal(got, append([]byte("head"), pack[rec.Off:rec.Off+rec.Size]...)) {
		t.Errorf("placed %d bytes, sum %x; want %d bytes, sum %x", len(got), sum, rec.Size+4, wantSum)
	}
	if pos, _ := out.Seek(0, 1); pos != rec.Size+4 {
		t.Errorf("file position %d after placing, want %d", pos, rec.Size+4)
	}

	done := make(chan struct{})
	close(done)
	if _, err := placeItem(newFileOut(out), rc, rec.Size, done); !errors.Is(err, ErrExportStopped) {
		t.Errorf("placeItem after done: %v", err)
	}
	if _, err := placeItem(newFileOut(out), bytes.NewReader(nil), rec.Size, nil); !errors.Is(err, errNoDirect) {
		t.Errorf("placeItem from memory: %v", err)
	}
}

// A large item whose stored bytes changed fails the export, to memory and
// to a file alike; so does an export whose reader is gone.
func TestExportChecksStoredBytes(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "vault")
	s, _ := openInternal(t, dir, Options{})
	ref, rec := exportCase(t, s)
	done := make(chan struct{})
	close(done)
	if err := s.ExportWith(&bytes.Buffer{}, ref, ExportOptions{Done: done}); !errors.Is(err, ErrExportStopped) {
		t.Errorf("export with its reader gone: %v", err)
	}

	pack, err := os.OpenFile(filepath.Join(dir, packDir, rec.Pack), os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	b := []byte{0}
	pack.ReadAt(b, rec.Off+placeChunk+5)
	b[0] ^= 1
	if _, err := pack.WriteAt(b, rec.Off+placeChunk+5); err != nil {
		t.Fatal(err)
	}
	pack.Close()
	if err := s.Export(&bytes.Buffer{}, ref); err == nil {
		t.Error("export to memory of a changed item passed")
	}
	for _, flag := range []int{os.O_RDWR, os.O_WRONLY} {
		f, err := os.OpenFile(filepath.Join(t.TempDir(), "case.tar"), flag|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Export(f, ref); err == nil || !bytes.Contains([]byte(err.Error()), []byte("does not match its record")) {
			t.Errorf("export to a file (flags %#x) of a changed item: %v", flag, err)
		}
		f.Close()
	}
}
