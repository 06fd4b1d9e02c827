package strip

import (
	"bufio"
	"encoding/binary"
	"io"
)

var pngMagic = []byte("\x89PNG\r\n\x1a\n")

// pngKept are the chunks a PNG keeps: the critical ones, transparency,
// the colour space chunks a viewer needs to show the right colours (but
// not an embedded ICC profile, which names a device), and APNG's animation
// chunks. Every other ancillary chunk goes: text (tEXt, zTXt, iTXt), EXIF
// (eXIf), time (tIME), physical size, background, histograms, private
// chunks. Kept chunks are copied byte for byte, so their CRCs stay valid.
var pngKept = map[string]bool{
	"IHDR": true, "PLTE": true, "IDAT": true, "IEND": true, "tRNS": true,
	"gAMA": true, "cHRM": true, "sRGB": true, "sBIT": true,
	"acTL": true, "fcTL": true, "fdAT": true,
}

var pngRemoved = map[string]string{
	"tEXt": "text", "zTXt": "text", "iTXt": "text", "eXIf": "exif", "tIME": "dates",
	"iCCP": "icc", "caNv": "other",
}

// cleanPNG filters a PNG chunk by chunk: the chunks before the first image
// data are held (up to MaxHeader) so that a damaged head passes
// unchanged; after it chunks stream. What follows IEND is left out.
func (c *Cleaner) cleanPNG(w *bufio.Writer, r *bufio.Reader, res *Result) error {
	held := make([]byte, len(pngMagic))
	io.ReadFull(r, held) // peeked: they are there
	kept := append([]byte(nil), held...)
	var hdr [8]byte
	for streaming := false; ; {
		n, err := io.ReadFull(r, hdr[:])
		if !streaming {
			held = append(held, hdr[:n]...)
		}
		size := int64(binary.BigEndian.Uint32(hdr[:]))
		typ := string(hdr[4:8])
		if err != nil || size > 1<<31-1 || !chunkType(hdr[4:8]) {
			res.Reason = "damaged"
			if streaming {
				return passRest(w, hdr[:n], r)
			}
			res.Removed = nil
			return passRest(w, held, r)
		}
		keep := pngKept[typ] || hdr[4]&0x20 == 0 // unknown critical chunks stay: decoders need them
		if !keep {
			if k, ok := pngRemoved[typ]; ok {
				res.remove(k)
			} else {
				res.remove("other")
			}
		}
		if !streaming && (typ == "IDAT" || typ == "IEND" || int64(len(held))+size > int64(c.maxHeader())) {
			if _, err := w.Write(kept); err != nil {
				return err
			}
			streaming = true
		}
		if !streaming {
			body := make([]byte, size+4)
			n, err := io.ReadFull(r, body)
			held = append(held, body[:n]...)
			if err != nil {
				res.Reason, res.Removed = "damaged", nil
				return passRest(w, held, r)
			}
			if keep {
				kept = append(kept, hdr[:]...)
				kept = append(kept, body...)
			} else if typ == "eXIf" {
				exifRemovals(body[:size], res) // names what it held: GPS, camera…
			}
			continue
		}
		dst := io.Discard
		if keep {
			dst = w
			if _, err := w.Write(hdr[:]); err != nil {
				return err
			}
		}
		if _, err := io.CopyN(dst, r, size+4); err != nil {
			res.Reason = "damaged"
			return w.Flush()
		}
		if typ == "IEND" {
			if n, _ := io.Copy(io.Discard, r); n > 0 {
				res.remove("trailer")
			}
			return nil
		}
	}
}

func chunkType(t []byte) bool {
	for _, b := range t {
		if !(b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z') {
			return false
		}
	}
	return true
}
