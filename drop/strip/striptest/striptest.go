// Package striptest builds files full of hidden details, for the tests of
// [cleandrop/drop/strip] and of the server: each carries the same
// identifying values, listed in [Secrets], that no cleaned file may hold.
package striptest

import (
	"archive/zip"
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"maps"
	"slices"
	"strings"
)

// Secrets are the identifying values the files carry in their metadata.
var Secrets = []string{
	"Jane Reporter", "JR-SERIAL-4711", "Secret Writer 9", "Ministry of Examples",
	"Rev. Author Smith", "jane@example.org", "Phantom Camera", "Covert Title",
}

func picture() image.Image {
	m := image.NewRGBA(image.Rect(0, 0, 32, 24))
	for y := 0; y < 24; y++ {
		for x := 0; x < 32; x++ {
			m.Set(x, y, color.RGBA{uint8(x * 8), uint8(y * 10), 128, 255})
		}
	}
	return m
}

type tag struct {
	id, typ uint16
	count   uint32
	data    []byte
}

func ascii(id uint16, s string) tag {
	return tag{id, 2, uint32(len(s) + 1), append([]byte(s), 0)}
}

func rational(id uint16, v ...uint32) tag {
	b := make([]byte, 0, 8*len(v))
	for _, x := range v {
		b = binary.LittleEndian.AppendUint32(b, x)
		b = binary.LittleEndian.AppendUint32(b, 1)
	}
	return tag{id, 5, uint32(len(v)), b}
}

func long(id uint16, v uint32) tag {
	return tag{id, 4, 1, binary.LittleEndian.AppendUint32(nil, v)}
}

// ifd lays out one TIFF directory at start, its long values after it.
func ifd(tags []tag, start uint32) []byte {
	var head, data []byte
	head = binary.LittleEndian.AppendUint16(head, uint16(len(tags)))
	dataOff := start + 2 + 12*uint32(len(tags)) + 4
	for _, t := range tags {
		head = binary.LittleEndian.AppendUint16(head, t.id)
		head = binary.LittleEndian.AppendUint16(head, t.typ)
		head = binary.LittleEndian.AppendUint32(head, t.count)
		if len(t.data) <= 4 {
			v := make([]byte, 4)
			copy(v, t.data)
			head = append(head, v...)
			continue
		}
		head = binary.LittleEndian.AppendUint32(head, dataOff+uint32(len(data)))
		data = append(data, t.data...)
		if len(data)%2 == 1 {
			data = append(data, 0)
		}
	}
	head = binary.LittleEndian.AppendUint32(head, 0)
	return append(head, data...)
}

// Exif is a TIFF block with GPS position, camera make, model and serial,
// the owner's name, the author and the software.
func Exif() []byte {
	gps := []tag{ascii(1, "N"), rational(2, 48, 51, 24), ascii(3, "E"), rational(4, 2, 21, 3)}
	exif := []tag{ascii(0xa430, "Jane Reporter"), ascii(0xa431, "JR-SERIAL-4711")}
	ifd0 := func(exifAt, gpsAt uint32) []tag {
		return []tag{
			ascii(0x010f, "Phantom Camera"), ascii(0x0110, "Model X"), ascii(0x0131, "Secret Writer 9"),
			ascii(0x013b, "Jane Reporter"), long(0x8769, exifAt), long(0x8825, gpsAt),
		}
	}
	n0 := uint32(len(ifd(ifd0(0, 0), 8)))
	exifAt := 8 + n0
	ne := uint32(len(ifd(exif, exifAt)))
	gpsAt := exifAt + ne
	t := []byte("II*\x00\x08\x00\x00\x00")
	t = append(t, ifd(ifd0(exifAt, gpsAt), 8)...)
	t = append(t, ifd(exif, exifAt)...)
	return append(t, ifd(gps, gpsAt)...)
}

