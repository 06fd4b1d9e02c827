package strip

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
)

// Result says what Clean did with one file.
type Result struct {
	// Type is what the file is: "jpeg", "png", "pdf", "docx", "xlsx",
	// "pptx", or, for a type Clean does not know, its media type as
	// sniffed from its first bytes (e.g. "image/gif").
	Type string
	// Removed lists what was taken out, as [Removals] keys, in their
	// order.
	Removed []string
	// Reason is empty when the file was cleaned; otherwise it is one of
	// the [Reasons] keys and the file passed unchanged (for "damaged",
	// from the point the damage was found).
	Reason string
}

// Cleaned reports whether the file was cleaned.
func (r Result) Cleaned() bool { return r.Reason == "" }

// Removals are the keys [Result.Removed] may hold, in a stable order.
var Removals = []string{
	"gps", "camera", "owner", "author", "software", "dates", "title", "exif",
	"xmp", "iptc", "comment", "text", "icc", "thumbnail", "trailer", "comment_authors",
	"revisions", "custom", "other",
}

// Reasons are the keys [Result.Reason] may hold. "declined" is never set
// by Clean: it is for a caller that did not clean because the reporter
// said so.
var Reasons = []string{"unknown", "damaged", "too_large", "unsupported", "encrypted", "declined"}

func (r *Result) remove(key string) {
	for _, k := range r.Removed {
		if k == key {
			return
		}
	}
	r.Removed = append(r.Removed, key)
}

// Cleaner cleans files. Its zero value cleans JPEG and PNG, and passes PDF
// and OOXML unchanged ("unsupported"), having no place to spool them.
type Cleaner struct {
	// SpoolDir is a directory on the file system of the data directory
	// where PDF and OOXML files are spooled, sealed, to a file that never
	// has a name (O_TMPFILE). Empty: they are not cleaned.
	SpoolDir string
	// MaxInflate bounds the uncompressed size of all entries of an OOXML
	// file together, and of the PDF streams Clean must decompress; 0
	// takes [DefaultMaxInflate]. A file over it passes unchanged
	// ("too_large").
	MaxInflate int64
	// MaxHeader bounds the metadata held in memory before a JPEG's or
	// PNG's image data; 0 takes [DefaultMaxHeader].
	MaxHeader int
	// Room, when set, is asked before a file is spooled and after every
	// [SpoolCheck] bytes of it: an error stops the spool, which leaves
	// nothing, and Clean returns it (the vault's free-space floor).
	Room func() error
}

// SpoolCheck is how many bytes a spool writes between two questions to
// [Cleaner.Room].
const SpoolCheck = 4 << 20

// Defaults.
const (
	DefaultMaxInflate = 1 << 30
	DefaultMaxHeader  = 8 << 20
	maxEntries        = 10000 // OOXML parts
	sniffLen          = 512
)

func (c *Cleaner) maxInflate() int64 {
	if c.MaxInflate > 0 {
		return c.MaxInflate
	}
	return DefaultMaxInflate
}

func (c *Cleaner) maxHeader() int {
	if c.MaxHeader > 0 {
		return c.MaxHeader
	}
	return DefaultMaxHeader
}

// errDamaged and errTooLarge end a parse; the file then passes unchanged.
var (
	errDamaged  = errors.New("damaged file")
	errTooLarge = errors.New("over the bound")
)

// reader remembers the first error of the source, so that a failed upload
// is never mistaken for a damaged file.
type reader struct {
	r   io.Reader
	err error
}

func (r *reader) Read(p []byte) (int, error) {
	n, err := r.r.Read(p)
	if err != nil && err != io.EOF && r.err == nil {
		r.err = err
	}
	return n, err
}

// WriteTo passes the source's WriteTo on: a file copied unchanged then
// goes from the upload's buffer to the vault's writer with no copy
// through Clean's buffers (bufio hands a large write straight on).
func (r *reader) WriteTo(w io.Writer) (int64, error) {
	wt, ok := r.r.(io.WriterTo)
	if !ok {
		return io.Copy(w, struct{ io.Reader }{r})
	}
	dst := &writer{w: w}
	n, err := wt.WriteTo(dst)
	if err != nil && err != io.EOF && dst.err == nil && r.err == nil {
		r.err = err
	}
	return n, err
}

// writer remembers the first error of the destination.
type writer struct {
	w   io.Writer
	err error
}

func (w *writer) Write(p []byte) (int, error) {
	if w.err != nil {
		return 0, w.err
	}
	n, err := w.w.Write(p)
	if err != nil {
		w.err = err
	}
	return n, err
}

// readers and writers are Clean's 64 KiB buffers, kept between files:
// every attachment passes through them, cleaned or not.
var (
	readers = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, 64<<10) }}
	writers = sync.Pool{New: func() any { return bufio.NewWriterSize(nil, 64<<10) }}
)

// Clean copies src to dst, leaving out the hidden details of the types it
// knows. It returns an error only when reading src, writing dst or the
// spool fails; a file it cannot clean is copied unchanged and the Result
// says why.
func (c *Cleaner) Clean(dst io.Writer, src io.Reader) (Result, error) {
	sr := &reader{r: src}
	dw := &writer{w: dst}
	br := readers.Get().(*bufio.Reader)
	bw := writers.Get().(*bufio.Writer)
	br.Reset(sr)
	bw.Reset(dw)
	defer func() {
		br.Reset(nil) // keep neither the upload nor the vault's writer alive
		bw.Reset(nil)
		readers.Put(br)
		writers.Put(bw)
	}()
	res, err := c.clean(bw, br)
	slices.SortFunc(res.Removed, func(a, b string) int {
		return slices.Index(Removals, a) - slices.Index(Removals, b)
	})
	if sr.err != nil {
		return res, sr.err
	}
	if dw.err != nil {
		return res, dw.err
	}
	if err != nil {
		return res, err
	}
	if err := bw.Flush(); err != nil {
		return res, err
	}
	return res, nil
}

func (c *Cleaner) clean(w *bufio.Writer, r *bufio.Reader) (Result, error) {
	head, _ := r.Peek(sniffLen)
	var res Result
	var err error
	switch {
	case bytes.HasPrefix(head, []byte{0xff, 0xd8, 0xff}):
		res.Type = "jpeg"
		err = c.cleanJPEG(w, r, &res)
	case bytes.HasPrefix(head, pngMagic):
		res.Type = "png"
		err = c.cleanPNG(w, r, &res)
	case bytes.HasPrefix(head, []byte("%PDF-")):
		res.Type = "pdf"
		err = c.spooled(w, r, &res, c.cleanPDF)
	case bytes.HasPrefix(head, []byte("PK\x03\x04")):
		res.Type = "zip"
		err = c.spooled(w, r, &res, c.cleanOOXML)
	default:
		res.Type = sniff(head)
		res.Reason = "unknown"
		_, err = io.Copy(w, r)
	}
	return res, err
}

// sniff names a type Clean does not clean, by its media type and without
// parameters.
func sniff(head []byte) string {
	if len(head) == 0 {
		return "empty"
	}
	t := http.DetectContentType(head)
	t, _, _ = strings.Cut(t, ";")
	return t
}

// passRest writes what was held back and the rest of r unchanged.
func passRest(w io.Writer, held []byte, r io.Reader) error {
	if _, err := w.Write(held); err != nil {
		return err
	}
	_, err := io.Copy(w, r)
	return err
}
