package strip

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"io"
)

// JPEG markers this file names.
const (
	mSOI  = 0xd8
	mEOI  = 0xd9
	mSOS  = 0xda
	mAPP0 = 0xe0
	mAPP1 = 0xe1
	mAPP2 = 0xe2
	mAP13 = 0xed
	mAP14 = 0xee
	mAP15 = 0xef
	mCOM  = 0xfe
)

// cleanJPEG filters a JPEG segment by segment. Everything before the first
// scan is held (up to MaxHeader) so that a damaged head passes unchanged;
// from the first scan on, entropy-coded data streams through and only
// metadata segments between scans are left out. What follows the end of
// the image (EOI), where phones put extra images and vendors their data,
// is left out too.
func (c *Cleaner) cleanJPEG(w *bufio.Writer, r *bufio.Reader, res *Result) error {
	var held, kept []byte
	seg := make([]byte, 4+65535)
	for first := true; ; first = false {
		m, s, err := readSegment(r, seg)
		held = append(held, s...)
		if err != nil || (first && m != mSOI) || (!first && (m == mSOI || m == mEOI)) {
			res.Reason, res.Removed = "damaged", nil
			return passRest(w, held, r)
		}
		if len(held) > c.maxHeader() {
			res.Reason, res.Removed = "too_large", nil
			return passRest(w, held, r)
		}
		if jpegKeep(m, s, res) {
			kept = append(kept, s...)
		}
		if m == mSOS {
			break
		}
	}
	if _, err := w.Write(kept); err != nil {
		return err
	}
	return jpegScans(w, r, res, seg)
}

// readSegment reads one marker and, when it has one, its segment into
// buf. It returns the marker and the bytes read (all of them, also on
// error).
func readSegment(r *bufio.Reader, buf []byte) (byte, []byte, error) {
	b, err := r.ReadByte()
	if err != nil {
		return 0, nil, errDamaged
	}
	if b != 0xff {
		return 0, []byte{b}, errDamaged
	}
	s := buf[:1]
	s[0] = 0xff
	m := byte(0xff)
	for m == 0xff { // fill bytes
		if m, err = r.ReadByte(); err != nil {
			return 0, s, errDamaged
		}
	}
	s = append(s, m)
	s, err = readBody(r, buf, s, m)
	return m, s, err
}

// readBody reads the length and payload of marker m's segment, if it has
// one, after s (which is buf[:len(s)]).
func readBody(r *bufio.Reader, buf, s []byte, m byte) ([]byte, error) {
	if standalone(m) {
		return s, nil
	}
	var l [2]byte
	n, err := io.ReadFull(r, l[:])
	s = append(s, l[:n]...)
	if err != nil {
		return s, errDamaged
	}
	size := int(binary.BigEndian.Uint16(l[:]))
	if size < 2 {
		return s, errDamaged
	}
	n, err = io.ReadFull(r, buf[len(s):len(s)+size-2])
	s = buf[:len(s)+n]
	if err != nil {
		return s, errDamaged
	}
	return s, nil
}

func standalone(m byte) bool {
	return m == mSOI || m == mEOI || m == 0x01 || (m >= 0xd0 && m <= 0xd7)
}

// jpegKeep reports whether segment s of marker m is kept, and records
// what is removed.
func jpegKeep(m byte, s []byte, res *Result) bool {
	var p []byte
	if len(s) >= 4 && !standalone(m) {
		p = s[4:]
	}
	switch {
	case m == mAPP0 && bytes.HasPrefix(p, []byte("JFIF\x00")):
		return true // density and version: decoders use it
	case m == mAPP0 && bytes.HasPrefix(p, []byte("JFXX\x00")):
		res.remove("thumbnail")
	case m == mAPP1 && bytes.HasPrefix(p, []byte("Exif\x00")):
		// "Exif\0\0" then the TIFF data; a segment cut after the first
		// NUL is still Exif, removed, with nothing more to name.
		exifRemovals(p[min(len(p), 6):], res)
	case m == mAPP1 && bytes.HasPrefix(p, []byte("http://ns.adobe.com/")):
		res.remove("xmp")
	case m == mAPP2 && bytes.HasPrefix(p, []byte("ICC_PROFILE\x00")):
		res.remove("icc") // a device's profile names the device; decoders assume sRGB without it
	case m == mAP13:
		res.remove("iptc")
	case m == mAP14 && bytes.HasPrefix(p, []byte("Adobe")):
		return true // tells decoders the colour transform (CMYK, YCCK)
	case m >= mAPP0 && m <= mAP15:
		res.remove("other")
	case m == mCOM:
		res.remove("comment")
	default:
		return true
	}
	return false
}