func xmp() string {
	return `<?xpacket begin="` + "\ufeff" + `" id="W5M0MpCehiHzreSzNTczkc9d"?>
<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
<rdf:Description rdf:about="" xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:xmp="http://ns.adobe.com/xap/1.0/">
<dc:creator><rdf:Seq><rdf:li>Jane Reporter</rdf:li></rdf:Seq></dc:creator>
<dc:title><rdf:Alt><rdf:li xml:lang="x-default">Covert Title</rdf:li></rdf:Alt></dc:title>
<xmp:CreatorTool>Secret Writer 9</xmp:CreatorTool>
</rdf:Description></rdf:RDF></x:xmpmeta>
` + strings.Repeat(" ", 200) + `
<?xpacket end="w"?>`
}

func segment(marker byte, payload []byte) []byte {
	s := []byte{0xff, marker, 0, 0}
	binary.BigEndian.PutUint16(s[2:], uint16(len(payload)+2))
	return append(s, payload...)
}

// JPEG is a photo with EXIF (GPS, camera, serial, owner), XMP, an IPTC
// block and a comment.
func JPEG() []byte {
	var b bytes.Buffer
	if err := jpeg.Encode(&b, picture(), &jpeg.Options{Quality: 90}); err != nil {
		panic(err)
	}
	img := b.Bytes()
	out := append([]byte(nil), img[:2]...)
	out = append(out, segment(0xe0, []byte("JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"))...)
	out = append(out, segment(0xe1, append([]byte("Exif\x00\x00"), Exif()...))...)
	out = append(out, segment(0xe1, append([]byte("http://ns.adobe.com/xap/1.0/\x00"), xmp()...))...)
	iptc := []byte("Photoshop 3.0\x008BIM\x04\x04\x00\x00\x00\x00\x00\x11\x1c\x02\x50\x00\x0dJane Reporter\x00")
	out = append(out, segment(0xed, iptc)...)
	out = append(out, segment(0xfe, []byte("taken by Jane Reporter"))...)
	return append(out, img[2:]...)
}

func chunk(typ string, data []byte) []byte {
	c := binary.BigEndian.AppendUint32(nil, uint32(len(data)))
	c = append(c, typ...)
	c = append(c, data...)
	return binary.BigEndian.AppendUint32(c, crc32.ChecksumIEEE(c[4:]))
}

// PNG is an image with tEXt (Author, Software), zTXt, iTXt, eXIf and
// tIME chunks, and a text chunk after the image data.
func PNG() []byte {
	var b bytes.Buffer
	if err := png.Encode(&b, picture()); err != nil {
		panic(err)
	}
	img := b.Bytes()
	ihdrEnd := 8 + 8 + 13 + 4
	out := append([]byte(nil), img[:ihdrEnd]...)
	out = append(out, chunk("tEXt", []byte("Author\x00Jane Reporter"))...)
	out = append(out, chunk("tEXt", []byte("Software\x00Secret Writer 9"))...)
	var z bytes.Buffer
	zw := zlib.NewWriter(&z)
	zw.Write([]byte("Ministry of Examples"))
	zw.Close()
	out = append(out, chunk("zTXt", append([]byte("Copyright\x00\x00"), z.Bytes()...))...)
	out = append(out, chunk("iTXt", []byte("Title\x00\x00\x00en\x00\x00Covert Title"))...)
	out = append(out, chunk("eXIf", Exif())...)
	out = append(out, chunk("tIME", []byte{0x07, 0xea, 12, 1, 10, 30, 0})...)
	iend := len(img) - 12
	out = append(out, img[ihdrEnd:iend]...)
	out = append(out, chunk("tEXt", []byte("Comment\x00Rev. Author Smith"))...)
	return append(out, img[iend:]...)
}

const pdfInfo = `<< /Author (Jane Reporter) /Creator (Secret Writer 9) /Producer (Ministry of Examples) /Title (Covert Title) /Subject (a \) tricky >> subject) /CreationDate (D:20261201103000Z) >>`

