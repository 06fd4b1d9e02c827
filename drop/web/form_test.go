package web

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"
)

const testBoundary = "b0undary-Xy"

// chunkyBody returns its bytes in reads of random sizes, at most max, and
// counts them; it ends with end (after its last bytes, in the same read,
// as a connection may).
type chunkyBody struct {
	data  []byte
	rng   *rand.Rand
	max   int
	reads int
	end   error
}

func (c *chunkyBody) Read(p []byte) (int, error) {
	c.reads++
	k := min(len(p), len(c.data), 1+c.rng.IntN(c.max))
	n := copy(p, c.data[:k])
	c.data = c.data[n:]
	if len(c.data) == 0 {
		return n, c.end
	}
	return n, nil
}

func (c *chunkyBody) Close() error { return nil }

func formRequest(body io.Reader, ct string) *http.Request {
	r := httptest.NewRequest(http.MethodPost, "/report", body)
	r.Header.Set("Content-Type", ct)
	return r
}

type formField struct {
	name, file string
	body       []byte
}

// writeForm encodes fields as a browser does (mime/multipart's writer).
func writeForm(t testing.TB, fields []formField) []byte {
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	if err := mw.SetBoundary(testBoundary); err != nil {
		t.Fatal(err)
	}
	for _, f := range fields {
		var w io.Writer
		var err error
		if f.file != "" {
			w, err = mw.CreateFormFile(f.name, f.file)
		} else {
			w, err = mw.CreateFormField(f.name)
		}
		if err != nil {
			t.Fatal(err)
		}
		w.Write(f.body)
	}
	mw.Close()
	return b.Bytes()
}

// readForm reads every part of body, each by reads of random sizes or by
// WriteTo, and returns them.
func readForm(body io.Reader, rng *rand.Rand) ([]formField, error) {
	f, err := NewForm(formRequest(body, "multipart/form-data; boundary="+testBoundary))
	if err != nil {
		return nil, err
	}
	defer f.Release()
	var got []formField
	var buf []byte
	for {
		p, err := f.NextPart()
		if err == io.EOF {
			return got, nil
		}
		if err != nil {
			return got, err
		}
		var b bytes.Buffer
		if rng.IntN(2) == 0 {
			_, err = p.WriteTo(&b)
		} else {
			if buf == nil {
				buf = make([]byte, 3<<20)
			}
			for err == nil {
				var n int
				n, err = p.Read(buf[:[]int{1, 7, 4096, 65536, 3 << 20}[rng.IntN(5)]])
				b.Write(buf[:n])
			}
			if err == io.EOF {
				err = nil
			}
		}
		if err != nil {
			return got, err
		}
		got = append(got, formField{p.FormName(), p.FileName(), b.Bytes()})
	}
}

