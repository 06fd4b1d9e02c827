package strip

import (
	"archive/zip"
	"bytes"
	"compress/zlib"
	"crypto/sha256"
	"encoding/xml"
	"errors"
	"fmt"
	"image"
	_ "image/jpeg"
	_ "image/png"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"

	"cleandrop/drop/strip/striptest"
)

func clean(t testing.TB, c *Cleaner, in []byte) ([]byte, Result) {
	t.Helper()
	var out bytes.Buffer
	res, err := c.Clean(&out, bytes.NewReader(in))
	if err != nil {
		t.Fatalf("Clean: %v", err)
	}
	return out.Bytes(), res
}

func cleaner(t testing.TB) *Cleaner { return &Cleaner{SpoolDir: t.TempDir()} }

// plain returns every byte a reader of the file could get at: the file,
// and for a zip every entry (recursively), for a PDF every inflated
// stream.
func plain(t testing.TB, b []byte) []byte {
	t.Helper()
	out := slices.Clone(b)
	if zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b))); err == nil {
		for _, f := range zr.File {
			rc, err := f.Open()
			if err != nil {
				t.Fatalf("open %s: %v", f.Name, err)
			}
			e, err := io.ReadAll(rc)
			if err != nil {
				t.Fatalf("read %s: %v", f.Name, err)
			}
			out = append(out, plain(t, e)...)
		}
	}
	for _, m := range regexp.MustCompile(`(?s)stream\r?\n(.*?)endstream`).FindAllSubmatch(b, -1) {
		if zr, err := zlib.NewReader(bytes.NewReader(m[1])); err == nil {
			d, _ := io.ReadAll(zr)
			out = append(out, d...)
		}
	}
	return out
}

func TestCleanRemovesSecrets(t *testing.T) {
	for _, tc := range []struct {
		name, typ string
		in        []byte
		removed   []string
	}{
		{"jpeg", "jpeg", striptest.JPEG(), []string{"gps", "camera", "owner", "author", "software", "xmp", "iptc", "comment"}},
		{"png", "png", striptest.PNG(), []string{"text", "exif", "dates", "gps", "camera", "owner"}},
		{"pdf", "pdf", striptest.PDF(), []string{"author", "software", "title", "dates", "xmp"}},
		{"pdf object streams", "pdf", striptest.PDFObjectStreams(), []string{"author", "software", "title", "dates", "xmp"}},
		{"pdf updated", "pdf", striptest.PDFIncremental(), []string{"author", "software", "title", "dates", "xmp"}},
		{"docx", "docx", striptest.DOCX(), []string{"author", "title", "dates", "software", "custom", "comment_authors", "revisions", "gps"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, s := range striptest.Secrets[:1] {
				if !bytes.Contains(plain(t, tc.in), []byte(s)) {
					t.Fatalf("the test file lacks %q", s)
				}
			}
			out, res := clean(t, cleaner(t), tc.in)
			if !res.Cleaned() || res.Type != tc.typ {
				t.Fatalf("result %+v, want a cleaned %s", res, tc.typ)
			}
			for _, k := range tc.removed {
				if !slices.Contains(res.Removed, k) {
					t.Errorf("Removed %v lacks %q", res.Removed, k)
				}
			}
			for _, k := range res.Removed {
				if !slices.Contains(Removals, k) {
					t.Errorf("Removed holds %q, not one of Removals", k)
				}
			}
			p := plain(t, out)
			for _, s := range striptest.Secrets {
				if bytes.Contains(p, []byte(s)) {
					t.Errorf("cleaned file still holds %q", s)
				}
			}
			if bytes.Contains(p, []byte("rsid")) {
				t.Error("cleaned file still holds revision ids")
			}
			opens(t, tc.typ, out)
		})
	}
}

