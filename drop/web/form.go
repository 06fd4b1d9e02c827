package web

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"mime"
	"net/http"
	"net/textproto"
	"path/filepath"
	"strings"
	"sync"
)

// A Form reads a multipart/form-data request body (RFC 7578) part by
// part, as it arrives, in place of mime/multipart for the upload forms.
//
// mime/multipart looks for the boundary 4 KiB at a time and copies every
// byte twice on the way (into its own buffer, then out of it). A Form
// reads the connection into one buffer, looks for the boundary across all
// it holds, and hands a part's bytes to a writer straight from that
// buffer ([FormPart.WriteTo]): a gigabyte costs a thousand reads of a
// megabyte, one search and one copy.
//
// A Form reads what browsers send and no more: the body begins with the
// first boundary, lines end in CRLF, a part's header is at most
// [MaxPartHeader] bytes, and a part may not be transfer-encoded. A body
// outside those is refused with [ErrBadForm]. Every form a Form reads to
// its end, mime/multipart reads into the same parts (FuzzFormMatches).
//
// The buffer starts at 16 KiB and grows to [UploadReadSize] once one part
// has brought more than 256 KiB, so that a form of small fields, or one
// refused at its first part over a bound, costs little.
type Form struct {
	body  io.Reader
	delim []byte // "\r\n--" + boundary

	bp       *[]byte // the pooled buffer buf is, small or large
	buf      []byte
	r, w     int   // unread bytes are buf[r:w]
	err      error // what the last read of body returned, after its bytes
	released bool

	part  *FormPart // the part being read, nil before the first
	n     int       // bytes of part's body known to be at buf[r:]
	end   int       // when > 0: part's body ends at buf[r], before a delimiter of this length
	read  int64     // bytes of part's body read so far
	state int       // formStart, formParts, formDone

	failure error // what NextPart failed with
}

// The states of a Form.
const (
	formStart = iota // before the first boundary
	formParts        // at or in a part
	formDone         // after the final boundary
)

// Limits of a Form.
const (
	// MaxPartHeader bounds the header of one part, in bytes.
	MaxPartHeader = 8 << 10
	// maxBoundaryLine bounds the padding after a boundary.
	maxBoundaryLine = 1 << 10
	// formGrowAfter is how much of one part arrives before the buffer
	// grows to UploadReadSize.
	formGrowAfter = 256 << 10
	formSmall     = 16 << 10
)

// ErrBadForm is the error of a body that is not a multipart form as
// browsers send it.
var ErrBadForm = errors.New("web: malformed multipart form")

var (
	uploadBufs = sync.Pool{New: func() any { b := make([]byte, UploadReadSize); return &b }}
	smallBufs  = sync.Pool{New: func() any { b := make([]byte, formSmall); return &b }}
)

// UploadReadSize is the size of the reads a grown [Form] makes from the
// connection.
const UploadReadSize = 1 << 20

// NewForm starts reading r's body as a multipart/form-data form. It
// returns [http.ErrNotMultipart] when the request does not say it is one,
// and [ErrBadForm] when its boundary is missing or longer than 70 bytes
// (RFC 2046). Call [Form.Release] once done with the form (defer it right
// away); r.Body must not be read by anything else.
func NewForm(r *http.Request) (*Form, error) {
	ct := r.Header.Get("Content-Type")
	if ct == "" || r.Body == nil || r.Body == http.NoBody {
		return nil, http.ErrNotMultipart
	}
	d, params, err := mime.ParseMediaType(ct)
	if err != nil || d != "multipart/form-data" {
		return nil, http.ErrNotMultipart
	}
	b := params["boundary"]
	if b == "" || len(b) > 70 || strings.ContainsAny(b, "\r\n") {
		return nil, ErrBadForm
	}
	f := &Form{body: r.Body, delim: []byte("\r\n--" + b)}
	f.bp = smallBufs.Get().(*[]byte)
	f.buf = *f.bp
	return f, nil
}

// Release gives the form's buffer back, cleared: it held the upload's
// plaintext. It is idempotent; the form and its parts read nothing after
// it.
func (f *Form) Release() {
	if f.released {
		return
	}
	f.released = true
	f.put()
	f.buf, f.r, f.w = nil, 0, 0
}

// grown reports whether the buffer is the large one.
func (f *Form) grown() bool { return len(f.buf) == UploadReadSize }

// put clears the buffer and gives it back to its pool.
func (f *Form) put() {
	clear(*f.bp)
	if f.grown() {
		uploadBufs.Put(f.bp)
	} else {
		smallBufs.Put(f.bp)
	}
	f.bp = nil
}