// A Form reads back, byte for byte, what a browser's encoding of fields
// holds, however the connection splits it and however the parts are
// read: bodies with near-boundaries in them, empty ones, and files large
// enough to grow the buffer.
func TestFormReadsParts(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	random := func(n int) []byte {
		b := make([]byte, n)
		rand.NewChaCha8([32]byte{byte(n)}).Read(b)
		return b
	}
	near := []byte("a\r\n--" + testBoundary[:5] + "\r\n--" + testBoundary + "x\r\n-" + "\r\n--" + testBoundary + "-z\r\n")
	small := []formField{
		{name: "agency", body: []byte("acc")},
		{name: "message", body: []byte("ünïcode and\r\nlines\r\n")},
		{name: "strip", body: nil},
		{name: "file", file: "near.txt", body: near},
		{name: "file", file: "empty.bin"},
		{name: "message", body: []byte("--" + testBoundary + "x")},
	}
	large := append(slices.Clone(small[:4]),
		formField{name: "file", file: `C:\dir\name with spaces.pdf`, body: random(3*UploadReadSize + 12345)},
		formField{name: "file", file: "empty.bin"},
		formField{name: "file", file: "../../etc/passwd", body: append(random(formGrowAfter+1), '\r')},
		small[5])
	for _, max := range []int{1, 3, 4096, 1 << 20, 8 << 20} {
		form := writeForm(t, large)
		if max < 4096 {
			form = writeForm(t, small)
		}
		for round := range 3 {
			body := &chunkyBody{data: form, rng: rng, max: max, end: io.EOF}
			got, err := readForm(body, rng)
			if err != nil {
				t.Fatalf("reads of up to %d bytes, round %d: %v", max, round, err)
			}
			want, _ := readMultipart(form)
			if len(got) != len(want) {
				t.Fatalf("reads of up to %d: %d parts, want %d", max, len(got), len(want))
			}
			for i := range want {
				if got[i].name != want[i].name || got[i].file != want[i].file || !bytes.Equal(got[i].body, want[i].body) {
					t.Fatalf("reads of up to %d: part %d is %q %q (%d bytes), want %q %q (%d bytes)", max, i,
						got[i].name, got[i].file, len(got[i].body), want[i].name, want[i].file, len(want[i].body))
				}
			}
			if max == 8<<20 && body.reads > len(form)/UploadReadSize+80 {
				t.Errorf("%d reads of the connection for %d bytes", body.reads, len(form))
			}
		}
	}
}

// readMultipart reads body with mime/multipart, the reference.
func readMultipart(body []byte) ([]formField, error) {
	mr := multipart.NewReader(bytes.NewReader(body), testBoundary)
	var got []formField
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			return got, nil
		}
		if err != nil {
			return got, err
		}
		b, err := io.ReadAll(p)
		if err != nil {
			return got, err
		}
		got = append(got, formField{p.FormName(), p.FileName(), b})
	}
}