// opens checks that a cleaned file still reads as its type.
func opens(t *testing.T, typ string, b []byte) {
	t.Helper()
	switch typ {
	case "jpeg", "png":
		m, format, err := image.Decode(bytes.NewReader(b))
		if err != nil || format != typ || m.Bounds().Dx() != 32 {
			t.Fatalf("decode: %v %s", err, format)
		}
	case "docx":
		zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
		if err != nil {
			t.Fatal(err)
		}
		names := map[string]bool{}
		for _, f := range zr.File {
			names[f.Name] = true
			if !f.Modified.IsZero() && f.Modified.Year() != 1980 {
				t.Errorf("%s: time %v", f.Name, f.Modified)
			}
			if !strings.HasSuffix(f.Name, ".xml") && !strings.HasSuffix(f.Name, ".rels") {
				continue
			}
			rc, _ := f.Open()
			d := xml.NewDecoder(rc)
			for {
				_, err := d.Token()
				if err == io.EOF {
					break
				}
				if err != nil {
					t.Fatalf("%s: %v", f.Name, err)
				}
			}
			rc.Close()
		}
		if names["docProps/custom.xml"] {
			t.Error("custom.xml kept")
		}
		for _, f := range zr.File {
			if f.Name == "_rels/.rels" || f.Name == "[Content_Types].xml" {
				rc, _ := f.Open()
				x, _ := io.ReadAll(rc)
				if bytes.Contains(x, []byte("custom.xml")) {
					t.Errorf("%s still names custom.xml", f.Name)
				}
			}
		}
		// prefixes are kept as they were: Word refuses renamed ones
		doc := readEntry(t, zr, "word/document.xml")
		if !bytes.Contains(doc, []byte(`<w:document xmlns:w="`)) || !bytes.Contains(doc, []byte(`<w:t xml:space="preserve">The budget was moved &amp; hidden.</w:t>`)) {
			t.Errorf("document.xml rewritten beyond its metadata:\n%s", doc)
		}
	case "pdf":
		if _, err := exec.LookPath("pdfinfo"); err == nil {
			f := filepath.Join(t.TempDir(), "x.pdf")
			os.WriteFile(f, b, 0o600)
			out, err := exec.Command("pdfinfo", f).CombinedOutput()
			if err != nil || !bytes.Contains(out, []byte("Pages:           1")) || bytes.Contains(out, []byte("Syntax")) {
				t.Fatalf("pdfinfo: %v\n%s", err, out)
			}
		}
		// cleaned again, nothing is left to take but the emptied XMP
		_, res := clean(t, cleaner(t), b)
		if !res.Cleaned() || slices.ContainsFunc(res.Removed, func(k string) bool { return k != "xmp" }) {
			t.Errorf("second pass: %+v", res)
		}
	}
}

func readEntry(t *testing.T, zr *zip.Reader, name string) []byte {
	t.Helper()
	rc, err := zr.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	b, _ := io.ReadAll(rc)
	return b
}

func TestCleanIsIdempotentOnImages(t *testing.T) {
	for _, in := range [][]byte{striptest.JPEG(), striptest.PNG()} {
		once, _ := clean(t, cleaner(t), in)
		twice, res := clean(t, cleaner(t), once)
		if !bytes.Equal(once, twice) || len(res.Removed) != 0 || !res.Cleaned() {
			t.Errorf("%s: a second pass changed it: %+v", res.Type, res)
		}
	}
}

func TestUnknownPassesUnchanged(t *testing.T) {
	for _, tc := range []struct {
		name, typ string
		in        []byte
	}{
		{"gif", "image/gif", []byte("GIF89a\x01\x00\x01\x00\x00\x00\x00;")},
		{"text", "text/plain", []byte("just words, Jane Reporter")},
		{"empty", "empty", nil},
		{"zip", "application/zip", striptest.Zip(map[string]string{"a.txt": "Jane Reporter"}, nil)},
		{"zip without office parts", "zip", striptest.Zip(map[string]string{"[Content_Types].xml": "<Types/>"}, nil)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, res := clean(t, cleaner(t), tc.in)
			if !bytes.Equal(out, tc.in) || res.Reason != "unknown" || res.Cleaned() {
				t.Fatalf("result %+v; unchanged %v", res, bytes.Equal(out, tc.in))
			}
			if res.Type != tc.typ && !(tc.typ == "application/zip" && res.Type == "zip") {
				t.Errorf("type %q, want %q", res.Type, tc.typ)
			}
		})
	}
}

