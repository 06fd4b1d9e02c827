package strip

import (
	"bytes"
	"io"
	"testing"

	"cleandrop/drop/strip/striptest"
)

// fuzzClean checks what holds for every input: Clean fails only when its
// source or destination does (never here); a file of a spooled type that
// is not cleaned passes unchanged; a cleaned image cleaned again loses
// nothing more.
func fuzzClean(t *testing.T, c *Cleaner, in []byte, spooled bool) {
	var out bytes.Buffer
	res, err := c.Clean(&out, bytes.NewReader(in))
	if err != nil {
		t.Fatalf("Clean: %v", err)
	}
	if res.Reason == "unknown" && !bytes.Equal(out.Bytes(), in) {
		t.Fatal("unknown type changed")
	}
	if spooled && !res.Cleaned() && !bytes.Equal(out.Bytes(), in) {
		t.Fatalf("not cleaned (%s) but changed", res.Reason)
	}
	if !spooled && res.Cleaned() {
		var again bytes.Buffer
		res2, err := c.Clean(&again, bytes.NewReader(out.Bytes()))
		if err != nil || !res2.Cleaned() || len(res2.Removed) != 0 || !bytes.Equal(again.Bytes(), out.Bytes()) {
			t.Fatalf("second pass: %+v %v", res2, err)
		}
	}
}

func FuzzJPEG(f *testing.F) {
	j := striptest.JPEG()
	f.Add(j)
	f.Add(j[:200])
	f.Add([]byte{0xff, 0xd8, 0xff, 0xfe, 0x00, 0x03, 0x41, 0xff, 0xda, 0x00, 0x02, 0x12, 0xff, 0xd9, 0x01})
	f.Fuzz(func(t *testing.T, in []byte) { fuzzClean(t, &Cleaner{MaxHeader: 4 << 10}, in, false) })
}

func FuzzPNG(f *testing.F) {
	p := striptest.PNG()
	f.Add(p)
	f.Add(p[:100])
	f.Fuzz(func(t *testing.T, in []byte) { fuzzClean(t, &Cleaner{MaxHeader: 4 << 10}, in, false) })
}

// fuzzAt runs a random-access cleaner as the spool would, on memory: the
// spool's own sealing is tested apart (and is slow under the fuzzer's
// instrumentation).
func fuzzAt(t *testing.T, in []byte, clean func(io.Writer, io.ReaderAt, int64, *Result) error) {
	var out bytes.Buffer
	var res Result
	if err := cleanAt(&out, bytes.NewReader(in), int64(len(in)), &res, clean); err != nil {
		t.Fatalf("clean: %v", err)
	}
	if !res.Cleaned() && !bytes.Equal(out.Bytes(), in) {
		t.Fatalf("not cleaned (%s) but changed", res.Reason)
	}
}

func FuzzOOXML(f *testing.F) {
	f.Add(striptest.DOCX())
	f.Add(striptest.Zip(map[string]string{"[Content_Types].xml": "<T/>", "word/document.xml": `<w:d w:rsidR="1"><w:rsids/></w:d>`}, nil))
	c := &Cleaner{MaxInflate: 64 << 20}
	f.Fuzz(func(t *testing.T, in []byte) { fuzzAt(t, in, c.cleanOOXML) })
}

func FuzzPDF(f *testing.F) {
	f.Add(striptest.PDF())
	f.Add(striptest.PDFObjectStreams())
	f.Add(striptest.PDFIncremental())
	c := &Cleaner{MaxInflate: 64 << 20}
	f.Fuzz(func(t *testing.T, in []byte) { fuzzAt(t, in, c.cleanPDF) })
}
