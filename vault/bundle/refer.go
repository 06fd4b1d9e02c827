package bundle

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sort"

	"filippo.io/age"
)

// A referral bundle carries a case's items, re-sealed on the offline
// machine to another agency's recipients, from the officer's machine to the
// desk. Its layout is an export bundle's, with its own manifest format and
// each attachment's name file just before the attachment.
const ReferralFormat = "cleandrop-referral/1"

// ErrNotReferral is returned by [NewReferralReader] for a file that is
// not a referral bundle (such as an export bundle).
var ErrNotReferral = errors.New("not a referral bundle")

// ReferralManifest is manifest.json of a referral bundle.
type ReferralManifest struct {
	Format     string         `json:"format"`
	FromRef    string         `json:"from_ref"`
	FromAgency string         `json:"from_agency"`
	ToAgency   string         `json:"to_agency"`
	Made       string         `json:"made"`
	Source     string         `json:"source_manifest_sha256"`
	Items      []ManifestItem `json:"items"`
}

// ReferralInfo describes a referral bundle made by [MakeReferral].
type ReferralInfo struct {
	FromRef, FromAgency, ToAgency string
	Items                         int
	Source                        string // hex SHA-256 of the export manifest
	// Identities is how many identities the case holds that stay behind:
	// sealed to this agency's custodian, they are never referred.
	Identities int
}

// MakeReferral reads an export bundle (checked as [OpenWith] checks
// it: every size, checksum and, with opts.Verify, the signature), decrypts
// each item with identities and seals it again to recipients, the keys of
// agency to, writing a referral bundle to w. Plaintext stays in memory; the
// re-sealed items are spooled to a private temporary directory first.
func MakeReferral(r io.Reader, identities []age.Identity, to string, recipients []age.Recipient, w io.Writer, opts OpenOptions) (*ReferralInfo, error) {
	info, err := makeReferral(r, identities, to, recipients, w, opts)
	if err != nil {
		return nil, fmt.Errorf("vault: refer: %w", err)
	}
	return info, nil
}

func makeReferral(r io.Reader, ids []age.Identity, to string, recips []age.Recipient, w io.Writer, opts OpenOptions) (*ReferralInfo, error) {
	switch {
	case len(ids) == 0:
		return nil, errors.New("no identities")
	case len(recips) == 0:
		return nil, errors.New("no recipients")
	case !plainField(to) || to == "":
		return nil, errors.New("bad agency")
	}
	rs, start, cleanup, err := rewindable(r)
	if err != nil {
		return nil, err
	}
	defer cleanup()
	chk, err := checkBundle(rs, ids, opts)
	if err != nil {
		return nil, err
	}
	if chk.m.Agency == to {
		return nil, ErrSameAgency
	}
	if _, err := rs.Seek(start, io.SeekStart); err != nil {
		return nil, err
	}
	spool, err := os.MkdirTemp("", "cleandrop-refer-*")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(spool)

	m := ReferralManifest{
		Format: ReferralFormat, FromRef: chk.m.Ref, FromAgency: chk.m.Agency, ToAgency: to,
		Made: chk.m.Exported, Source: hex.EncodeToString(chk.manifestSum[:]),
	}
	names := make(map[int][]byte)
	tr := tar.NewReader(rs)
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, Tampered("reading bundle: %v", err)
		}
		e, ok := chk.files[hdr.Name]
		if !ok || e.isName {
			continue // the manifest, its signature, and name files (decrypted in the check)
		}
		it := *e.item
		if it.Kind == KindIdentity {
			// The reporter gave their identity to this agency's custodian:
			// it does not travel with a referral.
			continue
		}
		// The bundle is read a second time here: it must still be the one
		// the first pass checked, file for file.
		in := sha256.New()
		tee := &readErr{r: io.TeeReader(tr, in)}
		dec, err := age.Decrypt(tee, ids...)
		if err != nil {
			return nil, Tampered("item %d: cannot decrypt: %v", it.ID, err)
		}
		size, sum, err := sealToFile(filepath.Join(spool, fmt.Sprint(it.ID)), &readErr{r: dec}, recips)
		if _, cerr := io.Copy(io.Discard, tee); err == nil {
			err = cerr
		}
		var re *readErr
		switch {
		case errors.As(err, &re):
			return nil, Tampered("item %d: cannot decrypt: %v", it.ID, re.err)
		case err != nil:
			return nil, fmt.Errorf("item %d: %w", it.ID, err)
		case hdr.Size != e.size || hex.EncodeToString(in.Sum(nil)) != e.sum:
			return nil, Tampered("item %d: bundle changed while being read", it.ID)
		}
		it.Size, it.SHA256 = size, sum
		if it.NameFile != "" {
			n, err := Seal([]byte(chk.names[it.ID]), recips)
			if err != nil {
				return nil, fmt.Errorf("item %d: name: %w", it.ID, err)
			}
			s := sha256.Sum256(n)
			it.NameSHA256, names[it.ID] = hex.EncodeToString(s[:]), n
		}
		m.Items = append(m.Items, it)
	}
	kept := len(withoutIdentities(chk.m.Items))
	if len(m.Items) != kept {
		return nil, Tampered("bundle changed while being read")
	}
	sort.Slice(m.Items, func(i, j int) bool { return m.Items[i].ID < m.Items[j].ID })
	mj, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return nil, err
	}
	mj = append(mj, '\n')

	bw := NewWriter(w, m.Made)
	if err := bw.Put(ManifestName, int64(len(mj)), bytes.NewReader(mj)); err != nil {
		return nil, err
	}
	for _, it := range m.Items {
		if n := names[it.ID]; n != nil {
			if err := bw.Put(it.NameFile, int64(len(n)), bytes.NewReader(n)); err != nil {
				return nil, err
			}
		}
		f, err := os.Open(filepath.Join(spool, fmt.Sprint(it.ID)))
		if err != nil {
			return nil, err
		}
		err = bw.Put(it.File, it.Size, f)
		f.Close()
		if err != nil {
			return nil, err
		}
	}
	if err := bw.Close(); err != nil {
		return nil, err
	}
	return &ReferralInfo{FromRef: m.FromRef, FromAgency: m.FromAgency, ToAgency: to, Items: len(m.Items), Source: m.Source,
		Identities: len(chk.m.Items) - kept}, nil
}

