package vault

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"

	"cleandrop/vault/bundle"
)

// ExportOptions adjust [Store.ExportWith].
type ExportOptions struct {
	// Sign, when set, signs the exact bytes of manifest.json; its result is
	// written as manifest.json.sig right after the manifest.
	Sign func(manifest []byte) ([]byte, error)
}

// Export writes case ref to w as an uncompressed tar bundle of ciphertext:
// manifest.json first, then items/NNN-<kind>.age for each item and
// items/NNN-name.age for each sealed attachment name. The manifest records
// the size and SHA-256 of every file. Nothing in a bundle is plaintext
// except the case metadata in the manifest. An identity travels sealed to
// the agency's custodian only, as it is stored.
func (s *Store) Export(w io.Writer, ref string) error {
	return s.ExportWith(w, ref, ExportOptions{})
}

// ExportWith is [Store.Export] with options.
func (s *Store) ExportWith(w io.Writer, ref string, opts ExportOptions) error {
	c, err := s.Case(ref)
	if err != nil {
		return err
	}
	day := s.day()
	m := bundle.Manifest{
		Format:   bundle.Format,
		Ref:      c.Ref,
		Agency:   c.Agency,
		Stage:    c.Stage,
		Opened:   c.Opened,
		Exported: day,
		History:  make([]bundle.ManifestEvent, 0, len(c.History)),
		Custody:  c.Custody,
		Items:    make([]bundle.ManifestItem, 0, len(c.Items)),
	}
	for _, e := range c.History {
		m.History = append(m.History, bundle.ManifestEvent(e))
	}
	for _, it := range c.Items {
		mi := bundle.ManifestItem{
			ID: it.ID, Batch: it.Batch, Kind: it.Kind, Day: it.Day,
			File: bundle.ItemFile(it.ID, it.Kind), Size: it.Size, SHA256: it.SHA256, Purpose: it.Purpose,
		}
		if it.Name != nil {
			sum := sha256.Sum256(it.Name)
			mi.NameFile, mi.NameSHA256 = bundle.NameFile(it.ID), hex.EncodeToString(sum[:])
		}
		m.Items = append(m.Items, mi)
	}
	mj, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return fmt.Errorf("vault: export: %w", err)
	}
	mj = append(mj, '\n')

	bw := bundle.NewWriter(w, day)
	if err := bw.Put(bundle.ManifestName, int64(len(mj)), bytes.NewReader(mj)); err != nil {
		return fmt.Errorf("vault: export: %w", err)
	}
	if opts.Sign != nil {
		sig, err := opts.Sign(bytes.Clone(mj))
		if err != nil {
			return fmt.Errorf("vault: export: sign manifest: %w", err)
		}
		if err := bw.Put(bundle.SignatureName, int64(len(sig)), bytes.NewReader(sig)); err != nil {
			return fmt.Errorf("vault: export: %w", err)
		}
	}
	for i, it := range c.Items {
		if err := s.exportItem(bw, c.Ref, it, m.Items[i].File); err != nil {
			return fmt.Errorf("vault: export: item %d: %w", it.ID, err)
		}
		if it.Name != nil {
			if err := bw.Put(m.Items[i].NameFile, int64(len(it.Name)), bytes.NewReader(it.Name)); err != nil {
				return fmt.Errorf("vault: export: item %d: %w", it.ID, err)
			}
		}
	}
	if err := bw.Close(); err != nil {
		return fmt.Errorf("vault: export: %w", err)
	}
	return nil
}

// exportItem copies one item's ciphertext into the bundle, checking it
// against its record on the way.
func (s *Store) exportItem(bw *bundle.Writer, ref string, it Item, file string) error {
	rc, err := s.OpenItem(ref, it.ID)
	if err != nil {
		return err
	}
	defer rc.Close()
	if err := bw.Head(file, it.Size); err != nil {
		return err
	}
	// Hashed a buffer ahead of the writing, on the other core.
	h := sha256.New()
	if _, err := copyHashed(bw, rc, h); err != nil {
		return err
	}
	if hex.EncodeToString(h.Sum(nil)) != it.SHA256 {
		return fmt.Errorf("stored ciphertext does not match its record")
	}
	return nil
}