// grow moves the unread bytes to a buffer of UploadReadSize.
func (f *Form) grow() {
	bp := uploadBufs.Get().(*[]byte)
	big := *bp
	k := copy(big, f.buf[f.r:f.w])
	f.put()
	f.bp, f.buf = bp, big
	f.r, f.w = 0, k
}

// fill reads more of the body after the unread bytes, moving them to the
// buffer's start first. It returns false when nothing more can come: the
// body ended or failed (f.err), or the buffer is full.
func (f *Form) fill() bool {
	if f.err != nil {
		return false
	}
	if f.r > 0 {
		f.w = copy(f.buf, f.buf[f.r:f.w])
		f.r = 0
	}
	if f.w == len(f.buf) {
		return false
	}
	for range 100 {
		n, err := f.body.Read(f.buf[f.w:])
		f.w += n
		if err != nil {
			f.err = err
		}
		if n > 0 || err != nil {
			return n > 0
		}
	}
	f.err = io.ErrNoProgress
	return false
}

// need makes at least k bytes unread, reading as needed; false when the
// body ends (or fails) first.
func (f *Form) need(k int) bool {
	for f.w-f.r < k {
		if !f.fill() {
			return false
		}
	}
	return true
}

// failed is the error of a form cut short: the body's own error, or
// io.ErrUnexpectedEOF when it simply ended.
func (f *Form) failed() error {
	switch {
	case f.err == nil || f.err == io.EOF:
		return io.ErrUnexpectedEOF
	default:
		return f.err
	}
}

// NextPart skips what is left of the part being read and returns the
// next one, or io.EOF after the final boundary. Once it has failed, it
// fails the same way again.
func (f *Form) NextPart() (*FormPart, error) {
	if f.failure != nil {
		return nil, f.failure
	}
	p, err := f.next()
	if err != nil && err != io.EOF {
		f.failure = err
	}
	return p, err
}

func (f *Form) next() (*FormPart, error) {
	switch {
	case f.released:
		return nil, io.ErrClosedPipe
	case f.state == formDone:
		return nil, io.EOF
	case f.state == formStart:
		dash := f.delim[2:]
		if !f.need(len(dash)) {
			if f.w > f.r {
				return nil, ErrBadForm
			}
			return nil, f.failed()
		}
		if !bytes.HasPrefix(f.buf[f.r:f.w], dash) {
			return nil, ErrBadForm // a preamble, or another boundary
		}
		f.r += len(dash)
		f.state = formParts
	default:
		for {
			n, err := f.avail()
			if err == io.EOF {
				break
			}
			if err != nil {
				return nil, err
			}
			f.consume(n)
		}
		f.r += f.end
	}
	f.part, f.n, f.end, f.read = nil, 0, 0, 0

	// After a boundary: "--" for the last, or a line break, either after
	// optional spaces and tabs.
	last := false
	if f.need(2) && string(f.buf[f.r:f.r+2]) == "--" {
		last = true
		f.r += 2
	}
	for pad := 0; ; {
		for f.r < f.w && (f.buf[f.r] == ' ' || f.buf[f.r] == '\t') {
			f.r++
			pad++
		}
		if pad > maxBoundaryLine {
			return nil, ErrBadForm
		}
		if f.r < f.w || !f.fill() {
			break
		}
	}
	switch {
	case last && f.r == f.w && f.err == io.EOF:
		f.state = formDone
		return nil, io.EOF
	case !f.need(2):
		if f.w > f.r {
			return nil, ErrBadForm
		}
		return nil, f.failed()
	case string(f.buf[f.r:f.r+2]) != "\r\n":
		return nil, ErrBadForm
	case last:
		f.state = formDone // what follows is an epilogue, never read
		return nil, io.EOF
	}
	f.r += 2

	// The part's header: lines up to an empty one.
	var block []byte
	for {
		if f.w-f.r >= 2 && string(f.buf[f.r:f.r+2]) == "\r\n" {
			f.r += 2
			break
		}
		if i := bytes.Index(f.buf[f.r:f.w], []byte("\r\n\r\n")); i >= 0 {
			if i+4 > MaxPartHeader {
				return nil, ErrBadForm
			}
			block = f.buf[f.r : f.r+i+4]
			f.r += i + 4
			break
		}
		if f.w-f.r > MaxPartHeader {
			return nil, ErrBadForm
		}
		if !f.fill() {
			if f.err != nil {
				return nil, f.failed()
			}
			return nil, ErrBadForm
		}
	}
	p := &FormPart{f: f}
	h := textproto.MIMEHeader{}
	if block != nil {
		if bytes.Count(block, []byte("\n")) != bytes.Count(block, []byte("\r\n")) {
			return nil, ErrBadForm
		}
		var err error
		if h, err = textproto.NewReader(bufio.NewReader(bytes.NewReader(block))).ReadMIMEHeader(); err != nil {
			return nil, ErrBadForm
		}
	}
	switch strings.ToLower(strings.TrimSpace(h.Get("Content-Transfer-Encoding"))) {
	case "", "binary", "8bit", "7bit":
	default:
		return nil, ErrBadForm
	}
	disp, params, err := mime.ParseMediaType(h.Get("Content-Disposition"))
	if err == nil && disp == "form-data" {
		p.name = params["name"]
	}
	if fn := params["filename"]; fn != "" {
		p.filename = filepath.Base(fn)
	}
	f.part = p
	return p, nil
}