func damagedZip() []byte {
	b := striptest.DOCX()
	i := bytes.Index(b, []byte("budget")) // inside a stored? no: find a stored entry's data
	if i < 0 {
		// document.xml is deflated; corrupt the stored photo instead
		i = bytes.Index(b, []byte("JFIF")) + 40
	}
	b = slices.Clone(b)
	b[i] ^= 0xff
	return b
}

func TestDamagedPassesUnchanged(t *testing.T) {
	jpg, png, pdf := striptest.JPEG(), striptest.PNG(), striptest.PDF()
	for _, tc := range []struct {
		name string
		in   []byte
	}{
		{"jpeg cut in its head", jpg[:300]},
		{"jpeg with a bad segment", append(slices.Clone(jpg[:2]), 0x00, 0x11, 0x22)},
		{"png cut in its head", png[:60]},
		{"png with a bad chunk type", append(slices.Clone(png[:33]), "\x00\x00\x00\x01t3Xt\x00\x00\x00\x00\x00"...)},
		{"pdf without startxref", pdf[:len(pdf)-40]},
		{"pdf with a bad offset", regexp.MustCompile(`\d{10} 00000 n`).ReplaceAllLiteral(pdf, []byte("0000000003 00000 n"))},
		{"pdf encrypted", bytes.Replace(pdf, []byte("/Info 5 0 R"), []byte("/Encrypt 5 0 R"), 1)},
		{"zip with a bad checksum", damagedZip()},
		{"zip cut", striptest.DOCX()[:500]},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, res := clean(t, cleaner(t), tc.in)
			if res.Cleaned() || len(res.Removed) != 0 {
				t.Fatalf("result %+v", res)
			}
			if !bytes.Equal(out, tc.in) {
				t.Fatalf("output differs from the damaged input (%d bytes, %d in)", len(out), len(tc.in))
			}
		})
	}
}

func TestDamagedAfterTheHead(t *testing.T) {
	jpg := striptest.JPEG()
	cut := jpg[:len(jpg)-10] // no end of image
	out, res := clean(t, cleaner(t), cut)
	if res.Reason != "damaged" || bytes.Contains(out, []byte("Jane Reporter")) {
		t.Fatalf("result %+v", res)
	}
	png := striptest.PNG()
	out, res = clean(t, cleaner(t), png[:len(png)-20])
	if res.Reason != "damaged" || bytes.Contains(out, []byte("Jane Reporter")) {
		t.Fatalf("png result %+v", res)
	}
}

func TestZipBombIsBounded(t *testing.T) {
	parts := striptest.DOCXParts()
	parts["word/media/zeros.bin"] = strings.Repeat("\x00", 8<<20) // deflates to a few KiB
	in := striptest.Zip(parts, nil)
	if len(in) > 1<<20 {
		t.Fatalf("bomb of %d bytes", len(in))
	}
	c := &Cleaner{SpoolDir: t.TempDir(), MaxInflate: 4 << 20}
	out, res := clean(t, c, in)
	if res.Reason != "too_large" || !bytes.Equal(out, in) {
		t.Fatalf("result %+v", res)
	}
	c.MaxInflate = 16 << 20
	if _, res := clean(t, c, in); !res.Cleaned() {
		t.Fatalf("within the bound: %+v", res)
	}
}

