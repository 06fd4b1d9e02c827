package vault

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"time"
)

// Bundle layout.
const (
	bundleFormat   = "cleandrop-bundle/1"
	manifestName   = "manifest.json"
	signatureName  = "manifest.json.sig"
	itemsDir       = "items/"
	maxManifestLen = 8 << 20
	maxSigLen      = 64 << 10
	maxNameFileLen = 64 << 10
	maxBundleItems = 100000
	maxItemSize    = 1 << 40
)

// manifest is manifest.json, the first file of a bundle.
type manifest struct {
	Format   string          `json:"format"`
	Ref      string          `json:"ref"`
	Agency   string          `json:"agency"`
	Stage    string          `json:"stage"`
	Opened   string          `json:"opened"`
	Exported string          `json:"exported"`
	History  []manifestEvent `json:"history"`
	Custody  []Custody       `json:"custody,omitempty"`
	Items    []manifestItem  `json:"items"`
}

type manifestEvent struct {
	Day   string `json:"day"`
	Stage string `json:"stage"`
	Batch int    `json:"batch"`
}

type manifestItem struct {
	ID         int     `json:"id"`
	Batch      int     `json:"batch"`
	Kind       Kind    `json:"kind"`
	Day        string  `json:"day"`
	File       string  `json:"file"`
	Size       int64   `json:"size"`
	SHA256     string  `json:"sha256"`
	NameFile   string  `json:"name_file,omitempty"`
	NameSHA256 string  `json:"name_sha256,omitempty"`
	Purpose    Purpose `json:"purpose,omitempty"` // identity items only
}

func itemFile(id int, kind Kind) string { return fmt.Sprintf("%s%03d-%s.age", itemsDir, id, kind) }
func nameFile(id int) string            { return fmt.Sprintf("%s%03d-name.age", itemsDir, id) }

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
	m := manifest{
		Format:   bundleFormat,
		Ref:      c.Ref,
		Agency:   c.Agency,
		Stage:    c.Stage,
		Opened:   c.Opened,
		Exported: day,
		History:  make([]manifestEvent, 0, len(c.History)),
		Custody:  c.Custody,
		Items:    make([]manifestItem, 0, len(c.Items)),
	}
	for _, e := range c.History {
		m.History = append(m.History, manifestEvent(e))
	}
	for _, it := range c.Items {
		mi := manifestItem{
			ID: it.ID, Batch: it.Batch, Kind: it.Kind, Day: it.Day,
			File: itemFile(it.ID, it.Kind), Size: it.Size, SHA256: it.SHA256, Purpose: it.Purpose,
		}
		if it.Name != nil {
			sum := sha256.Sum256(it.Name)
			mi.NameFile, mi.NameSHA256 = nameFile(it.ID), hex.EncodeToString(sum[:])
		}
		m.Items = append(m.Items, mi)
	}
	mj, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return fmt.Errorf("vault: export: %w", err)
	}
	mj = append(mj, '\n')

	bw := newBundleWriter(w, day)
	if err := bw.put(manifestName, int64(len(mj)), bytes.NewReader(mj)); err != nil {
		return fmt.Errorf("vault: export: %w", err)
	}
	if opts.Sign != nil {
		sig, err := opts.Sign(bytes.Clone(mj))
		if err != nil {
			return fmt.Errorf("vault: export: sign manifest: %w", err)
		}
		if err := bw.put(signatureName, int64(len(sig)), bytes.NewReader(sig)); err != nil {
			return fmt.Errorf("vault: export: %w", err)
		}
	}
	for i, it := range c.Items {
		if err := s.exportItem(bw, c.Ref, it, m.Items[i].File); err != nil {
			return fmt.Errorf("vault: export: item %d: %w", it.ID, err)
		}
		if it.Name != nil {
			if err := bw.put(m.Items[i].NameFile, int64(len(it.Name)), bytes.NewReader(it.Name)); err != nil {
				return fmt.Errorf("vault: export: item %d: %w", it.ID, err)
			}
		}
	}
	if err := bw.tw.Close(); err != nil {
		return fmt.Errorf("vault: export: %w", err)
	}
	return nil
}

// bundleWriter writes the files of a bundle (export or referral): regular
// files, mode 0600, dated midnight of the bundle's day.
type bundleWriter struct {
	tw    *tar.Writer
	mtime time.Time
}

func newBundleWriter(w io.Writer, day string) *bundleWriter {
	return &bundleWriter{tw: tar.NewWriter(w), mtime: midnight(day)}
}

// put writes one file of size bytes read from r.
func (b *bundleWriter) put(name string, size int64, r io.Reader) error {
	if err := b.head(name, size); err != nil {
		return err
	}
	_, err := io.Copy(b.tw, r)
	return err
}

// head starts a file of size bytes, which the caller then writes to b.tw.
func (b *bundleWriter) head(name string, size int64) error {
	return b.tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: name, Size: size, Mode: 0o600, ModTime: b.mtime})
}

// exportItem copies one item's ciphertext into the bundle, checking it
// against its record on the way.
func (s *Store) exportItem(bw *bundleWriter, ref string, it Item, file string) error {
	rc, err := s.OpenItem(ref, it.ID)
	if err != nil {
		return err
	}
	defer rc.Close()
	if err := bw.head(file, it.Size); err != nil {
		return err
	}
	// Hashed a buffer ahead of the writing, on the other core.
	h := sha256.New()
	if _, err := copyHashed(bw.tw, rc, h); err != nil {
		return err
	}
	if hex.EncodeToString(h.Sum(nil)) != it.SHA256 {
		return fmt.Errorf("stored ciphertext does not match its record")
	}
	return nil
}