// What a Form refuses: requests that are not forms, and bodies that are
// not what browsers send. The body's own error (a size limit) comes back
// as it is.
func TestFormRefuses(t *testing.T) {
	ok := "--" + testBoundary + "\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nx\r\n--" + testBoundary + "--\r\n"
	if got, err := readForm(strings.NewReader(ok), rand.New(rand.NewPCG(1, 1))); err != nil || len(got) != 1 || string(got[0].body) != "x" {
		t.Fatalf("the well-formed form: %v, %v", got, err)
	}
	for _, c := range []struct{ name, ct string }{
		{"no type", ""},
		{"not a form", "text/plain"},
		{"multipart/mixed", "multipart/mixed; boundary=x"},
		{"no boundary", "multipart/form-data"},
		{"boundary too long", "multipart/form-data; boundary=" + strings.Repeat("b", 71)},
	} {
		if _, err := NewForm(formRequest(strings.NewReader(ok), c.ct)); err == nil {
			t.Errorf("%s: accepted", c.name)
		}
	}
	head := "--" + testBoundary + "\r\n"
	disp := "Content-Disposition: form-data; name=\"a\"\r\n"
	end := "\r\n--" + testBoundary + "--\r\n"
	for _, c := range []struct {
		name, body string
		want       error
	}{
		{"a preamble", "hello\r\n" + ok, ErrBadForm},
		{"LF line ends", strings.ReplaceAll(ok, "\r\n", "\n"), ErrBadForm},
		{"a bare LF in a header", head + "X: y\n" + disp + "\r\nx" + end, ErrBadForm},
		{"quoted-printable", head + disp + "Content-Transfer-Encoding: quoted-printable\r\n\r\nx=41" + end, ErrBadForm},
		{"a header too large", head + disp + "X: " + strings.Repeat("h", MaxPartHeader) + "\r\n\r\nx" + end, ErrBadForm},
		{"padding too long", "--" + testBoundary + strings.Repeat(" ", 2*maxBoundaryLine) + "\r\n" + disp + "\r\nx" + end, ErrBadForm},
		{"garbage after a boundary", head + disp + "\r\nx\r\n--" + testBoundary + " z\r\n", ErrBadForm},
		{"garbage after the last", head + disp + "\r\nx\r\n--" + testBoundary + "-- z", ErrBadForm},
		{"cut in a part", head + disp + "\r\nxyz", io.ErrUnexpectedEOF},
		{"cut in a header", head + disp, io.ErrUnexpectedEOF},
		{"no last boundary", head + disp + "\r\nx\r\n--" + testBoundary, io.ErrUnexpectedEOF},
		{"empty", "", io.ErrUnexpectedEOF},
	} {
		_, err := readForm(strings.NewReader(c.body), rand.New(rand.NewPCG(1, 1)))
		if !errors.Is(err, c.want) {
			t.Errorf("%s: %v, want %v", c.name, err, c.want)
		}
	}
	// The last boundary may end the body without a line break, and what
	// follows one is never read.
	for _, tail := range []string{"--", "--  ", "--\r\nan epilogue"} {
		body := head + disp + "\r\nx\r\n--" + testBoundary + tail
		if got, err := readForm(strings.NewReader(body), rand.New(rand.NewPCG(1, 1))); err != nil || len(got) != 1 {
			t.Errorf("last boundary then %q: %v, %v", tail, got, err)
		}
	}
	// A size limit cuts the body: its error, not a form's.
	form := writeForm(t, []formField{{name: "file", file: "f", body: make([]byte, 3<<20)}})
	w := httptest.NewRecorder()
	r := formRequest(bytes.NewReader(form), "multipart/form-data; boundary="+testBoundary)
	r.Body = http.MaxBytesReader(w, r.Body, 1<<20)
	f, err := NewForm(r)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Release()
	p, err := f.NextPart()
	if err != nil {
		t.Fatal(err)
	}
	_, err = p.WriteTo(io.Discard)
	var tooBig *http.MaxBytesError
	if !errors.As(err, &tooBig) {
		t.Fatalf("over the limit: %v, want the MaxBytesError", err)
	}
	if _, err2 := f.NextPart(); !errors.As(err2, &tooBig) {
		t.Fatalf("the next part after it: %v, want the same error", err2)
	}
}

// Release clears the buffer, which held plaintext, and nothing is read
// after it.
func TestFormRelease(t *testing.T) {
	secret := bytes.Repeat([]byte("secret "), 100000)
	form := writeForm(t, []formField{{name: "file", file: "f", body: secret}, {name: "message", body: []byte("m")}})
	f, err := NewForm(formRequest(bytes.NewReader(form), "multipart/form-data; boundary="+testBoundary))
	if err != nil {
		t.Fatal(err)
	}
	p, err := f.NextPart()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.CopyN(io.Discard, p, int64(len(secret)/2)); err != nil {
		t.Fatal(err)
	}
	if !f.grown() {
		t.Fatalf("the buffer did not grow after %d bytes of one part", len(secret)/2)
	}
	buf := *f.bp
	f.Release()
	f.Release() // idempotent
	if i := bytes.IndexFunc(buf, func(r rune) bool { return r != 0 }); i >= 0 {
		t.Fatalf("byte %d of the released buffer is not cleared", i)
	}
	if n, err := p.Read(make([]byte, 10)); n != 0 || err == nil {
		t.Fatalf("a read after Release: %d, %v", n, err)
	}
	if _, err := f.NextPart(); err == nil {
		t.Fatal("NextPart after Release succeeded")
	}
}

