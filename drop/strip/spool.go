package strip

import (
	"bufio"
	"errors"
	"fmt"
	"io"

	"filippo.io/age"
)

// errNoSpool: the file system offers no unnamed file; the file passes
// unchanged.
var errNoSpool = errors.New("no unnamed spool file")

// spooled copies r into a sealed spool, reads it back, and has clean write
// the cleaned file. clean must not write to w unless it will succeed
// (it checks the whole file first): when it returns an error of its own,
// the file passes unchanged from the spool.
func (c *Cleaner) spooled(w *bufio.Writer, r *bufio.Reader, res *Result, clean func(io.Writer, io.ReaderAt, int64, *Result) error) error {
	if c.SpoolDir == "" {
		res.Reason = "unsupported"
		_, err := io.Copy(w, r)
		return err
	}
	if c.Room != nil {
		if err := c.Room(); err != nil {
			return fmt.Errorf("spool: %w", err)
		}
	}
	f, err := openUnnamed(c.SpoolDir)
	if errors.Is(err, errNoSpool) {
		res.Reason = "unsupported"
		_, err := io.Copy(w, r)
		return err
	}
	if err != nil {
		return fmt.Errorf("spool: %w", err)
	}
	defer f.Close()
	id, err := age.GenerateX25519Identity()
	if err != nil {
		return fmt.Errorf("spool key: %w", err)
	}
	var out io.Writer = f
	if c.Room != nil {
		out = &roomWriter{w: f, room: c.Room}
	}
	fw := bufio.NewWriterSize(out, 64<<10)
	sw, err := age.Encrypt(fw, id.Recipient())
	if err != nil {
		return fmt.Errorf("spool: %w", err)
	}
	if _, err := io.Copy(sw, r); err != nil {
		return err
	}
	if err := sw.Close(); err != nil {
		return fmt.Errorf("spool: %w", err)
	}
	if err := fw.Flush(); err != nil {
		return fmt.Errorf("spool: %w", err)
	}
	size, err := f.Seek(0, io.SeekCurrent)
	if err != nil {
		return fmt.Errorf("spool: %w", err)
	}
	ra, n, err := age.DecryptReaderAt(f, size, id)
	if err != nil {
		return fmt.Errorf("spool: %w", err)
	}
	return cleanAt(w, ra, n, res, clean)
}

// cleanAt runs clean over a file read at random; when clean finds the
// file damaged, over a bound or of no known type, the file is copied
// unchanged and res says why.
func cleanAt(w io.Writer, ra io.ReaderAt, n int64, res *Result, clean func(io.Writer, io.ReaderAt, int64, *Result) error) error {
	// A check failing is the file's fault; reading the spool failing is
	// ours (age authenticates every chunk).
	src := &spoolReader{r: ra, size: n}
	err := clean(w, src, n, res)
	if src.err != nil {
		return fmt.Errorf("spool: %w", src.err)
	}
	if err == nil {
		return nil
	}
	var reason string
	switch {
	case errors.Is(err, errTooLarge):
		reason = "too_large"
	case errors.Is(err, errEncrypted):
		reason = "encrypted"
	case errors.Is(err, errNotOOXML):
		reason = "unknown"
	case errors.Is(err, errDamaged), errors.Is(err, errOutside), errors.Is(err, errShort):
		reason = "damaged"
	default:
		return err
	}
	res.Reason, res.Removed = reason, nil
	_, err = io.Copy(w, io.NewSectionReader(src, 0, n))
	if src.err != nil {
		return fmt.Errorf("spool: %w", src.err)
	}
	return err
}

type spoolReader struct {
	r    io.ReaderAt
	size int64
	err  error
}

// errOutside: a parser asked for bytes outside the file (its offsets came
// from the file, so this is the file's fault).
var errOutside = errors.New("read outside the file")

func (s *spoolReader) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 || off > s.size {
		return 0, errOutside
	}
	if off == s.size && len(p) > 0 {
		return 0, io.EOF
	}
	n, err := s.r.ReadAt(p, off)
	if err != nil && err != io.EOF && err != errOutside && s.err == nil {
		s.err = err
	}
	return n, err
}

// roomWriter asks room again after every SpoolCheck bytes written.
type roomWriter struct {
	w     io.Writer
	room  func() error
	since int
}

func (r *roomWriter) Write(p []byte) (int, error) {
	if r.since >= SpoolCheck {
		r.since = 0
		if err := r.room(); err != nil {
			return 0, err
		}
	}
	n, err := r.w.Write(p)
	r.since += n
	return n, err
}
