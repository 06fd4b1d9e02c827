package web

import (
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"testing"
)

// countingBody counts the reads that reach the connection and ends with
// err (after its last bytes, in the same read, as a connection may).
type countingBody struct {
	r     *bytes.Reader
	reads int
	err   error
}

func (c *countingBody) Read(p []byte) (int, error) {
	c.reads++
	n, _ := c.r.Read(p)
	if c.r.Len() == 0 {
		return n, c.err
	}
	return n, nil
}

func (c *countingBody) Close() error { return nil }

// LargeReads changes nothing of what the body returns, whatever the size
// of the reads, before and after Grow: the same bytes, in order, and the
// connection's error after them; once grown it reads the connection in
// large reads.
func TestLargeReads(t *testing.T) {
	data := make([]byte, 5*UploadReadSize+777)
	rand.NewChaCha8([32]byte{3}).Read(data)
	cut := errors.New("connection cut")
	for _, end := range []error{io.EOF, cut} {
		body := &countingBody{r: bytes.NewReader(data), err: end}
		r := httptest.NewRequest(http.MethodPost, "/report", nil)
		r.Body = body
		body0 := LargeReads(r)
		var got bytes.Buffer
		rng := rand.New(rand.NewPCG(4, 5))
		var err error
		// Before Grow, every read reaches the connection as it is.
		for range 20 {
			p := make([]byte, 4096)
			n, _ := r.Body.Read(p)
			got.Write(p[:n])
		}
		if body.reads != 20 || body0.buf != nil {
			t.Fatalf("before Grow: %d reads of the connection for 20, buffer %d bytes", body.reads, len(body0.buf))
		}
		body0.Grow()
		body0.Grow() // idempotent
		for err == nil {
			sizes := []int{1, 4096, 4096 + 77, UploadReadSize, 2 * UploadReadSize}
			p := make([]byte, sizes[rng.IntN(len(sizes))])
			var n int
			n, err = r.Body.Read(p)
			got.Write(p[:n])
		}
		if err != end {
			t.Errorf("the body ended with %v, want %v", err, end)
		}
		if !bytes.Equal(got.Bytes(), data) {
			t.Fatalf("read %d bytes, not the %d sent in order", got.Len(), len(data))
		}
		if _, err := r.Body.Read(make([]byte, 10)); err != end {
			t.Errorf("a read after the end: %v, want %v again", err, end)
		}
		if body.reads > 20+2*len(data)/UploadReadSize+8 {
			t.Errorf("%d reads of the connection for %d bytes", body.reads, len(data))
		}
		buf := body0.buf
		body0.Release()
		body0.Release() // idempotent
		if !bytes.Equal(buf, make([]byte, len(buf))) {
			t.Error("the buffer was given back with the upload's bytes in it")
		}
		if _, err := r.Body.Read(make([]byte, 10)); err == nil {
			t.Error("a read after release succeeded")
		}
	}
}

// Through mime/multipart, as the upload handlers read a form: a part of a
// megabyte costs a few reads of the connection, not one per 4 KiB.
func TestLargeReadsMultipart(t *testing.T) {
	file := make([]byte, 3*UploadReadSize)
	rand.NewChaCha8([32]byte{6}).Read(file)
	var form bytes.Buffer
	form.WriteString("--XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"f\"\r\n\r\n")
	form.Write(file)
	form.WriteString("\r\n--XyZ--\r\n")
	for _, large := range []bool{false, true} {
		body := &countingBody{r: bytes.NewReader(form.Bytes()), err: io.EOF}
		r := httptest.NewRequest(http.MethodPost, "/report", nil)
		r.Header.Set("Content-Type", "multipart/form-data; boundary=XyZ")
		r.Body = body
		lb := LargeReads(r)
		defer lb.Release()
		mr, err := r.MultipartReader()
		if err != nil {
			t.Fatal(err)
		}
		p, err := mr.NextPart()
		if err != nil {
			t.Fatal(err)
		}
		grow := func() {}
		if large {
			grow = lb.Grow
		}
		got, err := io.ReadAll(GrowAfter(p, 256<<10, grow))
		if err != nil || !bytes.Equal(got, file) {
			t.Fatalf("large %v: part of %d bytes, %v", large, len(got), err)
		}
		t.Logf("large reads %v: %d reads of the connection for %d bytes", large, body.reads, len(file))
		if large && body.reads > 256<<10/4096+10 {
			t.Errorf("%d reads of the connection for %d bytes", body.reads, len(file))
		}
		if !large && body.reads < 100 {
			t.Errorf("without LargeReads only %d reads: the test no longer shows what it is for", body.reads)
		}
	}
}