// avail returns how many bytes of the current part's body are at buf[r:],
// reading more of the body when none is known yet; 0 and io.EOF once the
// part has ended at a boundary.
func (f *Form) avail() (int, error) {
	for {
		if f.n > 0 {
			return f.n, nil
		}
		if f.end > 0 {
			return 0, io.EOF
		}
		f.scan()
		if f.n > 0 || f.end > 0 {
			continue
		}
		if !f.fill() {
			// Nothing more will come (the buffer, far larger than a
			// boundary, is never full here): what was held back is
			// the part's, or the form was cut.
			f.scan()
			if f.n > 0 || f.end > 0 {
				continue
			}
			return 0, f.failed()
		}
	}
}

// scan sets f.n to how many unread bytes surely belong to the part, and
// f.end when a boundary follows them, the way mime/multipart decides:
// "\r\n--boundary" ends the part when followed by a space, a tab, CR, LF
// or "--" (or by nothing, once the body has ended); at a part's very
// start, "--boundary" alone does too. Bytes that may be the start of a
// boundary not yet read are held back.
func (f *Form) scan() {
	data := f.buf[f.r:f.w]
	eof := f.err != nil
	decides := func(rest []byte) (ends, known bool) {
		switch {
		case len(rest) == 0:
			return eof, eof
		case rest[0] == ' ' || rest[0] == '\t' || rest[0] == '\r' || rest[0] == '\n':
			return true, true
		case rest[0] != '-':
			return false, true
		case len(rest) == 1:
			return false, eof
		default:
			return rest[1] == '-', true
		}
	}
	if f.read == 0 {
		dash := f.delim[2:]
		if bytes.HasPrefix(data, dash) {
			ends, known := decides(data[len(dash):])
			if !known {
				return
			}
			if ends {
				f.end = len(dash)
				return
			}
		} else if !eof && bytes.HasPrefix(dash, data) {
			return
		}
	}
	for from := 0; ; {
		i := bytes.Index(data[from:], f.delim)
		if i < 0 {
			break
		}
		i += from
		ends, known := decides(data[i+len(f.delim):])
		switch {
		case !known:
			f.n = i
			return
		case ends:
			f.n = i
			if i == 0 {
				f.end = len(f.delim)
			}
			return
		}
		from = i + 1
	}
	f.n = len(data)
	if eof {
		return
	}
	for j := max(0, len(data)-len(f.delim)+1); j < len(data); j++ {
		if data[j] == '\r' && bytes.HasPrefix(f.delim, data[j:]) {
			f.n = j
			return
		}
	}
}

// consume marks k bytes of the part's body read.
func (f *Form) consume(k int) {
	f.r += k
	f.n -= k
	before := f.read
	f.read += int64(k)
	if !f.grown() && before <= formGrowAfter && f.read > formGrowAfter {
		f.grow()
	}
}

// A FormPart is one field or file of a [Form]. It reads nothing once the
// form has moved to the next part.
type FormPart struct {
	f        *Form
	name     string
	filename string
}

// FormName is the part's field name, or "" when its disposition is not
// form-data, as in mime/multipart.
func (p *FormPart) FormName() string { return p.name }

// FileName is the base name of the part's file name, as in
// mime/multipart.
func (p *FormPart) FileName() string { return p.filename }

func (p *FormPart) Read(b []byte) (int, error) {
	f := p.f
	if f.part != p || f.released {
		return 0, io.EOF
	}
	if len(b) == 0 {
		return 0, nil
	}
	n, err := f.avail()
	if n == 0 {
		return 0, err
	}
	k := copy(b, f.buf[f.r:f.r+n])
	f.consume(k)
	return k, nil
}

// WriteTo writes the rest of the part's body to w from the form's buffer,
// without a copy of its own.
func (p *FormPart) WriteTo(w io.Writer) (int64, error) {
	f := p.f
	var total int64
	for f.part == p && !f.released {
		n, err := f.avail()
		if err == io.EOF {
			break
		}
		if err != nil {
			return total, err
		}
		k, err := w.Write(f.buf[f.r : f.r+n])
		f.consume(k)
		total += int64(k)
		if err != nil {
			return total, err
		}
		if k < n {
			return total, io.ErrShortWrite
		}
	}
	return total, nil
}