// PDF is a one-page PDF with a classic cross-reference table, an
// information dictionary (Author, Creator, Producer, Title, dates) and an
// XMP metadata stream.
func PDF() []byte {
	content := "BT /F1 12 Tf 20 100 Td (Hello officer) Tj ET"
	x := xmp()
	objs := []string{
		"<< /Type /Catalog /Pages 2 0 R /Metadata 4 0 R >>",
		"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
		"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] /Contents 6 0 R /Resources << /Font << /F1 7 0 R >> >> >>",
		fmt.Sprintf("<< /Type /Metadata /Subtype /XML /Length %d >>\nstream\n%s\nendstream", len(x), x),
		pdfInfo,
		fmt.Sprintf("<< /Length %d >>\nstream\n%s\nendstream", len(content), content),
		"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
	}
	var b bytes.Buffer
	b.WriteString("%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
	offs := make([]int, len(objs))
	for i, o := range objs {
		offs[i] = b.Len()
		fmt.Fprintf(&b, "%d 0 obj\n%s\nendobj\n", i+1, o)
	}
	xref := b.Len()
	fmt.Fprintf(&b, "xref\n0 %d\n0000000000 65535 f \n", len(objs)+1)
	for _, o := range offs {
		fmt.Fprintf(&b, "%010d 00000 n \n", o)
	}
	fmt.Fprintf(&b, "trailer\n<< /Size %d /Root 1 0 R /Info 5 0 R >>\nstartxref\n%d\n%%%%EOF\n", len(objs)+1, xref)
	return b.Bytes()
}

// PDFObjectStreams is the same document written as PDF 1.5 does: the
// catalog, pages, font and information dictionary inside a compressed
// object stream, indexed by a cross-reference stream with a PNG predictor.
func PDFObjectStreams() []byte {
	content := "BT /F1 12 Tf 20 100 Td (Hello officer) Tj ET"
	x := xmp()
	inStm := map[int]string{
		1: "<< /Type /Catalog /Pages 2 0 R /Metadata 4 0 R >>",
		2: "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
		3: "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] /Contents 6 0 R /Resources << /Font << /F1 7 0 R >> >> >>",
		5: pdfInfo,
		7: "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
	}
	order := []int{1, 2, 3, 5, 7}
	var hdr, body bytes.Buffer
	for i, n := range order {
		fmt.Fprintf(&hdr, "%d %d ", n, body.Len())
		body.WriteString(inStm[n])
		body.WriteString("\n")
		_ = i
	}
	stm := append(hdr.Bytes(), body.Bytes()...)
	var z bytes.Buffer
	zw := zlib.NewWriter(&z)
	zw.Write(stm)
	zw.Close()

	var b bytes.Buffer
	b.WriteString("%PDF-1.5\n%\xe2\xe3\xcf\xd3\n")
	type ent struct{ t, a, c int }
	ents := make([]ent, 10)
	ents[0] = ent{0, 0, 65535}
	ents[4] = ent{1, b.Len(), 0}
	fmt.Fprintf(&b, "4 0 obj\n<< /Type /Metadata /Subtype /XML /Length %d >>\nstream\n%s\nendstream\nendobj\n", len(x), x)
	ents[6] = ent{1, b.Len(), 0}
	fmt.Fprintf(&b, "6 0 obj\n<< /Length %d >>\nstream\n%s\nendstream\nendobj\n", len(content), content)
	ents[8] = ent{1, b.Len(), 0}
	fmt.Fprintf(&b, "8 0 obj\n<< /Type /ObjStm /N %d /First %d /Filter /FlateDecode /Length %d >>\nstream\n", len(order), hdr.Len(), z.Len())
	b.Write(z.Bytes())
	b.WriteString("\nendstream\nendobj\n")
	for i, n := range order {
		ents[n] = ent{2, 8, i}
	}
	ents[9] = ent{1, b.Len(), 0}
	// rows of 1+4+2 bytes, each behind a PNG "Up" filter byte
	var raw []byte
	prev := make([]byte, 7)
	for _, e := range ents {
		row := []byte{byte(e.t), 0, 0, 0, 0, byte(e.c >> 8), byte(e.c)}
		binary.BigEndian.PutUint32(row[1:5], uint32(e.a))
		raw = append(raw, 2)
		for i := range row {
			raw = append(raw, row[i]-prev[i])
		}
		prev = row
	}
	z.Reset()
	zw = zlib.NewWriter(&z)
	zw.Write(raw)
	zw.Close()
	xref := b.Len()
	fmt.Fprintf(&b, "9 0 obj\n<< /Type /XRef /Size 10 /W [1 4 2] /Root 1 0 R /Info 5 0 R /Filter /FlateDecode /DecodeParms << /Predictor 12 /Columns 7 >> /Length %d >>\nstream\n", z.Len())
	b.Write(z.Bytes())
	fmt.Fprintf(&b, "\nendstream\nendobj\nstartxref\n%d\n%%%%EOF\n", xref)
	return b.Bytes()
}

// DOCXParts are the parts of the document [DOCX] builds, by name.
func DOCXParts() map[string]string {
	const w = `xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main" xmlns:w15="http://schemas.microsoft.com/office/word/2012/wordml"`
	return map[string]string{
		"[Content_Types].xml": `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Default Extension="jpeg" ContentType="image/jpeg"/><Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/><Override PartName="/word/comments.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.comments+xml"/><Override PartName="/word/settings.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.settings+xml"/><Override PartName="/word/people.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.people+xml"/><Override PartName="/docProps/core.xml" ContentType="application/vnd.openxmlformats-package.core-properties+xml"/><Override PartName="/docProps/app.xml" ContentType="application/vnd.openxmlformats-officedocument.extended-properties+xml"/><Override PartName="/docProps/custom.xml" ContentType="application/vnd.openxmlformats-officedocument.custom-properties+xml"/></Types>`,
		"_rels/.rels": `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId3" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/extended-properties" Target="docProps/app.xml"/><Relationship Id="rId2" Type="http://schemas.openxmlformats.org/package/2006/relationships/metadata/core-properties" Target="docProps/core.xml"/><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="word/document.xml"/><Relationship Id="rId4" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/custom-properties" Target="docProps/custom.xml"/></Relationships>`,
		"docProps/core.xml": `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<cp:coreProperties xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/core-properties" xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:dcterms="http://purl.org/dc/terms/" xmlns:dcmitype="http://purl.org/dc/dcmitype/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><dc:title>Covert Title</dc:title><dc:creator>Jane Reporter</dc:creator><cp:lastModifiedBy>Rev. Author Smith</cp:lastModifiedBy><cp:revision>7</cp:revision><dcterms:created xsi:type="dcterms:W3CDTF">2026-12-01T10:30:00Z</dcterms:created><dcterms:modified xsi:type="dcterms:W3CDTF">2026-12-01T11:00:00Z</dcterms:modified></cp:coreProperties>`,
		"docProps/app.xml": `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Properties xmlns="http://schemas.openxmlformats.org/officeDocument/2006/extended-properties" xmlns:vt="http://schemas.openxmlformats.org/officeDocument/2006/docPropsVTypes"><Template>Normal.dotm</Template><TotalTime>42</TotalTime><Application>Secret Writer 9</Application><Company>Ministry of Examples</Company><AppVersion>16.0000</AppVersion></Properties>`,
		"docProps/custom.xml": `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Properties xmlns="http://schemas.openxmlformats.org/officeDocument/2006/custom-properties" xmlns:vt="http://schemas.openxmlformats.org/officeDocument/2006/docPropsVTypes"><property fmtid="{D5CDD505-2E9C-101B-9397-08002B2CF9AE}" pid="2" name="Owner"><vt:lpwstr>jane@example.org</vt:lpwstr></property></Properties>`,
		"word/_rels/document.xml.rels": `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/settings" Target="settings.xml"/><Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/comments" Target="comments.xml"/><Relationship Id="rId3" Type="http://schemas.microsoft.com/office/2011/relationships/people" Target="people.xml"/><Relationship Id="rId4" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/image" Target="media/image1.jpeg"/></Relationships>`,
		"word/document.xml": `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<w:document ` + w + `><w:body><w:p w:rsidR="00A1B2C3" w:rsidRDefault="00D4E5F6"><w:commentRangeStart w:id="0"/><w:r w:rsidRPr="00112233"><w:t xml:space="preserve">The budget was moved &amp; hidden.</w:t></w:r><w:commentRangeEnd w:id="0"/><w:r><w:commentReference w:id="0"/></w:r><w:ins w:id="1" w:author="Rev. Author Smith" w:date="2026-12-01T10:00:00Z"><w:r><w:t>added</w:t></w:r></w:ins></w:p><w:sectPr w:rsidR="00A1B2C3"/></w:body></w:document>`,
		"word/comments.xml": `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<w:comments ` + w + `><w:comment w:id="0" w:author="Jane Reporter" w:date="2026-12-01T10:00:00Z" w:initials="JR"><w:p w:rsidR="00A1B2C3"><w:r><w:t>check this</w:t></w:r></w:p></w:comment></w:comments>`,
		"word/people.xml": `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<w15:people ` + w + `><w15:person w15:author="Jane Reporter"><w15:presenceInfo w15:providerId="AD" w15:userId="jane@example.org"/></w15:person></w15:people>`,
		"word/settings.xml": `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<w:settings ` + w + `><w:zoom w:percent="100"/><w:rsids><w:rsidRoot w:val="00A1B2C3"/><w:rsid w:val="00A1B2C3"/><w:rsid w:val="00D4E5F6"/></w:rsids></w:settings>`,
	}
}

// DOCX is a Word document with core properties (creator, last modified
// by, title, dates), app properties (application, company), custom
// properties, a comment with its author and initials, a tracked change,
// people.xml, revision identifiers (w:rsid*) and an embedded photo with
// EXIF.
func DOCX() []byte {
	return Zip(DOCXParts(), map[string][]byte{"word/media/image1.jpeg": JPEG()})
}

// Zip writes parts (text) and media (binary) in a stable order,
// [Content_Types].xml first.
func Zip(parts map[string]string, media map[string][]byte) []byte {
	var b bytes.Buffer
	zw := zip.NewWriter(&b)
	names := []string{"[Content_Types].xml", "_rels/.rels", "docProps/core.xml", "docProps/app.xml", "docProps/custom.xml"}
	seen := map[string]bool{}
	for _, n := range names {
		seen[n] = true
	}
	for _, n := range sortedKeys(parts) {
		if !seen[n] {
			names = append(names, n)
		}
	}
	for _, n := range names {
		p, ok := parts[n]
		if !ok {
			continue
		}
		f, _ := zw.Create(n)
		f.Write([]byte(p))
	}
	for _, n := range sortedKeys(media) {
		f, _ := zw.CreateHeader(&zip.FileHeader{Name: n, Method: zip.Store})
		f.Write(media[n])
	}
	zw.Close()
	return b.Bytes()
}

func sortedKeys[V any](m map[string]V) []string { return slices.Sorted(maps.Keys(m)) }

// PDFIncremental is [PDF] with an incremental update, as an editor saves
// it: a new information dictionary (the same object number) and a
// cross-reference section that points back to the first. The first
// revision's dictionary is still in the file.
func PDFIncremental() []byte {
	b := bytes.NewBuffer(PDF())
	prev := bytes.LastIndex(b.Bytes(), []byte("\nxref\n")) + 1
	off := b.Len()
	b.WriteString("5 0 obj\n<< /Author (Rev. Author Smith) /ModDate (D:20261202090000Z) >>\nendobj\n")
	xref := b.Len()
	fmt.Fprintf(b, "xref\n0 1\n0000000000 65535 f \n5 1\n%010d 00000 n \ntrailer\n<< /Size 8 /Root 1 0 R /Info 5 0 R /Prev %d >>\nstartxref\n%d\n%%%%EOF\n", off, prev, xref)
	return b.Bytes()
}