// A zip of many entries is refused from its end record, before the zip
// reader holds a header per entry.
func TestZipEntriesBounded(t *testing.T) {
	var z bytes.Buffer
	zw := zip.NewWriter(&z)
	for n, p := range striptest.DOCXParts() {
		w, _ := zw.Create(n)
		io.WriteString(w, p)
	}
	for i := range 5 * maxEntries {
		zw.CreateHeader(&zip.FileHeader{Name: fmt.Sprintf("word/e%d.bin", i), Method: zip.Store})
	}
	zw.Close()
	in := z.Bytes()
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	out := sha256.New()
	var res Result
	if err := cleanAt(out, bytes.NewReader(in), int64(len(in)), &res, (&Cleaner{}).cleanOOXML); err != nil {
		t.Fatal(err)
	}
	runtime.ReadMemStats(&after)
	if sum := sha256.Sum256(in); res.Reason != "too_large" || !bytes.Equal(out.Sum(nil), sum[:]) {
		t.Fatalf("result %+v", res)
	}
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > uint64(len(in))/2 {
		t.Errorf("refusing %d entries allocated %d KiB (the file is %d KiB)", 5*maxEntries, alloc>>10, len(in)>>10)
	}
}

func TestNoSpoolPassesUnchanged(t *testing.T) {
	for _, in := range [][]byte{striptest.PDF(), striptest.DOCX()} {
		out, res := clean(t, &Cleaner{}, in)
		if res.Reason != "unsupported" || !bytes.Equal(out, in) {
			t.Fatalf("result %+v", res)
		}
	}
}

var errCut = errors.New("connection cut")

type cutReader struct {
	r io.Reader
	n int
}

func (c *cutReader) Read(p []byte) (int, error) {
	if c.n <= 0 {
		return 0, errCut
	}
	if len(p) > c.n {
		p = p[:c.n]
	}
	n, err := c.r.Read(p)
	c.n -= n
	return n, err
}

// A source that fails is the upload failing, never a damaged file.
func TestSourceErrorIsReturned(t *testing.T) {
	for _, in := range [][]byte{striptest.JPEG(), striptest.PNG(), striptest.PDF(), striptest.DOCX(), bytes.Repeat([]byte("x"), 5000)} {
		for _, at := range []int{10, 400, len(in) - 5} {
			_, err := cleaner(t).Clean(io.Discard, &cutReader{bytes.NewReader(in), at})
			if !errors.Is(err, errCut) {
				t.Errorf("cut at %d: %v", at, err)
			}
		}
	}
}

// The spool has no name: the directory stays empty and keeps its times.
func TestSpoolLeavesNoTrace(t *testing.T) {
	dir := t.TempDir()
	before, _ := os.Stat(dir)
	_, res := clean(t, &Cleaner{SpoolDir: dir}, striptest.DOCX())
	if !res.Cleaned() {
		t.Skipf("no unnamed files here: %+v", res)
	}
	after, _ := os.Stat(dir)
	entries, _ := os.ReadDir(dir)
	if len(entries) != 0 || !after.ModTime().Equal(before.ModTime()) {
		t.Fatalf("spool left %d entries, mtime %v -> %v", len(entries), before.ModTime(), after.ModTime())
	}
}