// withoutIdentities returns the items that are not identities, which
// stay with the agency they were filed with.
func withoutIdentities(items []ManifestItem) []ManifestItem {
	return slices.DeleteFunc(slices.Clone(items), func(it ManifestItem) bool { return it.Kind == KindIdentity })
}

// readErr marks the errors of reading r, so that a failure to read (a
// damaged bundle) is told apart from a failure to write (a full disk).
type readErr struct {
	r   io.Reader
	err error
}

func (r *readErr) Read(p []byte) (int, error) {
	n, err := r.r.Read(p)
	if err != nil && err != io.EOF {
		r.err = err
		return n, r
	}
	return n, err
}

func (r *readErr) Error() string { return r.err.Error() }

// sealToFile seals plain to recips into a new file at path and returns the
// ciphertext's size and SHA-256.
func sealToFile(path string, plain io.Reader, recips []age.Recipient) (int64, string, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return 0, "", err
	}
	defer f.Close()
	h := sha256.New()
	aw, err := age.Encrypt(io.MultiWriter(f, h), recips...)
	if err != nil {
		return 0, "", err
	}
	if _, err := io.Copy(aw, plain); err != nil {
		return 0, "", err
	}
	if err := aw.Close(); err != nil {
		return 0, "", err
	}
	size, err := f.Seek(0, io.SeekCurrent)
	if err != nil {
		return 0, "", err
	}
	if err := f.Close(); err != nil {
		return 0, "", err
	}
	return size, hex.EncodeToString(h.Sum(nil)), nil
}

// A ReferralReader reads a referral bundle as it streams, without a
// temporary copy: its manifest, checked strictly, then each item's files
// in the manifest's order.
type ReferralReader struct {
	tr   *tar.Reader
	cr   *countingReader
	last int64 // the size of the last file whose header was read
	m    ReferralManifest
	next int
}

// countingReader counts what was read through it.
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// NewReferralReader reads and checks the manifest at the start of r. A
// file that is not a referral bundle is [ErrNotReferral]; a damaged
// manifest wraps [ErrTampered].
func NewReferralReader(r io.Reader) (*ReferralReader, error) {
	cr := &countingReader{r: r}
	rr := &ReferralReader{tr: tar.NewReader(cr), cr: cr}
	hdr, err := rr.tr.Next()
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrNotReferral, err)
	}
	if hdr.Name != ManifestName {
		return nil, ErrNotReferral
	}
	rr.last = hdr.Size
	mj, err := readSmall(rr.tr, hdr, maxManifestLen)
	if err != nil {
		return nil, Tampered("%s: %v", ManifestName, err)
	}
	if err := parseReferral(mj, &rr.m); err != nil {
		return nil, err
	}
	return rr, nil
}

