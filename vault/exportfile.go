package vault

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"

	"cleandrop/vault/durable"
)

// An export written to a file (the command-line export hands the server
// the file it opened) copies the ciphertext of each item that lives in a
// file of the vault inside the kernel, file to file, with no copy through
// the server's memory. The check of the bytes against their record then
// reads them back from the bundle itself, so that it checks what the
// bundle holds. It needs a file open for reading and writing, at its
// start, on a file system that can copy from the vault's
// (copy_file_range); otherwise the export reads and writes as it does to
// any writer.

// fileOut is a bundle being written to a file.
type fileOut struct {
	f *os.File
	w *durable.Writer
	// direct: the file is open for reading and writing, and no copy
	// inside the kernel has failed yet.
	direct bool
}

func newFileOut(f *os.File) *fileOut {
	return &fileOut{f: f, w: durable.NewWriter(f), direct: readWrite(f)}
}

func (o *fileOut) Write(p []byte) (int, error) { return o.w.Write(p) }

// placeChunk is how much one copy inside the kernel moves before the
// bytes are handed to the check, and the export looks whether it is
// still wanted.
const placeChunk = 8 << 20

// errNoDirect is place's answer when the kernel cannot copy between the
// two files: nothing was written, and the caller copies another way.
var errNoDirect = errors.New("vault: no copy inside the kernel")

// place copies n bytes of src from off to the end of the bundle and
// returns their SHA-256, read back from the bundle on the other core
// while the next chunk is copied. It returns errNoDirect when the first
// copy fails in a way that only means the kernel will not copy here.
func (o *fileOut) place(src *os.File, off, n int64, done <-chan struct{}) ([]byte, error) {
	if !o.direct {
		return nil, errNoDirect
	}
	start, err := o.f.Seek(0, io.SeekCurrent)
	if err != nil {
		return nil, err
	}
	copied := make(chan int64, 4) // ends of copied chunks, in the bundle
	sum := make(chan hashed, 1)
	go func() { sum <- readBack(o.f, start, copied) }()
	var werr error
	for at := int64(0); at < n && werr == nil; {
		select {
		case <-done:
			werr = ErrExportStopped
			continue
		default:
		}
		k, err := copyRange(o.f, src, off+at, int(min(placeChunk, n-at)))
		switch {
		case err != nil && at == 0 && k == 0 && noDirect(err):
			o.direct = false
			werr = errNoDirect
		case err != nil:
			werr = fmt.Errorf("copy: %w", err)
		case k == 0:
			werr = io.ErrUnexpectedEOF // the item's file is shorter than its record
		}
		at += int64(k)
		o.w.Advance(int64(k))
		copied <- start + at
	}
	close(copied)
	h := <-sum
	if werr != nil {
		return nil, werr
	}
	if h.err != nil {
		return nil, fmt.Errorf("read back: %w", h.err)
	}
	return h.sum, nil
}

type hashed struct {
	sum []byte
	err error
}

// readBack hashes f from start up to each end it is sent, until ends is
// closed.
func readBack(f *os.File, start int64, ends <-chan int64) hashed {
	bp := pipeBufs.Get().(*[]byte)
	defer pipeBufs.Put(bp)
	buf := (*bp)[:cap(*bp)]
	var h hash.Hash = sha256.New()
	at := start
	var err error
	for end := range ends {
		for err == nil && at < end {
			var k int
			k, err = f.ReadAt(buf[:min(int64(len(buf)), end-at)], at)
			h.Write(buf[:k])
			at += int64(k)
		}
	}
	return hashed{h.Sum(nil), err}
}

// ErrExportStopped is the error of an export whose Done channel closed
// before it ended.
var ErrExportStopped = errors.New("vault: export stopped: its reader is gone")
