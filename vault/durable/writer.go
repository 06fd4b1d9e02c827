package durable

import "os"

// WritebackEvery is how much of a large file is written before the kernel
// is asked to start writing it out ([StartWriteback]).
const WritebackEvery = 8 << 20

// Writer writes a new file from its start and has the kernel write it out
// as it grows, WritebackEvery bytes at a time, so that the Sync that ends
// it waits for the last few megabytes instead of the whole file: writing
// and the disk then overlap. The caller still syncs and closes the file.
type Writer struct {
	f            *os.File
	off, started int64
}

// NewWriter returns a Writer appending to f, which is empty.
func NewWriter(f *os.File) *Writer { return &Writer{f: f} }

func (w *Writer) Write(b []byte) (int, error) {
	n, err := w.f.Write(b)
	w.Advance(int64(n))
	return n, err
}

// Advance counts n bytes that the caller put at the file's end itself
// (a copy inside the kernel), and has them written out as Write would.
func (w *Writer) Advance(n int64) {
	w.off += n
	if w.off-w.started >= WritebackEvery {
		StartWriteback(w.f, w.started, w.off-w.started)
		w.started = w.off
	}
}
