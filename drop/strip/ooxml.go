package strip

import (
	"archive/zip"
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"math"
	"path"
	"strings"
)

var (
	errNotOOXML  = errors.New("zip file of no known office type")
	errEncrypted = errors.New("encrypted file")
)

// dosDay1980 is 1980-01-01 in MS-DOS form: every entry of a cleaned file
// gets it, so no entry says when it was written.
const dosDay1980 = 1<<5 | 1

// cleanOOXML cleans a docx, xlsx or pptx in two passes over the spool: the
// first reads and rewrites every part into nothing, so that a damaged or
// oversized file is found before a byte is written; the second writes.
func (c *Cleaner) cleanOOXML(w io.Writer, ra io.ReaderAt, size int64, res *Result) error {
	if err := zipEntries(ra, size); err != nil {
		return err
	}
	zr, err := zip.NewReader(ra, size)
	if err != nil {
		return errDamaged
	}
	if len(zr.File) > maxEntries {
		return errTooLarge
	}
	names := map[string]bool{}
	var total int64
	for _, f := range zr.File {
		if names[f.Name] {
			return errDamaged
		}
		names[f.Name] = true
		if f.UncompressedSize64 > math.MaxInt64 {
			return errTooLarge
		}
		n := int64(f.UncompressedSize64)
		if n > c.maxInflate()-total {
			return errTooLarge
		}
		total += n
		if f.Method != zip.Store && f.Method != zip.Deflate {
			return errDamaged
		}
		if f.Flags&0x1 != 0 {
			return errEncrypted
		}
	}
	switch {
	case !names["[Content_Types].xml"]:
		return errNotOOXML
	case names["word/document.xml"]:
		res.Type = "docx"
	case names["xl/workbook.xml"]:
		res.Type = "xlsx"
	case names["ppt/presentation.xml"]:
		res.Type = "pptx"
	default:
		return errNotOOXML
	}
	dropped := map[string]string{}
	for n := range names {
		switch {
		case n == "docProps/custom.xml":
			dropped[n] = "custom"
		case strings.HasPrefix(n, "docProps/thumbnail."):
			dropped[n] = "thumbnail"
		}
	}
	var check Result
	if err := c.writeOOXML(io.Discard, zr, dropped, &check); err != nil {
		return err
	}
	return c.writeOOXML(w, zr, dropped, res)
}

func (c *Cleaner) writeOOXML(w io.Writer, zr *zip.Reader, dropped map[string]string, res *Result) error {
	zw := zip.NewWriter(w)
	for _, f := range zr.File {
		if k, ok := dropped[f.Name]; ok {
			res.remove(k)
			continue
		}
		//lint:ignore SA1019 Modified would add an extended timestamp field; the MS-DOS date alone says only 1980-01-01
		h := &zip.FileHeader{Name: f.Name, Method: f.Method, ModifiedDate: dosDay1980}
		rules := partRules(f.Name, dropped)
		media := mediaKind(f.Name)
		if rules == nil && media == "" {
			// Unchanged: copied compressed, after checking it reads
			// whole (CRC and size).
			if err := checkEntry(f); err != nil {
				return err
			}
			h.CRC32, h.CompressedSize64, h.UncompressedSize64 = f.CRC32, f.CompressedSize64, f.UncompressedSize64
			dst, err := zw.CreateRaw(h)
			if err != nil {
				return err
			}
			raw, err := f.OpenRaw()
			if err != nil {
				return errDamaged
			}
			if _, err := io.Copy(dst, raw); err != nil {
				return err
			}
			continue
		}
		dst, err := zw.CreateHeader(h)
		if err != nil {
			return err
		}
		rc, err := f.Open()
		if err != nil {
			return errDamaged
		}
		src := &reader{r: rc}
		if rules != nil {
			err = rewriteXML(dst, src, rules, res)
		} else {
			err = c.cleanMedia(dst, src, media, res)
		}
		rc.Close()
		if src.err != nil {
			return errDamaged // checksum or inflate failed
		}
		if err != nil {
			return err
		}
	}
	return zw.Close()
}

// zipEntries checks, before the zip reader holds a header per entry in
// memory, that the end of the central directory announces at most
// maxEntries entries.
func zipEntries(ra io.ReaderAt, size int64) error {
	tail := make([]byte, min(size, 22+65535))
	if _, err := ra.ReadAt(tail, size-int64(len(tail))); err != nil && err != io.EOF {
		return errDamaged
	}
	i := bytes.LastIndex(tail, []byte("PK\x05\x06"))
	if i < 0 || len(tail)-i < 22 {
		return errDamaged
	}
	entries := uint64(binary.LittleEndian.Uint16(tail[i+10:]))
	if entries == 0xffff && i >= 20 && bytes.HasPrefix(tail[i-20:], []byte("PK\x06\x07")) {
		// zip64: the real count is in the zip64 end record
		at64 := binary.LittleEndian.Uint64(tail[i-20+8:])
		if at64 > math.MaxInt64 {
			return errDamaged
		}
		at := int64(at64)
		if at > size-56 {
			return errDamaged
		}
		rec := make([]byte, 56)
		if _, err := ra.ReadAt(rec, at); err != nil || !bytes.HasPrefix(rec, []byte("PK\x06\x06")) {
			return errDamaged
		}
		entries = binary.LittleEndian.Uint64(rec[32:])
	}
	if entries > maxEntries {
		return errTooLarge
	}
	return nil
}

