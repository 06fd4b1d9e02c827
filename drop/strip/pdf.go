package strip

import (
	"bytes"
	"compress/zlib"
	"errors"
	"io"
	"slices"
	"sort"
	"strconv"
)

// PDF: the document information dictionary and XMP metadata streams are
// overwritten in place, byte for byte the same length, so that every
// offset of the cross-reference tables stays true and nothing else of the
// file changes. The references to the information dictionary in every
// trailer go too (blanked with spaces). An information dictionary inside
// an object stream is blanked in the decompressed stream, which is then
// compressed again into the same room; when it does not fit, the file
// passes unchanged.

// errShort: the window read was too small for what is being parsed.
var errShort = errors.New("window too small")

const (
	maxWindow   = 16 << 20 // the largest piece of a PDF parsed at once
	maxSections = 1024     // cross-reference sections followed
)

type objAt struct {
	num int
	off int64
}

// record notes an object of some revision: the newest revision's is read
// first, so it is the one that counts for resolving references, but every
// revision's is cleaned.
func (d *pdfDoc) record(num int, typ, a, b int64) {
	switch typ {
	case 1:
		if !d.seen[a] {
			d.seen[a] = true
			d.all = append(d.all, objAt{num, a})
		}
	case 2:
		if !slices.Contains(d.allStm[num], [2]int64{a, b}) {
			d.allStm[num] = append(d.allStm[num], [2]int64{a, b})
		}
	}
	if _, ok := d.off[num]; ok {
		return
	}
	if _, ok := d.inStm[num]; ok {
		return
	}
	switch typ {
	case 1:
		d.off[num] = a
	case 2:
		d.inStm[num] = [2]int64{a, b}
	}
}

// patch replaces n bytes at off with data, then fill up to n: the
// filler is never held in memory, whatever the size of what it blanks.
type patch struct {
	off, n int64
	data   []byte
	fill   byte
}

type pdfDoc struct {
	ra      io.ReaderAt
	size    int64
	inflate int64            // what may still be decompressed
	off     map[int]int64    // object number: offset, of the newest revision
	inStm   map[int][2]int64 // object number: object stream number, index (newest)
	all     []objAt          // every object of every revision, by offset
	allStm  map[int][][2]int64
	seen    map[int64]bool
	infos   map[int]bool
	patches []patch
}

func (c *Cleaner) cleanPDF(w io.Writer, ra io.ReaderAt, size int64, res *Result) error {
	d := &pdfDoc{ra: ra, size: size, inflate: c.maxInflate(), off: map[int]int64{}, inStm: map[int][2]int64{},
		allStm: map[int][][2]int64{}, seen: map[int64]bool{}, infos: map[int]bool{}}
	tail := d.read(size-2048, 2048)
	i := bytes.LastIndex(tail, []byte("startxref"))
	if i < 0 {
		return errDamaged
	}
	f := bytes.Fields(tail[i+len("startxref"):])
	if len(f) == 0 {
		return errDamaged
	}
	start := atoi(string(f[0]))
	seen := map[int64]bool{}
	queue := []int64{start}
	for len(queue) > 0 {
		off := queue[0]
		queue = queue[1:]
		if off < 0 || off >= size || seen[off] {
			continue
		}
		if seen[off] = true; len(seen) > maxSections {
			return errTooLarge
		}
		next, err := d.section(off)
		if err != nil {
			return err
		}
		queue = append(queue, next...)
	}
	if err := d.targets(res); err != nil {
		return err
	}
	return d.write(w)
}

// read returns up to n bytes at off (fewer at the end of the file).
func (d *pdfDoc) read(off int64, n int) []byte {
	if off < 0 {
		n += int(off)
		off = 0
	}
	if off >= d.size || n <= 0 {
		return nil
	}
	if rest := d.size - off; int64(n) > rest {
		n = int(rest)
	}
	b := make([]byte, n)
	n, _ = d.ra.ReadAt(b, off)
	return b[:n]
}

// parseAt runs fn over a window of the file at off, larger each time fn
// says it was too small.
func (d *pdfDoc) parseAt(off int64, fn func(b []byte) error) error {
	for n := 64 << 10; ; n *= 4 {
		b := d.read(off, n)
		err := fn(b)
		if err != errShort {
			return err
		}
		if len(b) < n {
			return errDamaged
		}
		if n >= maxWindow {
			return errTooLarge
		}
	}
}

