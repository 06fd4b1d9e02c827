package vault

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"cleandrop/vault/backend"
	"filippo.io/age"
)

// TestBlobsFromBeforePacks opens a vault whose item was stored the old
// way, as a file of its own in blobs/: the item still reads, and the sweep
// removes only the blob file nothing references.
func TestBlobsFromBeforePacks(t *testing.T) {
	id, _ := age.GenerateX25519Identity()
	dir := t.TempDir()
	opts := Options{Agencies: []Agency{{ID: "a", Recipients: []age.Recipient{id.Recipient()}}}, Tick: time.Millisecond}
	s, err := Open(dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	reply, _ := age.GenerateX25519Identity()
	b, err := s.NewCase("a", Access{Lookup: []byte("l"), ReplyRecipient: reply.Recipient().String()})
	if err != nil {
		t.Fatal(err)
	}
	plain := make([]byte, 300<<10)
	rand.Read(plain)
	w, _ := b.Add(KindAttachment, "old.bin")
	w.Write(plain)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	ref, err := b.Commit()
	if err != nil {
		t.Fatal(err)
	}
	// Rewrite the item as the old layout kept it.
	rc, err := s.OpenItem(ref, 1)
	if err != nil {
		t.Fatal(err)
	}
	ct, _ := io.ReadAll(rc)
	rc.Close()
	blobs := filepath.Join(dir, blobDir)
	os.Mkdir(blobs, 0o700)
	const name = "00112233445566778899aabbccddeeff.age"
	const orphan = "ffeeddccbbaa99887766554433221100.age"
	os.WriteFile(filepath.Join(blobs, name), ct, 0o600)
	os.WriteFile(filepath.Join(blobs, orphan), ct, 0o600)
	// Like every write of the store, on the schedule: a memtable rotation
	// at a tick blocks writes that do not wait for it.
	err = s.update(func(tx backend.Tx) error {
		rec, err := s.loadItem(tx, ref, 1)
		if err != nil {
			return err
		}
		rec.Blob, rec.Pack, rec.Off = name, "", 0
		v, _ := json.Marshal(rec)
		return tx.Put(s.k.itemKey(ref, 1), v)
	})
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	// The pack's bytes are no longer referenced: the sweep cuts them.
	if s, err = Open(dir, opts); err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	rc, err = s.OpenItem(ref, 1)
	if err != nil {
		t.Fatal(err)
	}
	r, err := age.Decrypt(rc, id)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(r)
	rc.Close()
	if !bytes.Equal(got, plain) {
		t.Error("item stored as a blob file does not read back")
	}
	if _, err := os.Stat(filepath.Join(blobs, orphan)); !os.IsNotExist(err) {
		t.Errorf("orphan blob not swept: %v", err)
	}
	packs, _ := filepath.Glob(filepath.Join(dir, packDir, "*"+packExt))
	for _, p := range packs {
		if fi, _ := os.Stat(p); fi.Size() != 0 {
			t.Errorf("%s holds %d bytes nothing references", p, fi.Size())
		}
	}

	// A backup carries the blob file, and the restored vault reads it.
	restored := filepath.Join(t.TempDir(), "vault")
	var kv bytes.Buffer
	var names []string
	err = s.Backup(func(part string, size int64, r io.Reader) error {
		names = append(names, part)
		if part == BackupKV+"0000" {
			_, err := io.Copy(&kv, r)
			return err
		}
		b, _ := io.ReadAll(r)
		os.MkdirAll(filepath.Dir(RestorePath(restored, part)), 0o700)
		return os.WriteFile(RestorePath(restored, part), b, 0o600)
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(names) != 2 || names[1] != BackupBlobs+name {
		t.Fatalf("backup parts %q, want the stream and %s", names, name)
	}
	if err := Restore(restored, &kv); err != nil {
		t.Fatal(err)
	}
	r2, err := Open(restored, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer r2.Close()
	rc, err = r2.OpenItem(ref, 1)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	if r, err = age.Decrypt(rc, id); err != nil {
		t.Fatal(err)
	}
	if got, _ := io.ReadAll(r); !bytes.Equal(got, plain) {
		t.Error("restored blob item does not read back")
	}
}