func checkEntry(f *zip.File) error {
	rc, err := f.Open()
	if err != nil {
		return errDamaged
	}
	defer rc.Close()
	// The zip reader refuses more than the declared size and checks the
	// CRC when it reaches the end: read to there, and no further.
	if f.UncompressedSize64 > math.MaxInt64-1 {
		return errTooLarge
	}
	if _, err := io.CopyN(io.Discard, rc, int64(f.UncompressedSize64)+1); err != io.EOF {
		return errDamaged
	}
	return nil
}

// mediaKind says whether an entry is an image the streaming filters clean.
func mediaKind(name string) string {
	switch strings.ToLower(path.Ext(name)) {
	case ".jpg", ".jpeg":
		return "jpeg"
	case ".png":
		return "png"
	}
	return ""
}

// cleanMedia cleans a picture inside a document (photos pasted into a
// report keep their EXIF). One that is not what its name says, or is
// damaged, stays as it is.
func (c *Cleaner) cleanMedia(w io.Writer, r io.Reader, kind string, res *Result) error {
	br := bufio.NewReaderSize(r, 64<<10)
	bw := bufio.NewWriterSize(w, 64<<10)
	head, _ := br.Peek(8)
	var inner Result
	var err error
	switch {
	case kind == "jpeg" && len(head) >= 3 && head[0] == 0xff && head[1] == 0xd8 && head[2] == 0xff:
		err = c.cleanJPEG(bw, br, &inner)
	case kind == "png" && string(head) == string(pngMagic):
		err = c.cleanPNG(bw, br, &inner)
	default:
		_, err = io.Copy(bw, br)
	}
	if err != nil {
		return err
	}
	for _, k := range inner.Removed {
		res.remove(k)
	}
	return bw.Flush()
}

var (
	coreKeys = map[string]string{
		"creator": "author", "lastModifiedBy": "author", "created": "dates", "modified": "dates",
		"lastPrinted": "dates", "title": "title", "subject": "title", "description": "title",
		"keywords": "title", "category": "title", "revision": "revisions", "contentStatus": "other",
		"identifier": "other", "language": "", "version": "revisions",
	}
	appKeys = map[string]string{
		"Application": "software", "AppVersion": "software", "Company": "author", "Manager": "author",
		"Template": "other", "TotalTime": "dates", "HyperlinkBase": "other",
	}
	// Attributes that name people: comments' and tracked changes'
	// authors (w:author, w:initials), people.xml's w15:person, Excel's
	// and PowerPoint's persons and comment authors.
	personAttrs = map[string]string{
		"author": "comment_authors", "initials": "comment_authors", "userId": "comment_authors",
		"providerId": "comment_authors",
	}
	namedPersonAttrs = map[string]string{
		"author": "comment_authors", "initials": "comment_authors", "userId": "comment_authors",
		"providerId": "comment_authors", "name": "comment_authors", "displayName": "comment_authors",
	}
)

// partRules gives the rules for one part, nil to leave it as it is.
func partRules(name string, dropped map[string]string) *xmlRules {
	base := path.Base(name)
	ext := path.Ext(name)
	if ext != ".xml" && ext != ".rels" {
		return nil
	}
	switch {
	case name == "docProps/core.xml":
		return &xmlRules{dropContent: coreKeys}
	case name == "docProps/app.xml":
		return &xmlRules{dropContent: appKeys}
	case name == "[Content_Types].xml":
		return &xmlRules{drop: func(local string, attr func(string) string) bool {
			_, ok := dropped[strings.TrimPrefix(attr("PartName"), "/")]
			return local == "Override" && ok
		}}
	case ext == ".rels":
		dir := path.Dir(path.Dir(name)) // the part the relationships are of lives here
		return &xmlRules{drop: func(local string, attr func(string) string) bool {
			if local != "Relationship" || attr("TargetMode") == "External" {
				return false
			}
			t := attr("Target")
			if strings.HasPrefix(t, "/") {
				t = t[1:]
			} else {
				t = path.Join(dir, t)
			}
			_, ok := dropped[t]
			return ok
		}}
	case base == "commentAuthors.xml", base == "authors.xml", strings.HasPrefix(name, "xl/persons/"):
		return &xmlRules{blankAttrs: namedPersonAttrs}
	case strings.HasPrefix(name, "xl/") && strings.HasPrefix(base, "comments"):
		return &xmlRules{blankAttrs: personAttrs, blankText: map[string]string{"author": "comment_authors"}}
	case strings.HasPrefix(name, "word/"):
		return &xmlRules{
			blankAttrs:     personAttrs,
			dropAttrPrefix: "rsid", dropAttrKey: "revisions",
			dropElems: map[string]string{"rsids": "revisions"},
		}
	case strings.HasPrefix(name, "xl/"), strings.HasPrefix(name, "ppt/"):
		return &xmlRules{blankAttrs: personAttrs}
	}
	return nil
}