// FuzzFormMatches reads arbitrary bodies with a Form: a body it reads to
// its end, mime/multipart reads into the same parts (names, file names,
// bytes). The other way round, a form encoded as browsers do from fuzzed
// fields, which mime/multipart reads, a Form reads the same.
func FuzzFormMatches(f *testing.F) {
	f.Add([]byte(writeForm(f, []formField{{name: "agency", body: []byte("acc")}, {name: "file", file: "a.txt", body: []byte("x\r\n--b0undary")}})), "n", "f.txt", []byte("--b0undary-Xy"))
	f.Add([]byte("--"+testBoundary+"\r\n\r\n\r\n--"+testBoundary+"--"), "", "", []byte{})
	f.Add([]byte("--"+testBoundary+"  \r\nContent-Disposition: form-data; name=a; filename=\"../x\"\r\n\r\n--"+testBoundary+"\r\n\r\n\r\n--"+testBoundary+"--\r\n"), "a b", `c:\x`, []byte("\r\n--"+testBoundary))
	f.Fuzz(func(t *testing.T, body []byte, name, file string, content []byte) {
		rng := rand.New(rand.NewPCG(uint64(len(body)), 7))
		got, err := readForm(&chunkyBody{data: body, rng: rng, max: 1 + len(body)%5000, end: io.EOF}, rng)
		if err == nil {
			want, werr := readMultipart(body)
			if werr != nil {
				t.Fatalf("read as %d parts; mime/multipart: %v", len(got), werr)
			}
			if fmt.Sprintf("%q", got) != fmt.Sprintf("%q", want) {
				t.Fatalf("read as %q; mime/multipart: %q", got, want)
			}
		}
		// Browsers escape line breaks in names, and choose a boundary
		// that no file holds.
		if strings.ContainsAny(name+file, "\r\n") || bytes.Contains(content, []byte(testBoundary)) {
			return
		}
		fields := []formField{{name: name, file: file, body: content}, {name: "message", body: content}}
		form := writeForm(t, fields)
		want, err := readMultipart(form)
		if err != nil {
			return // a header Go's textproto refuses (a control byte)
		}
		got, err = readForm(&chunkyBody{data: form, rng: rng, max: 1 + len(content)%700, end: io.EOF}, rng)
		if err != nil {
			t.Fatalf("a browser's form: %v", err)
		}
		if fmt.Sprintf("%q", got) != fmt.Sprintf("%q", want) {
			t.Fatalf("read as %q; written %q", got, want)
		}
	})
}

// BenchmarkFormVsMultipart reads one 64 MiB file part from memory with a
// Form (WriteTo) and with mime/multipart (the baseline, read through the
// same 1 MiB reads); reported as MB/s of each and the ratio.
func BenchmarkFormVsMultipart(b *testing.B) {
	data := make([]byte, 64<<20)
	rand.NewChaCha8([32]byte{5}).Read(data)
	form := writeForm(b, []formField{{name: "agency", body: []byte("acc")}, {name: "file", file: "big.bin", body: data}})
	read := func(multi bool) time.Duration {
		start := time.Now()
		body := &chunkyBody{data: form, rng: rand.New(rand.NewPCG(1, 1)), max: UploadReadSize, end: io.EOF}
		if multi {
			mr := multipart.NewReader(body, testBoundary)
			for {
				p, err := mr.NextPart()
				if err == io.EOF {
					break
				}
				if err != nil {
					b.Fatal(err)
				}
				io.Copy(io.Discard, p)
			}
			return time.Since(start)
		}
		f, err := NewForm(formRequest(body, "multipart/form-data; boundary="+testBoundary))
		if err != nil {
			b.Fatal(err)
		}
		defer f.Release()
		for {
			p, err := f.NextPart()
			if err == io.EOF {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
			p.WriteTo(io.Discard)
		}
		return time.Since(start)
	}
	var ours, theirs time.Duration
	for b.Loop() {
		ours += read(false)
		theirs += read(true)
	}
	rate := func(d time.Duration) float64 { return float64(len(form)) * float64(b.N) / d.Seconds() / 1e6 }
	b.ReportMetric(rate(ours), "form-MB/s")
	b.ReportMetric(rate(theirs), "multipart-MB/s")
	b.ReportMetric(rate(ours)/rate(theirs), "ratio-vs-multipart")
}
