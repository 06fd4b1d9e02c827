package vault

import (
	"archive/tar"
	"bufio"
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
const referralFormat = "cleandrop-referral/1"

// ErrNotReferral is returned by [Store.ReceiveReferral] for a file that is
// not a referral bundle (such as an export bundle).
var ErrNotReferral = errors.New("not a referral bundle")

// ErrItemsMismatch: the referral's items are not the items of the case it
// was made from (fewer or more, another kind, batch or day, a name where
// there was none, or contents of another length).
var ErrItemsMismatch = errors.New("the referral's items do not match the case")

// ErrWrongCase: the referral bundle was made from another case than the
// one it is being filed against.
var ErrWrongCase = errors.New("the referral bundle was made from another case")

type referralManifest struct {
	Format     string         `json:"format"`
	FromRef    string         `json:"from_ref"`
	FromAgency string         `json:"from_agency"`
	ToAgency   string         `json:"to_agency"`
	Made       string         `json:"made"`
	Source     string         `json:"source_manifest_sha256"`
	Items      []manifestItem `json:"items"`
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

// MakeReferral reads an export bundle (checked as [OpenBundleWith] checks
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

	m := referralManifest{
		Format: referralFormat, FromRef: chk.m.Ref, FromAgency: chk.m.Agency, ToAgency: to,
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
			return nil, tampered("reading bundle: %v", err)
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
			return nil, tampered("item %d: cannot decrypt: %v", it.ID, err)
		}
		size, sum, err := sealToFile(filepath.Join(spool, fmt.Sprint(it.ID)), &readErr{r: dec}, recips)
		if _, cerr := io.Copy(io.Discard, tee); err == nil {
			err = cerr
		}
		var re *readErr
		switch {
		case errors.As(err, &re):
			return nil, tampered("item %d: cannot decrypt: %v", it.ID, re.err)
		case err != nil:
			return nil, fmt.Errorf("item %d: %w", it.ID, err)
		case hdr.Size != e.size || hex.EncodeToString(in.Sum(nil)) != e.sum:
			return nil, tampered("item %d: bundle changed while being read", it.ID)
		}
		it.Size, it.SHA256 = size, sum
		if it.NameFile != "" {
			n, err := sealBytes([]byte(chk.names[it.ID]), recips)
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
		return nil, tampered("bundle changed while being read")
	}
	sort.Slice(m.Items, func(i, j int) bool { return m.Items[i].ID < m.Items[j].ID })
	mj, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return nil, err
	}
	mj = append(mj, '\n')

	bw := newBundleWriter(w, m.Made)
	if err := bw.put(manifestName, int64(len(mj)), bytes.NewReader(mj)); err != nil {
		return nil, err
	}
	for _, it := range m.Items {
		if n := names[it.ID]; n != nil {
			if err := bw.put(it.NameFile, int64(len(n)), bytes.NewReader(n)); err != nil {
				return nil, err
			}
		}
		f, err := os.Open(filepath.Join(spool, fmt.Sprint(it.ID)))
		if err != nil {
			return nil, err
		}
		err = bw.put(it.File, it.Size, f)
		f.Close()
		if err != nil {
			return nil, err
		}
	}
	if err := bw.tw.Close(); err != nil {
		return nil, err
	}
	return &ReferralInfo{FromRef: m.FromRef, FromAgency: m.FromAgency, ToAgency: to, Items: len(m.Items), Source: m.Source,
		Identities: len(chk.m.Items) - kept}, nil
}

