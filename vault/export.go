package vault

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"

	"cleandrop/vault/bundle"
)

// ExportOptions adjust [Store.ExportWith].
type ExportOptions struct {
	// Sign, when set, signs the exact bytes of manifest.json; its result is
	// written as manifest.json.sig right after the manifest.
	Sign func(manifest []byte) ([]byte, error)
	// Done, when not nil, is closed when the bundle is no longer wanted
	// (its reader is gone): the export then ends within a few megabytes
	// with [ErrExportStopped].
	Done <-chan struct{}
}

// Export writes case ref to w as an uncompressed tar bundle of ciphertext:
// manifest.json first, then items/NNN-<kind>.age for each item and
// items/NNN-name.age for each sealed attachment name. The manifest records
// the size and SHA-256 of every file. Nothing in a bundle is plaintext
// except the case metadata in the manifest. An identity travels sealed to
// the agency's custodian only, as it is stored.
//
// When w is an *os.File, open for reading and writing and empty, the
// ciphertext of large items is copied into it inside the kernel, and
// checked as the file holds it.
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

	var out *fileOut
	if f, ok := w.(*os.File); ok {
		out = newFileOut(f)
		w = out
	}
	if opts.Done != nil {
		w = stopping{w, opts.Done}
	}
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
		if err := s.exportItem(bw, out, c.Ref, it, m.Items[i].File, opts.Done); err != nil {
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
// against its record on the way. out, when not nil, is the file under bw.
func (s *Store) exportItem(bw *bundle.Writer, out *fileOut, ref string, it Item, file string, done <-chan struct{}) error {
	rc, err := s.OpenItem(ref, it.ID)
	if err != nil {
		return err
	}
	defer rc.Close()
	if err := bw.Head(file, it.Size); err != nil {
		return err
	}
	var src io.Reader = rc
	sum, err := []byte(nil), errNoDirect
	if dr := readPast(rc, it.Size); dr != nil {
		// Written past the page cache, read past it: hashed and
		// written as any writer is, not copied inside the kernel.
		defer dr.Close()
		src = dr
	} else {
		sum, err = placeItem(out, rc, it.Size, done)
	}
	switch {
	case err == nil:
		if err := bw.Placed(it.Size); err != nil {
			return err
		}
	case errors.Is(err, errNoDirect):
		// Hashed a buffer ahead of the writing, on the other core.
		h := sha256.New()
		if _, err := copyHashed(bw, src, h); err != nil {
			return err
		}
		sum = h.Sum(nil)
	default:
		return err
	}
	if hex.EncodeToString(sum) != it.SHA256 {
		return fmt.Errorf("stored ciphertext does not match its record")
	}
	return nil
}

// placeItem copies an item of size bytes, opened as rc, inside the kernel
// to out, when both are files and the item is large enough for it to
// matter; errNoDirect otherwise, with nothing written.
func placeItem(out *fileOut, rc io.Reader, size int64, done <-chan struct{}) ([]byte, error) {
	if out == nil || size < pipeBufSize {
		return nil, errNoDirect
	}
	switch r := rc.(type) {
	case extent:
		if f, ok := r.Closer.(*os.File); ok {
			_, off, _ := r.SectionReader.Outer()
			return out.place(f, off, size, done)
		}
	case *os.File:
		return out.place(r, 0, size, done)
	}
	return nil, errNoDirect
}

// stopping is a writer that fails once done is closed.
type stopping struct {
	w    io.Writer
	done <-chan struct{}
}

func (s stopping) Write(p []byte) (int, error) {
	select {
	case <-s.done:
		return 0, ErrExportStopped
	default:
		return s.w.Write(p)
	}
}
