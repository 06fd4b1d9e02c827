package vault

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"filippo.io/age"

	"cleandrop/vault/backend"
)

// Large items go to their packs by direct I/O, each from a block
// boundary, with small items between them and across two batches; every
// item opens to what was written, after the store reopens too.
func TestDirectItems(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "vault")
	s, id := openInternal(t, dir, Options{})
	if pk, err := s.packs.acquire(false, nil); err != nil || pk == nil {
		t.Fatalf("acquire: %v", err)
	} else {
		direct := pk.direct != nil
		s.packs.release(pk, pk.end, true)
		if !direct {
			t.Skipf("skipping: the file system of %s takes no direct I/O", dir)
		}
	}
	sizes := [][]int{
		{10, 2 * pipeBufSize, 2*pipeBufSize + 1, 77, 5*pipeBufSize + directAlign - 1},
		{inlineMax + 1, pipeBufSize - 1, 3},
	}
	var ref string
	want := map[int][]byte{}
	for i, batch := range sizes {
		var b *Batch
		var err error
		if i == 0 {
			b, err = s.NewCase("a1", testAccess(t, "lookup-direct"))
		} else {
			b, err = s.Append(ref)
		}
		if err != nil {
			t.Fatal(err)
		}
		for _, n := range batch {
			data := random(n)
			addItem(t, b, KindAttachment, "f", data)
			want[len(want)+1] = data
		}
		if ref, err = b.Commit(); err != nil {
			t.Fatal(err)
		}
	}
	check := func(when string) {
		t.Helper()
		c, err := s.Case(ref)
		if err != nil {
			t.Fatal(err)
		}
		for _, it := range c.Items {
			var rec itemRecord
			s.view(func(tx backend.Tx) error { rec, err = s.loadItem(tx, ref, it.ID); return err })
			if rec.Pack != "" && rec.Size >= pipeBufSize && rec.Off%directAlign != 0 {
				t.Errorf("%s: item %d (%d bytes) starts at %d, off a block boundary", when, it.ID, rec.Size, rec.Off)
			}
			rc, err := s.OpenItem(ref, it.ID)
			if err != nil {
				t.Fatal(err)
			}
			r, err := age.Decrypt(rc, id)
			if err != nil {
				t.Fatalf("%s: item %d: %v", when, it.ID, err)
			}
			got, err := io.ReadAll(r)
			rc.Close()
			if err != nil || !bytes.Equal(got, want[it.ID]) {
				t.Errorf("%s: item %d opens to %d bytes (%v), not the %d written", when, it.ID, len(got), err, len(want[it.ID]))
			}
		}
	}
	check("committed")
	s.Close()
	s, err := Open(dir, Options{Tick: time.Millisecond,
		Agencies: []Agency{{ID: "a1", Name: "Agency One", Recipients: []age.Recipient{id.Recipient()}}}})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	check("reopened")
}

// append gives the pack the bytes it is given whatever their memory and
// their lengths: whole blocks at a boundary by direct I/O, the rest, and
// whatever direct I/O refuses (here, memory off a block boundary),
// through the page cache.
func TestAppendFallsBack(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "vault")
	s, _ := openInternal(t, dir, Options{})
	pk, err := s.packs.acquire(false, nil)
	if err != nil || pk == nil {
		t.Fatalf("acquire: %v", err)
	}
	defer s.packs.release(pk, pk.end, false)
	if pk.direct == nil {
		t.Skipf("skipping: the file system of %s takes no direct I/O", dir)
	}
	data := random(4*pipeBufSize + 3*directAlign + 5)
	aligned := make([]byte, pipeBufSize) // a large allocation starts on a page
	sp := &spill{b: &Batch{s: s}, pk: pk}
	var want []byte
	for i, n := range []int{10, directAlign - 10, pipeBufSize, 3*directAlign + 1, directAlign - 1, pipeBufSize, 2 * directAlign, 5} {
		chunk := data[len(want) : len(want)+n]
		if i%2 == 1 {
			// From memory on a page boundary: taken by direct I/O
			// when the pack is at a block boundary too.
			chunk = aligned[:copy(aligned, chunk)]
		} else {
			chunk = append(make([]byte, 1, n+1), chunk...)[1:] // off a boundary
		}
		if err := sp.append(chunk); err != nil {
			t.Fatalf("append %d bytes: %v", n, err)
		}
		want = append(want, data[len(want):len(want)+n]...)
	}
	if sp.b.pos != int64(len(want)) {
		t.Errorf("the slot's end is at %d, after %d bytes", sp.b.pos, len(want))
	}
	got, err := os.ReadFile(pk.f.Name())
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("the pack holds %d bytes that differ from the %d appended", len(got), len(want))
	}
}

// A directReader returns an extent's bytes whatever its start, its
// length and the memory it reads into, and says when the pack is shorter
// than the extent.
func TestDirectReader(t *testing.T) {
	path := filepath.Join(t.TempDir(), "pack")
	data := random(3*pipeBufSize + 5*directAlign + 123)
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if d := openDirect(path, os.O_RDONLY); d == nil {
		t.Skipf("skipping: the file system of %s takes no direct I/O", path)
	} else {
		d.Close()
	}
	mem := make([]byte, pipeBufSize+1)
	for _, c := range []struct {
		name      string
		off, size int64
		buf       []byte
		direct    bool // still reading by direct I/O at the end
	}{
		{"aligned", 2 * directAlign, 2*pipeBufSize + 77, mem[:pipeBufSize], true},
		{"to the end", directAlign, int64(len(data)) - directAlign, mem[:pipeBufSize], true},
		{"odd buffer", 0, pipeBufSize + 1, mem[:directAlign+1], true},
		{"memory off a block", directAlign, pipeBufSize, mem[1 : pipeBufSize+1], false},
	} {
		e := extent{io.NewSectionReader(f, c.off, c.size), f}
		r := readPast(e, c.size)
		if r == nil {
			t.Fatalf("%s: not read past the page cache", c.name)
		}
		var got []byte
		for {
			n, err := r.Read(c.buf)
			got = append(got, c.buf[:n]...)
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatalf("%s: %v", c.name, err)
			}
		}
		if !bytes.Equal(got, data[c.off:c.off+c.size]) {
			t.Errorf("%s: read %d bytes that differ from the extent's %d", c.name, len(got), c.size)
		}
		if (r.direct != nil) != c.direct {
			t.Errorf("%s: direct I/O still on: %v, want %v", c.name, r.direct != nil, c.direct)
		}
		r.Close()
	}
	if r := readPast(extent{io.NewSectionReader(f, 1, pipeBufSize), f}, pipeBufSize); r != nil {
		t.Error("an extent off a block boundary is read by direct I/O")
	}
	if r := readPast(extent{io.NewSectionReader(f, 0, pipeBufSize-1), f}, pipeBufSize-1); r != nil {
		t.Error("a small extent is read by direct I/O")
	}
	r := readPast(extent{io.NewSectionReader(f, 0, int64(len(data))+directAlign), f}, int64(len(data))+directAlign)
	defer r.Close()
	if _, err := io.Copy(io.Discard, r); err != io.ErrUnexpectedEOF {
		t.Errorf("an extent past the pack's end: %v, want %v", err, io.ErrUnexpectedEOF)
	}
}

// addItem adds one item holding data to b, written in one piece.
func addItem(t *testing.T, b *Batch, kind Kind, name string, data []byte) {
	t.Helper()
	w, err := b.Add(kind, name)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
}
