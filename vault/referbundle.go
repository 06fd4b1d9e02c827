package vault

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"slices"

	"cleandrop/vault/bundle"
)

// ErrNotReferral is returned by [Store.ReceiveReferral] for a file that is
// not a referral bundle (such as an export bundle).
var ErrNotReferral = bundle.ErrNotReferral

// ErrItemsMismatch: the referral's items are not the items of the case it
// was made from (fewer or more, another kind, batch or day, a name where
// there was none, or contents of another length).
var ErrItemsMismatch = errors.New("the referral's items do not match the case")

// ErrWrongCase: the referral bundle was made from another case than the
// one it is being filed against.
var ErrWrongCase = errors.New("the referral bundle was made from another case")

// ReceiveOptions adjust [Store.ReceiveReferral].
type ReceiveOptions struct {
	Stage   string // the referring case's new stage ("" leaves it)
	Officer string // who files the referral
	// Reason is required, one of [ReferralReasons], when the case was
	// referred to the same agency before ([ErrReferredBefore]).
	Reason string
}

// ReceiveReferral files a referral bundle made by [bundle.MakeReferral] from case
// from: it reads the bundle from r, checks every file against its manifest
// as it streams into the vault, and commits it as a new case of the agency
// the bundle names, recording the referral in both cases ([Store.Refer]).
// It returns the referring case's new custody link. Errors for a damaged
// bundle wrap [bundle.ErrTampered]; a bundle whose items are not the case's
// (count, IDs, kinds, batches, days, names, and the length of each item's
// sealed content, which age makes a function of the plaintext's) is
// [ErrItemsMismatch]. Nothing is kept unless all of it succeeds.
func (s *Store) ReceiveReferral(r io.Reader, from string, opts ReceiveOptions) (Custody, error) {
	h := sha256.New()
	body := io.TeeReader(r, h)
	rr, err := bundle.NewReferralReader(body)
	if err != nil {
		return Custody{}, fmt.Errorf("vault: referral: %w", err)
	}
	m := rr.Manifest()
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
	for i := 0; ; i++ {
		it, name, item, err := rr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return Custody{}, fmt.Errorf("vault: referral: %w", err)
		}
		ih := sha256.New()
		br := bufio.NewReaderSize(io.TeeReader(item, ih), 64<<10)
		ahdr, err := readAgeHeader(br)
		if err != nil {
			return Custody{}, fmt.Errorf("vault: referral: %w", bundle.Tampered("item %d: %v", it.ID, err))
		}
		if it.Size-int64(len(ahdr)) != payloads[i] {
			return Custody{}, fmt.Errorf("vault: referral: item %d: %w", it.ID, ErrItemsMismatch)
		}
		if err := b.AddSealed(it.Kind, io.MultiReader(bytes.NewReader(ahdr), br), name); err != nil {
			if errors.Is(err, ErrNotAge) {
				err = bundle.Tampered("item %d: %v", it.ID, err)
			}
			return Custody{}, fmt.Errorf("vault: referral: %w", err)
		}
		if hex.EncodeToString(ih.Sum(nil)) != it.SHA256 {
			return Custody{}, fmt.Errorf("vault: referral: %w", bundle.Tampered("item %d: checksum mismatch", it.ID))
		}
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
func (s *Store) matchItems(c Case, items []bundle.ManifestItem) ([]int64, error) {
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