// section reads the cross-reference section at off (a table with its
// trailer, or a cross-reference stream) and returns the offsets of the
// sections it points to.
func (d *pdfDoc) section(off int64) ([]int64, error) {
	var next []int64
	err := d.parseAt(off, func(b []byte) error {
		next = nil
		i := skipWS(b, 0)
		if bytes.HasPrefix(b[i:], []byte("xref")) {
			return d.table(b, i+4, off, &next)
		}
		o, err := d.object(b, off)
		if err != nil {
			return err
		}
		if value(o.b, o.dict, "Type") != "/XRef" {
			return errDamaged
		}
		return d.xrefStream(o, &next)
	})
	return next, err
}

func (d *pdfDoc) table(b []byte, i int, base int64, next *[]int64) error {
	for {
		i = skipWS(b, i)
		if i >= len(b) {
			return errShort
		}
		if bytes.HasPrefix(b[i:], []byte("trailer")) {
			dict, end := parseDict(b, i+len("trailer"), 0)
			if end < 0 {
				if len(b) < maxWindow {
					return errShort
				}
				return errDamaged
			}
			return d.trailer(b, dict, base, next)
		}
		var first, count int64
		for _, p := range []*int64{&first, &count} {
			i = skipWS(b, i)
			e := skipValue(b, i, 0)
			if e < 0 {
				return errShort
			}
			if *p = atoi(string(b[i:e])); *p < 0 {
				return errDamaged
			}
			i = e
		}
		if count > 1<<24 {
			return errTooLarge
		}
		for n := int64(0); n < count; n++ {
			var tok [3][]byte
			for k := range tok {
				i = skipWS(b, i)
				e := skipValue(b, i, 0)
				if e < 0 || e == len(b) {
					return errShort
				}
				tok[k] = b[i:e]
				i = e
			}
			num := int(first + n)
			if string(tok[2]) == "n" {
				d.record(num, 1, atoi(string(tok[0])), 0)
			} else if string(tok[2]) != "f" {
				return errDamaged
			}
		}
	}
}

// trailer records what a trailer dictionary (or a cross-reference
// stream's dictionary, which is one) says.
func (d *pdfDoc) trailer(b []byte, dict map[string]entry, base int64, next *[]int64) error {
	if _, ok := dict["Encrypt"]; ok {
		return errEncrypted
	}
	if e, ok := dict["Info"]; ok {
		n := ref(string(b[e.vstart:e.end]))
		if n < 0 {
			return errDamaged
		}
		d.infos[n] = true
		d.blank(base+int64(e.start), e.end-e.start)
	}
	for _, k := range []string{"Prev", "XRefStm"} {
		if v := value(b, dict, k); v != "" {
			n := atoi(v)
			if n < 0 {
				return errDamaged
			}
			*next = append(*next, n)
		}
	}
	return nil
}

func (d *pdfDoc) blank(off int64, n int) {
	d.patches = append(d.patches, patch{off: off, n: int64(n), fill: ' '})
}

// pdfObject is one indirect object parsed from a window: its dictionary
// (nil when it is not one) and, for a stream, where its data starts.
type pdfObject struct {
	b         []byte
	base      int64 // file offset of b[0]
	dictStart int
	dict      map[string]entry
	dictEnd   int
	dataStart int // -1: not a stream
	num       int
}

// object parses "N G obj << ... >> [stream]" at the start of b.
func (d *pdfDoc) object(b []byte, base int64) (*pdfObject, error) {
	o := &pdfObject{b: b, base: base, dataStart: -1}
	i := skipWS(b, 0)
	var hdr [3]string
	for k := range hdr {
		i = skipWS(b, i)
		e := skipValue(b, i, 0)
		if e < 0 {
			return nil, errShort
		}
		hdr[k] = string(b[i:e])
		i = e
	}
	if hdr[2] != "obj" || !isInt([]byte(hdr[0])) || !isInt([]byte(hdr[1])) {
		return nil, errDamaged
	}
	o.num, _ = strconv.Atoi(hdr[0])
	i = skipWS(b, i)
	if i >= len(b) {
		return nil, errShort
	}
	if !bytes.HasPrefix(b[i:], []byte("<<")) {
		return o, nil
	}
	o.dictStart = i
	dict, end := parseDict(b, i, 0)
	if end < 0 {
		if len(b) < maxWindow {
			return nil, errShort
		}
		return nil, errDamaged
	}
	o.dict, o.dictEnd = dict, end
	j := skipWS(b, end)
	if len(b)-j < 16 {
		return nil, errShort
	}
	if bytes.HasPrefix(b[j:], []byte("stream")) {
		j += len("stream")
		if b[j] == '\r' {
			j++
		}
		if b[j] == '\n' {
			j++
		}
		o.dataStart = j
	}
	return o, nil
}

