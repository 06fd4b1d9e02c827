package web

import (
	"io"
	"net/http"
	"sync"
)

// UploadReadSize is the size of the reads [LargeReads] makes from an
// upload's connection.
//
// mime/multipart reads its input through a 4 KiB buffer of its own, so a
// part streamed straight from the connection costs one read system call
// (and one pass through the body's wrappers: size limit, idle deadline)
// per 4 KiB: a quarter of a million for a gigabyte. Reading the connection
// a megabyte at a time leaves multipart copying from memory.
const UploadReadSize = 1 << 20

var uploadBufs = sync.Pool{New: func() any { b := make([]byte, UploadReadSize); return &b }}

// LargeReads makes r.Body able to read the connection in reads of up to
// [UploadReadSize], and returns it. Its reads pass through unchanged until
// [LargeBody.Grow]: the handler calls it once a part turns out large (a
// file of more than a few hundred KiB), so that a form of many small parts
// refused at its first part over the bound has read little more than that
// part. Call [LargeBody.Release] once the handler is done with the body
// (defer it right away), and read r.Body no more after it. What the body
// returns, errors included, is the same either way.
func LargeReads(r *http.Request) *LargeBody {
	b := &LargeBody{rc: r.Body}
	r.Body = b
	return b
}

// Grow starts the large reads; it is idempotent and does nothing after
// Release.
func (b *LargeBody) Grow() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.buf != nil || b.released || b.rc == nil || b.rc == http.NoBody {
		return
	}
	b.bp = uploadBufs.Get().(*[]byte)
	b.buf = *b.bp
}

// Release gives the buffer back, cleared: it held the upload's plaintext.
// It is idempotent; reads after it fail.
func (b *LargeBody) Release() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.released = true
	if b.buf == nil {
		return
	}
	clear(b.buf)
	b.buf = nil
	uploadBufs.Put(b.bp)
	b.bp = nil
}

// LargeBody is a request body read through a large buffer once grown.
type LargeBody struct {
	rc io.ReadCloser

	mu       sync.Mutex // against a Release during a read
	bp       *[]byte
	buf      []byte // nil before Grow and after Release
	released bool
	r, w     int   // unread bytes are buf[r:w]
	err      error // what the last read of rc returned, after its bytes
}

func (b *LargeBody) Read(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	switch {
	case b.released:
		return 0, io.ErrClosedPipe
	case len(p) == 0:
		return 0, nil
	case b.r == b.w && b.err != nil:
		return 0, b.err
	case b.r == b.w && (b.buf == nil || len(p) >= len(b.buf)):
		// Not grown, or as large as ours: read into the caller's.
		n, err := b.rc.Read(p)
		b.err = err
		if n > 0 {
			return n, nil
		}
		return 0, err
	case b.r == b.w:
		n, err := b.rc.Read(b.buf)
		b.r, b.w, b.err = 0, n, err
		if n == 0 {
			return 0, err
		}
	}
	n := copy(p, b.buf[b.r:b.w])
	b.r += n
	return n, nil
}

func (b *LargeBody) Close() error { return b.rc.Close() }

// GrowAfter returns a reader of r that calls grow once more than n bytes
// have been read from it: a part of an upload read through it starts the
// body's large reads once it is known to be large.
func GrowAfter(r io.Reader, n int64, grow func()) io.Reader {
	return &growAfter{r: r, left: n, grow: grow}
}

type growAfter struct {
	r    io.Reader
	left int64
	grow func()
}

func (g *growAfter) Read(p []byte) (int, error) {
	n, err := g.r.Read(p)
	if g.left >= 0 {
		if g.left -= int64(n); g.left < 0 {
			g.grow()
		}
	}
	return n, err
}
