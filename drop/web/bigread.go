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

// LargeReads makes r.Body read the connection in reads of up to
// [UploadReadSize], and returns the function that gives the buffer back,
// cleared: call it once the handler is done with the body (defer it right
// away), and read r.Body no more after it. What the body returns, errors
// included, is unchanged.
func LargeReads(r *http.Request) (release func()) {
	if r.Body == nil || r.Body == http.NoBody {
		return func() {}
	}
	bp := uploadBufs.Get().(*[]byte)
	b := &largeBody{rc: r.Body, buf: *bp}
	r.Body = b
	return func() {
		b.mu.Lock()
		defer b.mu.Unlock()
		if b.buf == nil {
			return
		}
		clear(b.buf) // a report's plaintext
		b.buf = nil
		uploadBufs.Put(bp)
	}
}

// largeBody is a request body read through a large buffer.
type largeBody struct {
	rc io.ReadCloser

	mu   sync.Mutex // against a release during a read
	buf  []byte     // nil once released
	r, w int        // unread bytes are buf[r:w]
	err  error      // what the last read of rc returned, after its bytes
}

func (b *largeBody) Read(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.buf == nil {
		return 0, io.ErrClosedPipe
	}
	if len(p) == 0 {
		return 0, nil
	}
	if b.r == b.w {
		if b.err != nil {
			return 0, b.err
		}
		if len(p) >= len(b.buf) {
			// As large as ours: read into the caller's directly.
			n, err := b.rc.Read(p)
			b.err = err
			if n > 0 {
				return n, nil
			}
			return 0, err
		}
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

func (b *largeBody) Close() error { return b.rc.Close() }