// jpegScans streams the entropy-coded data and what follows it.
func jpegScans(w *bufio.Writer, r *bufio.Reader, res *Result, seg []byte) error {
	for {
		chunk, err := r.ReadSlice(0xff)
		if err == bufio.ErrBufferFull {
			if _, err := w.Write(chunk); err != nil {
				return err
			}
			continue
		}
		if err != nil { // no end of image
			res.Reason = "damaged"
			_, err := w.Write(chunk)
			return err
		}
		if _, err := w.Write(chunk[:len(chunk)-1]); err != nil {
			return err
		}
		m, err := r.ReadByte()
		if err != nil {
			res.Reason = "damaged"
			return w.WriteByte(0xff)
		}
		switch {
		case m == 0x00 || m == 0x01 || (m >= 0xd0 && m <= 0xd7): // stuffing, restart
			w.Write([]byte{0xff, m})
			continue
		case m == 0xff: // fill
			w.WriteByte(0xff)
			r.UnreadByte()
			continue
		case m == mEOI:
			if _, err := w.Write([]byte{0xff, mEOI}); err != nil {
				return err
			}
			if n, _ := io.Copy(io.Discard, r); n > 0 {
				res.remove("trailer")
			}
			return nil
		case m == mSOI:
			res.Reason = "damaged"
			return passRest(w, []byte{0xff, m}, r)
		}
		s, err := readBody(r, seg, append(seg[:0], 0xff, m), m)
		if err != nil {
			res.Reason = "damaged"
			return passRest(w, s, r)
		}
		if jpegKeep(m, s, res) {
			if _, err := w.Write(s); err != nil {
				return err
			}
		}
	}
}

// exifRemovals names what an EXIF block (a TIFF structure) holds.
func exifRemovals(t []byte, res *Result) {
	defer res.remove("exif")
	if len(t) < 8 {
		return
	}
	var bo binary.ByteOrder
	switch string(t[:2]) {
	case "II":
		bo = binary.LittleEndian
	case "MM":
		bo = binary.BigEndian
	default:
		return
	}
	names := map[uint16]string{
		0x8825: "gps", 0x010f: "camera", 0x0110: "camera", 0xa431: "camera", 0xa433: "camera",
		0xa434: "camera", 0xa435: "camera", 0x927c: "camera", 0xa430: "owner", 0x013b: "author",
		0x9c9d: "author", 0x8298: "author", 0x0131: "software", 0x000b: "software",
		0x0132: "dates", 0x9003: "dates", 0x9004: "dates", 0x010e: "title", 0x9c9b: "title",
		0x9c9f: "title", 0x9c9e: "title", 0x9286: "comment", 0x9c9c: "comment",
	}
	seen := map[uint32]bool{}
	var walk func(off uint32, depth int, ifd0 bool)
	walk = func(off uint32, depth int, ifd0 bool) {
		if depth > 4 || seen[off] || int64(off)+2 > int64(len(t)) {
			return
		}
		seen[off] = true
		n := int(bo.Uint16(t[off:]))
		e := t[off+2:]
		for i := 0; i < n && (i+1)*12 <= len(e); i++ {
			tag := bo.Uint16(e[i*12:])
			if k, ok := names[tag]; ok {
				res.remove(k)
			}
			if tag == 0x8769 || tag == 0xa005 { // Exif and interoperability IFDs
				walk(bo.Uint32(e[i*12+8:]), depth+1, false)
			}
		}
		if ifd0 && n*12+4 <= len(e) && bo.Uint32(e[n*12:]) != 0 {
			res.remove("thumbnail") // IFD1 is the thumbnail's
		}
	}
	walk(bo.Uint32(t[4:]), 0, true)
}