// Manifest is the bundle's manifest; its items are sorted by ID.
func (rr *ReferralReader) Manifest() *ReferralManifest { return &rr.m }

// Next moves to the next item of the manifest. It reads and checks the
// item's sealed name, for an attachment, and checks that the item's file
// is the one the manifest names, of its size; it returns the item, the
// sealed name (nil when none), and the item's ciphertext, whose SHA-256
// the caller checks against the item's as it reads it. After the last
// item Next returns io.EOF, once it checked that no file follows and that
// the bundle ends with tar's end-of-archive marker: a bundle cut short
// after its last item would still give every item whole, but its
// checksum would not be the one its maker recorded. Errors for a damaged
// bundle wrap [ErrTampered].
func (rr *ReferralReader) Next() (ManifestItem, []byte, io.Reader, error) {
	if rr.next == len(rr.m.Items) {
		before := rr.cr.n
		if _, err := rr.tr.Next(); err != io.EOF {
			return ManifestItem{}, nil, nil, Tampered("unexpected file after the last item")
		}
		// Past the last file: whatever of it was left unread, its padding
		// to tar's 512-byte blocks, and the two zero blocks of the end
		// marker. archive/tar says io.EOF without them too.
		if rr.cr.n-before < (-rr.last)&511+2*512 {
			return ManifestItem{}, nil, nil, Tampered("the bundle ends without tar's end marker: it was cut short")
		}
		return ManifestItem{}, nil, nil, io.EOF
	}
	it := rr.m.Items[rr.next]
	rr.next++
	var name []byte
	hdr, err := rr.tr.Next()
	if err != nil {
		return it, nil, nil, Tampered("item %d: missing", it.ID)
	}
	if it.NameFile != "" {
		if hdr.Name != it.NameFile || hdr.Typeflag != tar.TypeReg || hdr.Size > maxNameFileLen {
			return it, nil, nil, Tampered("item %d: name file missing", it.ID)
		}
		if name, err = readSmall(rr.tr, hdr, maxNameFileLen); err != nil {
			return it, nil, nil, Tampered("item %d: name: %v", it.ID, err)
		}
		if s := sha256.Sum256(name); hex.EncodeToString(s[:]) != it.NameSHA256 {
			return it, nil, nil, Tampered("item %d: name checksum mismatch", it.ID)
		}
		if hdr, err = rr.tr.Next(); err != nil {
			return it, nil, nil, Tampered("item %d: missing", it.ID)
		}
	}
	if hdr.Name != it.File || hdr.Typeflag != tar.TypeReg || hdr.Size != it.Size {
		return it, nil, nil, Tampered("item %d: not the file the manifest names", it.ID)
	}
	rr.last = hdr.Size
	return it, name, rr.tr, nil
}

// parseReferral decodes and validates a referral manifest strictly.
func parseReferral(b []byte, m *ReferralManifest) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(m); err != nil {
		var probe struct{ Format string }
		if json.Unmarshal(b, &probe) == nil && probe.Format == Format {
			return ErrNotReferral
		}
		return Tampered("%s: %v", ManifestName, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return Tampered("%s: trailing data", ManifestName)
	}
	if m.Format != ReferralFormat {
		return ErrNotReferral
	}
	for _, v := range []string{m.FromRef, m.FromAgency, m.ToAgency} {
		if v == "" || !plainField(v) {
			return Tampered("%s: bad case or agency", ManifestName)
		}
	}
	if !validDay(m.Made) || !ValidSum(m.Source) {
		return Tampered("%s: bad day or checksum", ManifestName)
	}
	if err := parseItems(m.Items); err != nil {
		return Tampered("%s: %v", ManifestName, err)
	}
	return nil
}

// Seal seals a small plaintext (an attachment's name, a note) in memory.
func Seal(plain []byte, recips []age.Recipient) ([]byte, error) {
	var buf bytes.Buffer
	w, err := age.Encrypt(&buf, recips...)
	if err != nil {
		return nil, err
	}
	if _, err := w.Write(plain); err != nil {
		return nil, err
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