// length resolves a stream's /Length.
func (d *pdfDoc) length(o *pdfObject) (int64, error) {
	v := value(o.b, o.dict, "Length")
	if n := ref(v); n >= 0 {
		off, ok := d.off[n]
		if !ok {
			return 0, errDamaged
		}
		var l int64 = -1
		err := d.parseAt(off, func(b []byte) error {
			lo, err := d.object(b, off)
			if err != nil {
				return err
			}
			i := skipWS(b, lo.dictStart)
			e := skipValue(b, i, 0)
			if e < 0 {
				return errDamaged
			}
			l = atoi(string(b[i:e]))
			return nil
		})
		if err != nil {
			return 0, err
		}
		v = strconv.FormatInt(l, 10)
	}
	n := atoi(v)
	if n < 0 || o.base+int64(o.dataStart)+n > d.size {
		return 0, errDamaged
	}
	return n, nil
}

// streamData reads and decodes (FlateDecode only) a stream's data, within
// what may still be decompressed.
func (d *pdfDoc) streamData(o *pdfObject) ([]byte, error) {
	n, err := d.length(o)
	if err != nil {
		return nil, err
	}
	if n > maxWindow {
		return nil, errTooLarge
	}
	raw := d.read(o.base+int64(o.dataStart), int(n))
	switch f := value(o.b, o.dict, "Filter"); f {
	case "":
		return raw, nil
	case "/FlateDecode", "[/FlateDecode]", "[ /FlateDecode ]":
	default:
		return nil, errDamaged
	}
	zr, err := zlib.NewReader(bytes.NewReader(raw))
	if err != nil {
		return nil, errDamaged
	}
	out, err := io.ReadAll(io.LimitReader(zr, min(d.inflate, maxWindow)+1))
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) {
		return nil, errDamaged
	}
	if int64(len(out)) > min(d.inflate, maxWindow) {
		return nil, errTooLarge
	}
	d.inflate -= int64(len(out))
	if parms := value(o.b, o.dict, "DecodeParms"); parms != "" {
		return unpredict(out, o.b[o.dict["DecodeParms"].vstart:o.dict["DecodeParms"].end])
	}
	return out, nil
}

// unpredict undoes a PNG predictor (/Predictor 10 to 15), the only kind
// cross-reference streams use.
func unpredict(data, parms []byte) ([]byte, error) {
	p, end := parseDict(parms, 0, 0)
	if end < 0 {
		return nil, errDamaged
	}
	pred := atoi(value(parms, p, "Predictor"))
	if pred <= 1 {
		return data, nil
	}
	if pred < 10 {
		return nil, errDamaged
	}
	cols := int(atoi(value(parms, p, "Columns")))
	if value(parms, p, "Columns") == "" {
		cols = 1
	}
	if cols <= 0 || cols > 1<<16 {
		return nil, errDamaged
	}
	row := cols + 1
	if len(data)%row != 0 {
		return nil, errDamaged
	}
	out := make([]byte, 0, len(data)/row*cols)
	prev := make([]byte, cols)
	for r := 0; r < len(data)/row; r++ {
		line := data[r*row : (r+1)*row]
		cur := make([]byte, cols)
		for i := 0; i < cols; i++ {
			var a, up, c byte
			if i > 0 {
				a, c = cur[i-1], prev[i-1]
			}
			up = prev[i]
			x := line[1+i]
			switch line[0] {
			case 0:
			case 1:
				x += a
			case 2:
				x += up
			case 3:
				x += a>>1 + up>>1 + a&up&1 // (a+up)/2 without overflow
			case 4:
				x += paeth(a, up, c)
			default:
				return nil, errDamaged
			}
			cur[i] = x
		}
		out = append(out, cur...)
		prev = cur
	}
	return out, nil
}

