package vault

import (
	"os"
	"path/filepath"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"

	"cleandrop/vault/backend"
)

// A large item's ciphertext reaches its pack past the page cache: once it
// is committed, only its first and last pages (what age wrote before the
// ring started, the ring's short first buffer and its last partial block)
// are in the cache. On a file system that keeps files in memory (tmpfs)
// every page is, and the test says so and stops.
func TestLargeItemSkipsCache(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "vault")
	var fs unix.Statfs_t
	if err := unix.Statfs(filepath.Dir(dir), &fs); err != nil {
		t.Fatal(err)
	}
	if fs.Type == unix.TMPFS_MAGIC {
		t.Skipf("skipping: %s is on tmpfs, whose files are the page cache", dir)
	}
	s, _ := openInternal(t, dir, Options{})
	b, err := s.NewCase("a1", testAccess(t, "lookup-cache"))
	if err != nil {
		t.Fatal(err)
	}
	const size = 16 * pipeBufSize
	for _, n := range []int{100, size, 7} { // a large item between two small ones
		addItem(t, b, KindAttachment, "f", random(n))
	}
	ref, err := b.Commit()
	if err != nil {
		t.Fatal(err)
	}
	var rec itemRecord
	s.view(func(tx backend.Tx) error { rec, err = s.loadItem(tx, ref, 2); return err })
	if err != nil || rec.Pack == "" {
		t.Fatalf("the large item's record: %+v, %v", rec, err)
	}
	f, err := os.Open(filepath.Join(dir, packDir, rec.Pack))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		t.Fatal(err)
	}
	m, err := unix.Mmap(int(f.Fd()), 0, int(st.Size()), unix.PROT_READ, unix.MAP_SHARED)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Munmap(m)
	page := os.Getpagesize()
	vec := make([]byte, (len(m)+page-1)/page)
	if _, _, e := unix.Syscall(unix.SYS_MINCORE, uintptr(unsafe.Pointer(&m[0])), uintptr(len(m)), uintptr(unsafe.Pointer(&vec[0]))); e != 0 {
		t.Fatal(e)
	}
	first, last := int(rec.Off)/page, int(rec.Off+rec.Size-1)/page
	cached := 0
	for _, v := range vec[first : last+1] {
		cached += int(v & 1)
	}
	// The head (age's header and first chunks, up to inlineMax, and the
	// lead) and the tail (under a block) come to a few dozen pages; the
	// item has 4,096.
	if limit := (2*inlineMax + 2*directAlign) / page; cached > limit {
		t.Errorf("%d of the large item's %d pages are in the page cache, more than the %d its head and tail take", cached, last-first+1, limit)
	}
}
