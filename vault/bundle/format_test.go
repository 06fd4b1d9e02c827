package bundle_test

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"filippo.io/age"

	"cleandrop/vault/bundle"
)

func seal(t testing.TB, plain []byte, r age.Recipient) []byte {
	t.Helper()
	var buf bytes.Buffer
	w, err := age.Encrypt(&buf, r)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(plain); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func sum(b []byte) string { s := sha256.Sum256(b); return hex.EncodeToString(s[:]) }

// writeExport writes, with this package alone, the export bundle of a case
// of a report and an attachment sealed to id, as the vault writes one.
func writeExport(t testing.TB, id *age.X25519Identity) []byte {
	t.Helper()
	report := seal(t, []byte("The report.\n"), id.Recipient())
	file := seal(t, []byte("attached bytes"), id.Recipient())
	name := seal(t, []byte("../minutes.pdf"), id.Recipient())
	m := bundle.Manifest{
		Format: bundle.Format, Ref: "CASE-1", Agency: "a1", Stage: "received",
		Opened: "2026-01-02", Exported: "2026-01-03",
		History: []bundle.ManifestEvent{{Day: "2026-01-02", Stage: "received", Batch: 1}},
		Items: []bundle.ManifestItem{
			{ID: 1, Batch: 1, Kind: bundle.KindReport, Day: "2026-01-02", File: bundle.ItemFile(1, bundle.KindReport), Size: int64(len(report)), SHA256: sum(report)},
			{ID: 2, Batch: 1, Kind: bundle.KindAttachment, Day: "2026-01-02", File: bundle.ItemFile(2, bundle.KindAttachment), Size: int64(len(file)), SHA256: sum(file),
				NameFile: bundle.NameFile(2), NameSHA256: sum(name)},
		},
	}
	mj, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	w := bundle.NewWriter(&buf, m.Exported)
	for _, f := range []struct {
		name string
		body []byte
	}{{bundle.ManifestName, mj}, {m.Items[0].File, report}, {m.Items[1].File, file}, {m.Items[1].NameFile, name}} {
		if err := w.Put(f.name, int64(len(f.body)), bytes.NewReader(f.body)); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestWriterOpen: a bundle written with [bundle.Writer] has every file
// regular, 0600 and dated midnight of its day, and [bundle.Open] opens it
// with nothing of the vault around.
func TestWriterOpen(t *testing.T) {
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	data := writeExport(t, id)
	tr := tar.NewReader(bytes.NewReader(data))
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if want := time.Date(2026, 1, 3, 0, 0, 0, 0, time.UTC); !hdr.ModTime.Equal(want) || hdr.Mode != 0o600 || hdr.Typeflag != tar.TypeReg {
			t.Errorf("%s: mtime %v, mode %o, type %c; want %v, 600, regular", hdr.Name, hdr.ModTime, hdr.Mode, hdr.Typeflag, want)
		}
	}

	out := filepath.Join(t.TempDir(), "out")
	th, err := bundle.Open(bytes.NewReader(data), []age.Identity{id}, out)
	if err != nil {
		t.Fatal(err)
	}
	if th.Ref != "CASE-1" || len(th.Entries) != 2 || th.Entries[0].Text != "The report.\n" || th.Entries[1].Name != "../minutes.pdf" {
		t.Fatalf("thread %+v", th)
	}
	got, err := os.ReadFile(filepath.Join(out, th.Entries[1].File))
	if err != nil || string(got) != "attached bytes" || th.Entries[1].File != "files/002-minutes.pdf" {
		t.Errorf("attachment %s: %q, %v", th.Entries[1].File, got, err)
	}

	flipped := bytes.Clone(data)
	flipped[len(flipped)-1500] ^= 1 // the last file or its header
	if _, err := bundle.Open(bytes.NewReader(flipped), []age.Identity{id}, filepath.Join(t.TempDir(), "bad")); !errors.Is(err, bundle.ErrTampered) {
		t.Errorf("a flipped byte: %v, want ErrTampered", err)
	}
}

// TestReferralReader: a referral made by [bundle.MakeReferral] reads back
// through [bundle.ReferralReader], item by item, sealed to the new agency.
func TestReferralReader(t *testing.T) {
	from, _ := age.GenerateX25519Identity()
	to, _ := age.GenerateX25519Identity()
	var ref bytes.Buffer
	info, err := bundle.MakeReferral(bytes.NewReader(writeExport(t, from)), []age.Identity{from}, "a2", []age.Recipient{to.Recipient()}, &ref, bundle.OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if info.FromRef != "CASE-1" || info.ToAgency != "a2" || info.Items != 2 {
		t.Fatalf("info %+v", info)
	}
	rr, err := bundle.NewReferralReader(bytes.NewReader(ref.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	if m := rr.Manifest(); m.Format != bundle.ReferralFormat || m.FromAgency != "a1" || m.Made != "2026-01-03" {
		t.Errorf("manifest %+v", m)
	}
	var plain []string
	for {
		it, name, body, err := rr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		ct, err := io.ReadAll(body)
		if err != nil || sum(ct) != it.SHA256 {
			t.Fatalf("item %d: %v, or not its checksum", it.ID, err)
		}
		for _, c := range [][]byte{name, ct} {
			if c == nil {
				continue
			}
			r, err := age.Decrypt(bytes.NewReader(c), to)
			if err != nil {
				t.Fatalf("item %d: %v", it.ID, err)
			}
			p, _ := io.ReadAll(r)
			plain = append(plain, string(p))
		}
	}
	if want := []string{"The report.\n", "../minutes.pdf", "attached bytes"}; !slices.Equal(plain, want) {
		t.Errorf("referred %q, want %q", plain, want)
	}
	if _, err := bundle.NewReferralReader(bytes.NewReader(writeExport(t, from))); !errors.Is(err, bundle.ErrNotReferral) {
		t.Errorf("an export bundle: %v, want ErrNotReferral", err)
	}
}

// TestReferralReaderWantsTheEndMarker: a referral cut short right after
// its last item (archive/tar says io.EOF there as at the end marker) is
// refused at the last Next, as is one with half the marker; one with
// more zero blocks after the marker, as tar programs pad, is not.
func TestReferralReaderWantsTheEndMarker(t *testing.T) {
	from, _ := age.GenerateX25519Identity()
	to, _ := age.GenerateX25519Identity()
	var ref bytes.Buffer
	if _, err := bundle.MakeReferral(bytes.NewReader(writeExport(t, from)), []age.Identity{from}, "a2", []age.Recipient{to.Recipient()}, &ref, bundle.OpenOptions{}); err != nil {
		t.Fatal(err)
	}
	whole := ref.Bytes()
	if !bytes.Equal(whole[len(whole)-1024:], make([]byte, 1024)) {
		t.Fatal("the referral does not end with tar's end marker")
	}
	readAll := func(b []byte) error {
		rr, err := bundle.NewReferralReader(bytes.NewReader(b))
		if err != nil {
			return err
		}
		for {
			_, _, body, err := rr.Next()
			if err == io.EOF {
				return nil
			}
			if err != nil {
				return err
			}
			if _, err := io.Copy(io.Discard, body); err != nil {
				return err
			}
		}
	}
	for name, b := range map[string][]byte{
		"without the marker": whole[:len(whole)-1024],
		"half the marker":    whole[:len(whole)-512],
	} {
		if err := readAll(b); !errors.Is(err, bundle.ErrTampered) {
			t.Errorf("%s: %v, want ErrTampered", name, err)
		}
	}
	for name, b := range map[string][]byte{
		"as made":            whole,
		"padded to a record": append(slices.Clone(whole), make([]byte, 10240-len(whole)%10240)...),
	} {
		if err := readAll(b); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// A file whose bytes the caller put into the underlying writer itself,
// counted with Placed, makes the same bundle as one written through the
// Writer; placing more than the file holds is an error.
func TestWriterPlaced(t *testing.T) {
	body := bytes.Repeat([]byte("0123456789abcdef"), 10000) // past one buffer of zeros
	write := func(placed bool) []byte {
		var buf bytes.Buffer
		w := bundle.NewWriter(&buf, "2026-12-02")
		if err := w.Put(bundle.ManifestName, 2, bytes.NewReader([]byte("{}"))); err != nil {
			t.Fatal(err)
		}
		if err := w.Head("items/001-attachment.age", int64(len(body))); err != nil {
			t.Fatal(err)
		}
		if placed {
			buf.Write(body)
			if err := w.Placed(int64(len(body))); err != nil {
				t.Fatal(err)
			}
		} else if _, err := w.Write(body); err != nil {
			t.Fatal(err)
		}
		if err := w.Put("items/001-name.age", 3, bytes.NewReader([]byte("abc"))); err != nil {
			t.Fatal(err)
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		return buf.Bytes()
	}
	if a, b := write(false), write(true); !bytes.Equal(a, b) {
		t.Errorf("placed bundle (%d bytes) differs from the written one (%d)", len(b), len(a))
	}

	w := bundle.NewWriter(io.Discard, "2026-12-02")
	if err := w.Head("items/001-report.age", 10); err != nil {
		t.Fatal(err)
	}
	if err := w.Placed(11); err == nil {
		t.Error("placed 11 bytes into a file of 10")
	}
}