func paeth(a, b, c byte) byte {
	p := int(a) + int(b) - int(c)
	pa, pb, pc := abs(p-int(a)), abs(p-int(b)), abs(p-int(c))
	switch {
	case pa <= pb && pa <= pc:
		return a
	case pb <= pc:
		return b
	}
	return c
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

// xrefStream reads a cross-reference stream's entries.
func (d *pdfDoc) xrefStream(o *pdfObject, next *[]int64) error {
	if o.dataStart < 0 {
		return errDamaged
	}
	if err := d.trailer(o.b, o.dict, o.base, next); err != nil {
		return err
	}
	data, err := d.streamData(o)
	if err != nil {
		return err
	}
	wv := ints(value(o.b, o.dict, "W"))
	if len(wv) != 3 {
		return errDamaged
	}
	width := 0
	for _, x := range wv {
		if x < 0 || x > 8 {
			return errDamaged
		}
		width += int(x)
	}
	if width == 0 {
		return errDamaged
	}
	index := ints(value(o.b, o.dict, "Index"))
	if value(o.b, o.dict, "Index") == "" {
		index = []int64{0, atoi(value(o.b, o.dict, "Size"))}
	}
	if len(index)%2 != 0 {
		return errDamaged
	}
	field := func(p []byte, k int) int64 {
		var v int64
		for _, c := range p {
			v = v<<8 | int64(c)
		}
		if len(p) == 0 && k == 0 {
			return 1 // type defaults to 1
		}
		return v
	}
	pos := 0
	for k := 0; k+1 < len(index); k += 2 {
		for n := int64(0); n < index[k+1]; n++ {
			if pos+width > len(data) {
				return errDamaged
			}
			e := data[pos : pos+width]
			pos += width
			t := field(e[:wv[0]], 0)
			a := field(e[wv[0]:wv[0]+wv[1]], 1)
			b := field(e[wv[0]+wv[1]:], 2)
			d.record(int(index[k]+n), t, a, b)
		}
	}
	return nil
}

var emptyXMP = []byte(`<?xpacket begin="" id="W5M0MpCehiHzreSzNTczkc9d"?><x:xmpmeta xmlns:x="adobe:ns:meta/"></x:xmpmeta><?xpacket end="w"?>`)

// targets finds the information dictionaries and metadata streams and
// plans their blanking.
func (d *pdfDoc) targets(res *Result) error {
	all := slices.Clone(d.all)
	sort.Slice(all, func(i, j int) bool { return all[i].off < all[j].off })
	stms := map[int64][][2]int64{} // object streams holding information dictionaries: number, index
	for n := range d.infos {
		_, direct := d.off[n]
		_, packed := d.inStm[n]
		if !direct && !packed {
			return errDamaged
		}
		for _, s := range d.allStm[n] {
			stms[s[0]] = append(stms[s[0]], [2]int64{int64(n), s[1]})
		}
	}
	for _, at := range all {
		n, off := at.num, at.off
		if off <= 0 || off >= d.size {
			return errDamaged
		}
		err := d.parseAt(off, func(b []byte) error {
			o, err := d.object(b, off)
			if err != nil {
				return err
			}
			if o.num != n {
				return errDamaged
			}
			switch {
			case d.infos[n] && o.dict != nil:
				infoRemovals(o, res)
				d.blank(off+int64(o.dictStart)+2, o.dictEnd-o.dictStart-4)
			case o.dict != nil && value(o.b, o.dict, "Type") == "/Metadata" && o.dataStart >= 0:
				return d.metadata(o, res)
			case len(stms[int64(n)]) > 0:
				return d.objStm(o, stms[int64(n)], res)
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	return nil
}

func infoRemovals(o *pdfObject, res *Result) {
	keys := map[string]string{
		"Author": "author", "Creator": "software", "Producer": "software", "Title": "title",
		"Subject": "title", "Keywords": "title", "CreationDate": "dates", "ModDate": "dates",
	}
	for k := range o.dict {
		if r, ok := keys[k]; ok {
			res.remove(r)
		} else if k != "Trapped" {
			res.remove("other")
		}
	}
}

// metadata plans an XMP stream's blanking: its data becomes an empty XMP
// packet padded with spaces; a filter it had is blanked from its
// dictionary.
func (d *pdfDoc) metadata(o *pdfObject, res *Result) error {
	n, err := d.length(o)
	if err != nil {
		return err
	}
	res.remove("xmp")
	for _, k := range []string{"Filter", "DecodeParms", "DL"} {
		if e, ok := o.dict[k]; ok {
			d.blank(o.base+int64(e.start), e.end-e.start)
		}
	}
	p := patch{off: o.base + int64(o.dataStart), n: n, fill: ' '}
	if n >= int64(len(emptyXMP)) {
		p.data = emptyXMP
	}
	d.patches = append(d.patches, p)
	return nil
}

// objStm blanks information dictionaries inside an object stream: the
// stream is decompressed, the dictionaries' contents become spaces, and
// it is compressed again into no more room than it had (its /Length
// rewritten in as many characters, the rest of the room spaces before
// "endstream").
func (d *pdfDoc) objStm(o *pdfObject, infos [][2]int64, res *Result) error {
	if o.dataStart < 0 || value(o.b, o.dict, "Type") != "/ObjStm" || value(o.b, o.dict, "DecodeParms") != "" {
		return errDamaged
	}
	lv := value(o.b, o.dict, "Length")
	if ref(lv) >= 0 {
		return errDamaged // an indirect length: not rewritten here
	}
	old, err := d.length(o)
	if err != nil {
		return err
	}
	data, err := d.streamData(o)
	if err != nil {
		return err
	}
	first := atoi(value(o.b, o.dict, "First"))
	count := atoi(value(o.b, o.dict, "N"))
	if first < 0 || count < 0 || first > int64(len(data)) {
		return errDamaged
	}
	hdr := bytes.Fields(data[:first])
	if int64(len(hdr)) < 2*count {
		return errDamaged
	}
	data = bytes.Clone(data)
	for _, in := range infos {
		n, idx := in[0], in[1]
		if idx < 0 || idx >= count || atoi(string(hdr[2*idx])) != n {
			return errDamaged
		}
		at := first + atoi(string(hdr[2*idx+1]))
		if at < first || at >= int64(len(data)) {
			return errDamaged
		}
		dict, end := parseDict(data, int(at), 0)
		if end < 0 {
			return errDamaged
		}
		infoRemovals(&pdfObject{dict: dict}, res)
		s := skipWS(data, int(at))
		copy(data[s+2:end-2], bytes.Repeat([]byte{' '}, end-2-s-2))
	}
	var z bytes.Buffer
	zw, _ := zlib.NewWriterLevel(&z, zlib.BestCompression)
	zw.Write(data)
	zw.Close()
	newLen := strconv.Itoa(z.Len())
	if int64(z.Len()) > old || len(newLen) > len(lv) {
		return errTooLarge
	}
	e := o.dict["Length"]
	d.patches = append(d.patches, patch{off: o.base + int64(e.vstart), n: int64(len(lv)), data: []byte(newLen), fill: ' '})
	d.patches = append(d.patches, patch{off: o.base + int64(o.dataStart), n: old, data: z.Bytes(), fill: '\n'})
	return nil
}

// write copies the file with the patches applied.
func (d *pdfDoc) write(w io.Writer) error {
	sort.Slice(d.patches, func(i, j int) bool { return d.patches[i].off < d.patches[j].off })
	var pos int64
	for _, p := range d.patches {
		if p.off < pos || p.off+p.n > d.size || int64(len(p.data)) > p.n {
			return errDamaged // overlapping: a file made to confuse
		}
		pos = p.off + p.n
	}
	pos = 0
	fill := make([]byte, 32<<10)
	for _, p := range d.patches {
		if _, err := io.Copy(w, io.NewSectionReader(d.ra, pos, p.off-pos)); err != nil {
			return err
		}
		if _, err := w.Write(p.data); err != nil {
			return err
		}
		for i := range fill {
			fill[i] = p.fill
		}
		for left := p.n - int64(len(p.data)); left > 0; {
			k := min(left, int64(len(fill)))
			if _, err := w.Write(fill[:k]); err != nil {
				return err
			}
			left -= k
		}
		pos = p.off + p.n
	}
	_, err := io.Copy(w, io.NewSectionReader(d.ra, pos, d.size-pos))
	return err
}
