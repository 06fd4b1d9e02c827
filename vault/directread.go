package vault

import (
	"errors"
	"io"
	"os"
	"syscall"
)

// A large item is written to its pack past the page cache (spill.append),
// and the export reads it back the same way: a gigabyte read from the
// disk into page-cache pages nobody had used lately cost a third of
// the export's speed on the development machine, where every such page
// is a fault in the host (docs/benchmarks.md, run H), while direct reads
// land in the export's own buffers, used again and again.

// directReader reads one extent of a pack: whole blocks, from a block
// boundary, by direct I/O straight into the caller's memory; the extent's
// last partial block, and everything after direct I/O refused a read
// (memory off a block boundary), through the page cache. What it returns
// is the extent's bytes either way.
type directReader struct {
	direct  *os.File // nil once direct I/O refused
	f       *os.File
	at, end int64
}

// readPast returns a directReader of rc, an item of size bytes as
// OpenItem opened it, when the item is large, lies in a pack from a block
// boundary and the pack can be read by direct I/O; nil otherwise, and rc
// is read as it is. Close the reader before rc.
func readPast(rc io.Reader, size int64) *directReader {
	e, ok := rc.(extent)
	if !ok || size < pipeBufSize {
		return nil
	}
	f, ok := e.Closer.(*os.File)
	if !ok {
		return nil
	}
	_, off, _ := e.SectionReader.Outer()
	if off%directAlign != 0 {
		return nil
	}
	d := openDirect(f.Name(), os.O_RDONLY)
	if d == nil {
		return nil
	}
	return &directReader{direct: d, f: f, at: off, end: off + size}
}

func (r *directReader) Read(p []byte) (int, error) {
	if r.at >= r.end {
		return 0, io.EOF
	}
	p = p[:min(int64(len(p)), r.end-r.at)]
	if blocks := len(p) &^ (directAlign - 1); r.direct != nil && r.at%directAlign == 0 && blocks > 0 {
		n, err := r.direct.ReadAt(p[:blocks], r.at)
		r.at += int64(n)
		switch {
		case n > 0:
			return n, nil // a short read's cause shows at the next
		case errors.Is(err, syscall.EINVAL):
			r.direct.Close() // refused, not failed: the page cache takes it
			r.direct = nil
		case err == io.EOF:
			return 0, io.ErrUnexpectedEOF // the pack is shorter than the record
		default:
			return 0, err
		}
	}
	n, err := r.f.ReadAt(p, r.at)
	r.at += int64(n)
	if n > 0 {
		return n, nil
	}
	if err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	return 0, err
}

// Close closes the direct file, if any; the item's own stays open.
func (r *directReader) Close() error {
	if r.direct == nil {
		return nil
	}
	err := r.direct.Close()
	r.direct = nil
	return err
}