func TestXMLRewriteKeepsBytes(t *testing.T) {
	in := `<?xml version="1.0"?><!-- a <comment> --><a:r xmlns:a="urn:x" a:rsidR='1' a:author='J "R"' b='x>y'><![CDATA[<w:rsid/>]]>t&amp;t<a:rsids><a:rsid a:val="1"/></a:rsids><a:author>Jane</a:author></a:r>`
	ru := &xmlRules{blankAttrs: personAttrs, dropAttrPrefix: "rsid", dropAttrKey: "revisions", dropElems: map[string]string{"rsids": "revisions"}, blankText: map[string]string{"author": "comment_authors"}}
	var out bytes.Buffer
	var res Result
	if err := rewriteXML(&out, strings.NewReader(in), ru, &res); err != nil {
		t.Fatal(err)
	}
	want := `<?xml version="1.0"?><!-- a <comment> --><a:r xmlns:a="urn:x" a:author="" b="x>y"><![CDATA[<w:rsid/>]]>t&amp;t<a:author></a:author></a:r>`
	if out.String() != want {
		t.Fatalf("got\n%s\nwant\n%s", out.String(), want)
	}
	for _, bad := range []string{`<a><b></a>`, `<!DOCTYPE a [<!ENTITY x "y">]><a/>`, `<a b=c/>`, `<a>`} {
		if err := rewriteXML(io.Discard, strings.NewReader(bad), ru, &res); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

// A huge metadata stream is blanked without holding its size in memory.
func TestPDFBlankingIsStreamed(t *testing.T) {
	const big = 64 << 20
	var b bytes.Buffer
	b.WriteString("%PDF-1.4\n")
	off1 := b.Len()
	b.WriteString("1 0 obj\n<< /Type /Catalog /Pages 2 0 R /Metadata 3 0 R >>\nendobj\n")
	off2 := b.Len()
	b.WriteString("2 0 obj\n<< /Type /Pages /Kids [] /Count 0 >>\nendobj\n")
	off3 := b.Len()
	b.WriteString("3 0 obj\n<< /Type /Metadata /Subtype /XML /Length " + strconv.Itoa(big) + " >>\nstream\n")
	b.Write(bytes.Repeat([]byte("Jane Reporter "), big/14))
	b.Write(make([]byte, big%14))
	b.WriteString("\nendstream\nendobj\n")
	xref := b.Len()
	fmt.Fprintf(&b, "xref\n0 4\n0000000000 65535 f \n%010d 00000 n \n%010d 00000 n \n%010d 00000 n \ntrailer\n<< /Size 4 /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n", off1, off2, off3, xref)
	in := b.Bytes()

	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	var out countWriter
	var res Result
	if err := cleanAt(&out, bytes.NewReader(in), int64(len(in)), &res, (&Cleaner{}).cleanPDF); err != nil || !res.Cleaned() {
		t.Fatalf("%v %+v", err, res)
	}
	runtime.ReadMemStats(&after)
	if out.n != int64(len(in)) {
		t.Fatalf("wrote %d bytes of %d", out.n, len(in))
	}
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > big/4 {
		t.Errorf("cleaning allocated %d MiB for a %d MiB metadata stream", alloc>>20, big>>20)
	}
}

type countWriter struct{ n int64 }

func (c *countWriter) Write(p []byte) (int, error) {
	if bytes.Contains(p, []byte("Jane")) {
		return 0, errors.New("the metadata was written")
	}
	c.n += int64(len(p))
	return len(p), nil
}

// TestSpoolAsksRoom: a spooled file asks Room before it starts and after
// every SpoolCheck bytes; Room's refusal stops the spool and is Clean's
// error, with nothing of the file written on.
func TestSpoolAsksRoom(t *testing.T) {
	errFull := errors.New("below the floor")
	pdf := append([]byte("%PDF-1.4\n"), make([]byte, 3*SpoolCheck+1000)...)
	for _, refuseAt := range []int{1, 3} {
		asked := 0
		c := &Cleaner{SpoolDir: t.TempDir(), Room: func() error {
			asked++
			if asked == refuseAt {
				return errFull
			}
			return nil
		}}
		var out bytes.Buffer
		_, err := c.Clean(&out, bytes.NewReader(pdf))
		if !errors.Is(err, errFull) || out.Len() != 0 {
			t.Errorf("refused at question %d: %v, %d bytes written on", refuseAt, err, out.Len())
		}
		if asked != refuseAt {
			t.Errorf("Room asked %d times, want %d", asked, refuseAt)
		}
	}
	asked := 0
	c := &Cleaner{SpoolDir: t.TempDir(), Room: func() error { asked++; return nil }}
	out, _ := clean(t, c, pdf)
	if len(out) != len(pdf) || asked != 4 {
		t.Errorf("with room: %d of %d bytes, Room asked %d times, want 4", len(out), len(pdf), asked)
	}
}