// withoutIdentities returns the items that are not identities, which
// stay with the agency they were filed with.
func withoutIdentities(items []manifestItem) []manifestItem {
	return slices.DeleteFunc(slices.Clone(items), func(it manifestItem) bool { return it.Kind == KindIdentity })
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

// ReceiveOptions adjust [Store.ReceiveReferral].
type ReceiveOptions struct {
	Stage   string // the referring case's new stage ("" leaves it)
	Officer string // who files the referral
	// Reason is required, one of [ReferralReasons], when the case was
	// referred to the same agency before ([ErrReferredBefore]).
	Reason string
}

// ReceiveReferral files a referral bundle made by [MakeReferral] from case
// from: it reads the bundle from r, checks every file against its manifest
// as it streams into the vault, and commits it as a new case of the agency
// the bundle names, recording the referral in both cases ([Store.Refer]).
// It returns the referring case's new custody link. Errors for a damaged
// bundle wrap [ErrTampered]; a bundle whose items are not the case's
// (count, IDs, kinds, batches, days, names, and the length of each item's
// sealed content, which age makes a function of the plaintext's) is
// [ErrItemsMismatch]. Nothing is kept unless all of it succeeds.
func (s *Store) ReceiveReferral(r io.Reader, from string, opts ReceiveOptions) (Custody, error) {
	h := sha256.New()
	body := io.TeeReader(r, h)
	tr := tar.NewReader(body)
	hdr, err := tr.Next()
	if err != nil {
		return Custody{}, fmt.Errorf("vault: referral: %w: %v", ErrNotReferral, err)
	}
	if hdr.Name != manifestName {
		return Custody{}, fmt.Errorf("vault: referral: %w", ErrNotReferral)
	}
	mj, err := readSmall(tr, hdr, maxManifestLen)
	if err != nil {
		return Custody{}, fmt.Errorf("vault: referral: %w", tampered("%s: %v", manifestName, err))
	}
	var m referralManifest
	if err := parseReferral(mj, &m); err != nil {
		return Custody{}, fmt.Errorf("vault: referral: %w", err)
	}
	if normalizeRef(from) != m.FromRef {
		return Custody{}, fmt.Errorf("vault: referral: %w", ErrWrongCase)
	}
	c, err := s.Case(from)
	if err != nil {
		return Custody{}, err
	}
	if c.Agency != m.FromAgency {
		return Custody{}, fmt.Errorf("vault: referral: %w", ErrWrongCase)
	}
	payloads, err := s.matchItems(c, m.Items)
	if err != nil {
		return Custody{}, fmt.Errorf("vault: referral: %w", err)
	}
	b, err := s.Refer(m.ToAgency, Referral{From: c.Ref, Stage: opts.Stage, Source: m.Source, Officer: opts.Officer, Reason: opts.Reason})
	if err != nil {
		return Custody{}, err
	}
	defer b.Abort()
	for i, it := range m.Items {
		var name []byte
		hdr, err := tr.Next()
		if err != nil {
			return Custody{}, fmt.Errorf("vault: referral: %w", tampered("item %d: missing", it.ID))
		}
		if it.NameFile != "" {
			if hdr.Name != it.NameFile || hdr.Typeflag != tar.TypeReg || hdr.Size > maxNameFileLen {
				return Custody{}, fmt.Errorf("vault: referral: %w", tampered("item %d: name file missing", it.ID))
			}
			if name, err = readSmall(tr, hdr, maxNameFileLen); err != nil {
				return Custody{}, fmt.Errorf("vault: referral: %w", tampered("item %d: name: %v", it.ID, err))
			}
			if s := sha256.Sum256(name); hex.EncodeToString(s[:]) != it.NameSHA256 {
				return Custody{}, fmt.Errorf("vault: referral: %w", tampered("item %d: name checksum mismatch", it.ID))
			}
			if hdr, err = tr.Next(); err != nil {
				return Custody{}, fmt.Errorf("vault: referral: %w", tampered("item %d: missing", it.ID))
			}
		}
		if hdr.Name != it.File || hdr.Typeflag != tar.TypeReg || hdr.Size != it.Size {
			return Custody{}, fmt.Errorf("vault: referral: %w", tampered("item %d: not the file the manifest names", it.ID))
		}
		ih := sha256.New()
		br := bufio.NewReaderSize(io.TeeReader(tr, ih), 64<<10)
		ahdr, err := readAgeHeader(br)
		if err != nil {
			return Custody{}, fmt.Errorf("vault: referral: %w", tampered("item %d: %v", it.ID, err))
		}
		if it.Size-int64(len(ahdr)) != payloads[i] {
			return Custody{}, fmt.Errorf("vault: referral: item %d: %w", it.ID, ErrItemsMismatch)
		}
		if err := b.AddSealed(it.Kind, io.MultiReader(bytes.NewReader(ahdr), br), name); err != nil {
			if errors.Is(err, ErrNotAge) {
				err = tampered("item %d: %v", it.ID, err)
			}
			return Custody{}, fmt.Errorf("vault: referral: %w", err)
		}
		if hex.EncodeToString(ih.Sum(nil)) != it.SHA256 {
			return Custody{}, fmt.Errorf("vault: referral: %w", tampered("item %d: checksum mismatch", it.ID))
		}
	}
	if _, err := tr.Next(); err != io.EOF {
		return Custody{}, fmt.Errorf("vault: referral: %w", tampered("unexpected file after the last item"))
	}
	if _, err := io.Copy(io.Discard, body); err != nil {
		return Custody{}, fmt.Errorf("vault: referral: %w", err)
	}
	b.refer.Bundle = hex.EncodeToString(h.Sum(nil))
	if _, err := b.Commit(); err != nil {
		return Custody{}, err
	}
	return b.refer.out, nil
}

// matchItems checks a referral manifest's items (sorted by ID) against
// case c's, field by field, and returns the payload length (ciphertext
// after the age header) of each of c's items in the same order: age seals
// plaintext of one length to a payload of one length whoever it is sealed
// to, so a re-sealed item's payload must be as long.
func (s *Store) matchItems(c Case, items []manifestItem) ([]int64, error) {
	c.Items = slices.DeleteFunc(slices.Clone(c.Items), func(it Item) bool { return it.Kind == KindIdentity })
	if len(items) != len(c.Items) {
		return nil, fmt.Errorf("%d items for a case of %d: %w", len(items), len(c.Items), ErrItemsMismatch)
	}
	byID := make(map[int]Item, len(c.Items))
	for _, it := range c.Items {
		byID[it.ID] = it
	}
	payloads := make([]int64, len(items))
	for i, it := range items {
		src, ok := byID[it.ID]
		switch {
		case !ok:
			return nil, fmt.Errorf("item %d: not in the case: %w", it.ID, ErrItemsMismatch)
		case it.Kind != src.Kind || it.Batch != src.Batch || it.Day != src.Day:
			return nil, fmt.Errorf("item %d: kind, batch or day differ: %w", it.ID, ErrItemsMismatch)
		case (it.NameFile != "") != (src.Name != nil):
			return nil, fmt.Errorf("item %d: name differs: %w", it.ID, ErrItemsMismatch)
		}
		n, err := s.headerLen(c.Ref, it.ID)
		if err != nil {
			return nil, err
		}
		payloads[i] = src.Size - n
	}
	return payloads, nil
}

// headerLen is the length of the age header of item id of case ref.
func (s *Store) headerLen(ref string, id int) (int64, error) {
	rc, err := s.OpenItem(ref, id)
	if err != nil {
		return 0, err
	}
	defer rc.Close()
	hdr, err := readAgeHeader(bufio.NewReaderSize(rc, 64<<10))
	if err != nil {
		return 0, fmt.Errorf("item %d: stored item unreadable: %w", id, err)
	}
	return int64(len(hdr)), nil
}

// parseReferral decodes and validates a referral manifest strictly.
func parseReferral(b []byte, m *referralManifest) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(m); err != nil {
		var probe struct{ Format string }
		if json.Unmarshal(b, &probe) == nil && probe.Format == bundleFormat {
			return ErrNotReferral
		}
		return tampered("%s: %v", manifestName, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return tampered("%s: trailing data", manifestName)
	}
	if m.Format != referralFormat {
		return ErrNotReferral
	}
	for _, v := range []string{m.FromRef, m.FromAgency, m.ToAgency} {
		if v == "" || !plainField(v) {
			return tampered("%s: bad case or agency", manifestName)
		}
	}
	if !validDay(m.Made) || !validSum(m.Source) {
		return tampered("%s: bad day or checksum", manifestName)
	}
	if err := parseItems(m.Items); err != nil {
		return tampered("%s: %v", manifestName, err)
	}
	return nil
}
