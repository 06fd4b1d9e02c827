package vault

import (
	"errors"
	"hash"
	"io"
)

// copyHashed copies src to dst and writes what it copied to h as well.
// Reading, hashing and writing each run in a goroutine of their own, up
// to depth buffers (pipeBufSize each) in flight between them, so that an
// export of a large item keeps both cores busy: a read from the disk by
// direct I/O waits for the device while the last megabyte is hashed and
// the one before it written out. It returns the bytes written and the
// first error of either side; after a write error it reads no further.
func copyHashed(dst io.Writer, src io.Reader, h hash.Hash) (int64, error) {
	const depth = 4
	read := make(chan *[]byte, depth) // never blocks: only depth buffers exist
	full := make(chan *[]byte, depth)
	free := make(chan *[]byte, depth)
	for range depth {
		free <- pipeBufs.Get().(*[]byte)
	}
	defer func() {
		for range depth {
			bp := <-free
			*bp = (*bp)[:0]
			pipeBufs.Put(bp)
		}
	}()
	stop := make(chan struct{})
	var rerr error // the reading side's error; read after full is closed
	go func() {
		defer close(read)
		for {
			var bp *[]byte
			select {
			case bp = <-free:
			case <-stop:
				return
			}
			b := (*bp)[:cap(*bp)]
			n, err := io.ReadFull(src, b)
			*bp = b[:n]
			if n > 0 {
				read <- bp
			} else {
				free <- bp
			}
			switch {
			case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
				return
			case err != nil:
				rerr = err
				return
			}
		}
	}()
	go func() {
		defer close(full)
		for bp := range read {
			h.Write(*bp) // a hash.Hash never fails
			full <- bp
		}
	}()
	var written int64
	var werr error
	for bp := range full {
		if werr == nil {
			n, err := dst.Write(*bp)
			written += int64(n)
			if err == nil && n < len(*bp) {
				err = io.ErrShortWrite
			}
			if err != nil {
				werr = err
				close(stop)
			}
		}
		free <- bp
	}
	if werr != nil {
		return written, werr
	}
	return written, rerr
}
