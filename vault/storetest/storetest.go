// Package storetest is a test suite that every vault store must pass, in
// the manner of restic's backend test suite: call [Run] from a test with a
// function that opens the store under test.
package storetest

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"cleandrop/vault"

	"filippo.io/age"
)

// Opener opens, creating it on first use, the store kept in dir. It is
// called again with the same dir to test reopening a closed store.
type Opener func(t *testing.T, dir string, opts vault.Options) *vault.Store

// Now is the fixed clock of the suite: 01:30 at UTC+5 on 4 March 2025,
// which is still 3 March in UTC.
var Now = time.Date(2025, 3, 4, 1, 30, 0, 0, time.FixedZone("UTC+5", 5*3600))

// Day is the day the suite expects on everything it stores.
const Day = "2025-03-03"

var refPattern = regexp.MustCompile(`^CD-[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}$`)

// Stored measures the ciphertext a store keeps outside its records, for
// the vault in dir: [StoredBytes] for the files of the embedded store, an
// object store's objects and unfinished uploads for a shared one. The
// suite checks with it that an aborted batch leaves nothing.
type Stored func(t *testing.T, dir string) int64

// Run runs the suite on a store that keeps its large items in files
// under its directory.
func Run(t *testing.T, open Opener) { RunStored(t, open, StoredBytes) }

// RunStored runs the suite, measuring what a store keeps with stored.
func RunStored(t *testing.T, open Opener, stored Stored) {
	tests := []struct {
		name string
		fn   func(t *testing.T, f *Fixture)
	}{
		{"NewCaseRoundTrip", testNewCase},
		{"AttachmentSizes", testAttachmentSizes},
		{"NamesSealed", testNamesSealed},
		{"QuestionSealedToBoth", testQuestionSealedToBoth},
		{"PostQuantum", testPostQuantum},
		{"StageHistory", testStageHistory},
		{"Append", testAppend},
		{"AbortLeavesNothing", testAbort},
		{"BusyWriter", testBusy},
		{"EmptyBatch", testEmptyBatch},
		{"UnknownAgency", testUnknownAgency},
		{"Lookup", testLookup},
		{"NotFound", testNotFound},
		{"ConcurrentAppends", testConcurrentAppends},
		{"ConcurrentNewCases", testConcurrentNewCases},
		{"Reopen", testReopen},
		{"DaysCoarsened", testDays},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := NewFixture(t, open)
			f.stored = stored
			tc.fn(t, f)
		})
	}
}

// Fixture is a store with two X25519 agencies ("a1", "a2") and one hybrid
// post-quantum agency ("pq"), all on the fixed clock [Now].
type Fixture struct {
	Dir      string
	Opts     vault.Options
	Store    *vault.Store
	Agency   *age.X25519Identity // agency "a1"
	Other    *age.X25519Identity // agency "a2"
	PQAgency *age.HybridIdentity // agency "pq"
	open     Opener
	stored   Stored
}

// storedBytes measures what the fixture's store keeps outside its records.
func (f *Fixture) storedBytes(t *testing.T) int64 {
	t.Helper()
	if f.stored == nil {
		return f.storedBytes(t)
	}
	return f.stored(t, f.Dir)
}

// NewFixture opens a fresh store in a temporary directory.
func NewFixture(t *testing.T, open Opener) *Fixture {
	t.Helper()
	f := &Fixture{Dir: t.TempDir(), open: open}
	f.Agency = must(age.GenerateX25519Identity())
	f.Other = must(age.GenerateX25519Identity())
	f.PQAgency = must(age.GenerateHybridIdentity())
	f.Opts = vault.Options{
		Agencies: []vault.Agency{
			{ID: "a1", Name: "Agency One", Recipients: []age.Recipient{f.Agency.Recipient()}},
			{ID: "a2", Name: "Agency Two", Recipients: []age.Recipient{f.Other.Recipient()}},
			{ID: "pq", Name: "Agency PQ", Recipients: []age.Recipient{f.PQAgency.Recipient()}},
		},
		Now: func() time.Time { return Now },
	}
	f.Store = open(t, f.Dir, f.Opts)
	return f
}

// Reopen closes the store and opens it again.
func (f *Fixture) Reopen(t *testing.T) {
	t.Helper()
	if err := f.Store.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	f.Store = f.open(t, f.Dir, f.Opts)
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// NewAccess makes access credentials with a fresh X25519 reply identity.
func NewAccess(t *testing.T) (vault.Access, *age.X25519Identity) {
	t.Helper()
	id := must(age.GenerateX25519Identity())
	return vault.Access{
		Lookup:         []byte(rand.Text()),
		KDF:            "argon2id$t=1$m=65536$p=2",
		ReplyRecipient: id.Recipient().String(),
		WrappedReply:   []byte("wrapped:" + rand.Text()),
	}, id
}

// Put writes data into a new item of b, in odd-sized pieces.
func Put(t *testing.T, b *vault.Batch, kind vault.Kind, name string, data []byte) {
	t.Helper()
	w, err := b.Add(kind, name)
	if err != nil {
		t.Fatalf("Add(%s): %v", kind, err)
	}
	if _, err := io.CopyBuffer(w, struct{ io.Reader }{bytes.NewReader(data)}, make([]byte, 7777)); err != nil {
		t.Fatalf("write %s: %v", kind, err)
	}
	if err := w.Close(); err != nil {
		t.Fatalf("close %s: %v", kind, err)
	}
}

// Commit commits b and fails the test on error.
func Commit(t *testing.T, b *vault.Batch) string {
	t.Helper()
	ref, err := b.Commit()
	if err != nil {
		t.Fatalf("Commit: %v", err)
	}
	return ref
}

// NewReport commits a new case for agency "a1" holding one report.
func (f *Fixture) NewReport(t *testing.T, text string) (string, vault.Access, *age.X25519Identity) {
	t.Helper()
	acc, reply := NewAccess(t)
	b, err := f.Store.NewCase("a1", acc)
	if err != nil {
		t.Fatalf("NewCase: %v", err)
	}
	defer b.Abort()
	Put(t, b, vault.KindReport, "", []byte(text))
	return Commit(t, b), acc, reply
}

// Decrypt opens item id of case ref with ids.
func Decrypt(t *testing.T, s *vault.Store, ref string, id int, ids ...age.Identity) ([]byte, error) {
	t.Helper()
	rc, err := s.OpenItem(ref, id)
	if err != nil {
		t.Fatalf("OpenItem(%d): %v", id, err)
	}
	defer rc.Close()
	r, err := age.Decrypt(rc, ids...)
	if err != nil {
		return nil, err
	}
	return io.ReadAll(r)
}

func mustDecrypt(t *testing.T, s *vault.Store, ref string, id int, ids ...age.Identity) []byte {
	t.Helper()
	b, err := Decrypt(t, s, ref, id, ids...)
	if err != nil {
		t.Fatalf("decrypt item %d: %v", id, err)
	}
	return b
}

func mustCase(t *testing.T, s *vault.Store, ref string) vault.Case {
	t.Helper()
	c, err := s.Case(ref)
	if err != nil {
		t.Fatalf("Case(%s): %v", ref, err)
	}
	return c
}

func decryptBytes(t *testing.T, ct []byte, id age.Identity) string {
	t.Helper()
	r, err := age.Decrypt(bytes.NewReader(ct), id)
	if err != nil {
		t.Fatalf("decrypt: %v", err)
	}
	return string(must(io.ReadAll(r)))
}

// StoredFiles lists the files under dir that hold sealed items outside
// the metadata store and are not empty: pack files, blob files of a vault
// from before packs, and temporary files.
func StoredFiles(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		n := d.Name()
		if d.IsDir() || !(strings.HasSuffix(n, ".pack") || strings.HasSuffix(n, ".age") || strings.HasPrefix(n, ".tmp-")) {
			return nil
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		if fi.Size() > 0 {
			out = append(out, path)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// StoredBytes is the total size of [StoredFiles].
func StoredBytes(t *testing.T, dir string) int64 {
	t.Helper()
	var n int64
	for _, p := range StoredFiles(t, dir) {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		n += fi.Size()
	}
	return n
}

func testNewCase(t *testing.T, f *Fixture) {
	text := "Report text: the minister's cousin won every tender.\n"
	ref, acc, reply := f.NewReport(t, text)
	if !refPattern.MatchString(ref) {
		t.Errorf("ref %q does not look like CD-XXXX-XXXX", ref)
	}
	c := mustCase(t, f.Store, ref)
	if c.Ref != ref || c.Agency != "a1" || c.Stage != vault.InitialStage || c.Opened != Day || c.Updated != Day {
		t.Errorf("case = %+v", c)
	}
	if !bytes.Equal(c.Access.Lookup, acc.Lookup) || c.Access.KDF != acc.KDF ||
		c.Access.ReplyRecipient != acc.ReplyRecipient || !bytes.Equal(c.Access.WrappedReply, acc.WrappedReply) {
		t.Errorf("access = %+v, want %+v", c.Access, acc)
	}
	if want := []vault.Event{{Day: Day, Stage: vault.InitialStage, Batch: 1}}; !slices.Equal(c.History, want) {
		t.Errorf("history = %+v, want %+v", c.History, want)
	}
	if len(c.Items) != 1 {
		t.Fatalf("items = %+v", c.Items)
	}
	it := c.Items[0]
	if it.ID != 1 || it.Batch != 1 || it.Kind != vault.KindReport || it.Day != Day || it.Name != nil {
		t.Errorf("item = %+v", it)
	}
	checkStored(t, f.Store, ref, it)
	if got := mustDecrypt(t, f.Store, ref, 1, f.Agency); string(got) != text {
		t.Errorf("decrypted %q, want %q", got, text)
	}
	if _, err := Decrypt(t, f.Store, ref, 1, reply); err == nil {
		t.Error("report decrypts with the reporter's reply identity")
	}
	if _, err := Decrypt(t, f.Store, ref, 1, f.Other); err == nil {
		t.Error("report decrypts with another agency's identity")
	}
}

// checkStored checks that the stored ciphertext matches the item's record.
func checkStored(t *testing.T, s *vault.Store, ref string, it vault.Item) {
	t.Helper()
	rc, err := s.OpenItem(ref, it.ID)
	if err != nil {
		t.Fatalf("OpenItem: %v", err)
	}
	defer rc.Close()
	h := sha256.New()
	n, err := io.Copy(h, rc)
	if err != nil {
		t.Fatal(err)
	}
	if n != it.Size || hex.EncodeToString(h.Sum(nil)) != it.SHA256 {
		t.Errorf("item %d: stored %d bytes %x, record says %d bytes %s", it.ID, n, h.Sum(nil), it.Size, it.SHA256)
	}
}

func testAttachmentSizes(t *testing.T, f *Fixture) {
	for _, size := range []int{0, 1, 65535, 65536, 65537, 3<<20 + 5} {
		t.Run(fmt.Sprint(size), func(t *testing.T) {
			data := make([]byte, size)
			rand.Read(data)
			acc, _ := NewAccess(t)
			b := must(f.Store.NewCase("a1", acc))
			defer b.Abort()
			Put(t, b, vault.KindReport, "", []byte("see attached"))
			name := fmt.Sprintf("scan-%d.pdf", size)
			Put(t, b, vault.KindAttachment, name, data)
			ref := Commit(t, b)
			c := mustCase(t, f.Store, ref)
			it := c.Items[1]
			if it.ID != 2 || it.Kind != vault.KindAttachment || it.Size <= int64(size) {
				t.Errorf("item = %+v", it)
			}
			checkStored(t, f.Store, ref, it)
			if got := mustDecrypt(t, f.Store, ref, 2, f.Agency); !bytes.Equal(got, data) {
				t.Errorf("round trip of %d bytes gave %d different bytes", size, len(got))
			}
			if got := decryptBytes(t, it.Name, f.Agency); got != name {
				t.Errorf("name = %q, want %q", got, name)
			}
		})
	}
}

func testNamesSealed(t *testing.T, f *Fixture) {
	acc, _ := NewAccess(t)
	b := must(f.Store.NewCase("a1", acc))
	defer b.Abort()
	name := "Protokoll der Sitzung 2024.pdf"
	Put(t, b, vault.KindAttachment, name, []byte("%PDF-1.7"))
	Put(t, b, vault.KindAttachment, "", []byte("no name"))
	if _, err := b.Add(vault.KindReport, "report.txt"); err == nil {
		t.Error("Add(report, name) succeeded; only attachments have names")
	}
	ref := Commit(t, b)
	c := mustCase(t, f.Store, ref)
	it := c.Items[0]
	if !bytes.HasPrefix(it.Name, []byte("age-encryption.org/v1\n")) || bytes.Contains(it.Name, []byte("Protokoll")) {
		t.Errorf("name is not age ciphertext: %q", it.Name)
	}
	if got := decryptBytes(t, it.Name, f.Agency); got != name {
		t.Errorf("name = %q, want %q", got, name)
	}
	if c.Items[1].Name != nil {
		t.Errorf("unnamed attachment has name %q", c.Items[1].Name)
	}
}

func testQuestionSealedToBoth(t *testing.T, f *Fixture) {
	ref, _, reply := f.NewReport(t, "report")
	b := must(f.Store.Append(ref))
	defer b.Abort()
	Put(t, b, vault.KindQuestion, "", []byte("Which tender?"))
	Put(t, b, vault.KindNote, "", []byte("We opened an inquiry."))
	b.SetStage("inquiry")
	Commit(t, b)
	b = must(f.Store.Append(ref))
	defer b.Abort()
	Put(t, b, vault.KindAnswer, "", []byte("The bridge tender."))
	Commit(t, b)

	tests := []struct {
		id          int
		want        string
		toReporter  bool
		description string
	}{
		{2, "Which tender?", true, "question"},
		{3, "We opened an inquiry.", true, "note"},
		{4, "The bridge tender.", false, "answer"},
	}
	for _, tc := range tests {
		t.Run(tc.description, func(t *testing.T) {
			if got := mustDecrypt(t, f.Store, ref, tc.id, f.Agency); string(got) != tc.want {
				t.Errorf("agency reads %q, want %q", got, tc.want)
			}
			got, err := Decrypt(t, f.Store, ref, tc.id, reply)
			switch {
			case tc.toReporter && err != nil:
				t.Errorf("reply identity cannot read it: %v", err)
			case tc.toReporter && string(got) != tc.want:
				t.Errorf("reply identity reads %q, want %q", got, tc.want)
			case !tc.toReporter && err == nil:
				t.Error("reply identity can read it")
			}
		})
	}
}

func testPostQuantum(t *testing.T, f *Fixture) {
	reply := must(age.GenerateHybridIdentity())
	acc := vault.Access{Lookup: []byte(rand.Text()), KDF: "k", ReplyRecipient: reply.Recipient().String()}
	b := must(f.Store.NewCase("pq", acc))
	defer b.Abort()
	Put(t, b, vault.KindReport, "", []byte("pq report"))
	Put(t, b, vault.KindQuestion, "", []byte("pq question"))
	ref := Commit(t, b)
	if got := mustDecrypt(t, f.Store, ref, 2, reply); string(got) != "pq question" {
		t.Errorf("reply reads %q", got)
	}
	if got := mustDecrypt(t, f.Store, ref, 1, f.PQAgency); string(got) != "pq report" {
		t.Errorf("agency reads %q", got)
	}

	// age refuses to mix post-quantum and classic recipients: the error
	// must surface from Add, not from a truncated item.
	acc, _ = NewAccess(t)
	b = must(f.Store.NewCase("pq", acc))
	defer b.Abort()
	if _, err := b.Add(vault.KindQuestion, ""); err == nil {
		t.Error("sealing to a post-quantum agency and a classic reply key succeeded")
	}
}

func testStageHistory(t *testing.T, f *Fixture) {
	ref, _, _ := f.NewReport(t, "report")
	b := must(f.Store.Append(ref))
	b.SetStage("assessment")
	Commit(t, b)
	b = must(f.Store.Append(ref))
	Put(t, b, vault.KindNote, "", []byte("Closed: referred to prosecutor."))
	b.SetStage("closed")
	Commit(t, b)
	b = must(f.Store.Append(ref))
	b.SetStage("")
	if _, err := b.Commit(); err == nil {
		t.Error("empty stage committed")
	}
	b.Abort()

	c := mustCase(t, f.Store, ref)
	want := []vault.Event{
		{Day: Day, Stage: vault.InitialStage, Batch: 1},
		{Day: Day, Stage: "assessment", Batch: 2},
		{Day: Day, Stage: "closed", Batch: 3},
	}
	if !slices.Equal(c.History, want) {
		t.Errorf("history = %+v, want %+v", c.History, want)
	}
	if c.Stage != "closed" {
		t.Errorf("stage = %q", c.Stage)
	}
	if len(c.Items) != 2 || c.Items[1].Batch != 3 || c.Items[1].Kind != vault.KindNote {
		t.Errorf("items = %+v", c.Items)
	}
}

func testAppend(t *testing.T, f *Fixture) {
	ref, _, _ := f.NewReport(t, "first")
	b := must(f.Store.Append(ref))
	defer b.Abort()
	Put(t, b, vault.KindAnswer, "", []byte("second"))
	Put(t, b, vault.KindAttachment, "more.jpg", bytes.Repeat([]byte("jpeg"), 50000))
	if got := Commit(t, b); got != ref {
		t.Errorf("Commit returned %q, want %q", got, ref)
	}
	c := mustCase(t, f.Store, ref)
	var got []string
	for _, it := range c.Items {
		got = append(got, fmt.Sprintf("%d/%d/%s", it.ID, it.Batch, it.Kind))
	}
	want := []string{"1/1/report", "2/2/answer", "3/2/attachment"}
	if !slices.Equal(got, want) {
		t.Errorf("items = %v, want %v", got, want)
	}
	if s := mustDecrypt(t, f.Store, ref, 2, f.Agency); string(s) != "second" {
		t.Errorf("item 2 = %q", s)
	}
}

func testAbort(t *testing.T, f *Fixture) {
	big := make([]byte, 3<<20)
	rand.Read(big)
	tests := []struct {
		name string
		fill func(t *testing.T, b *vault.Batch)
	}{
		{"closed writers", func(t *testing.T, b *vault.Batch) {
			Put(t, b, vault.KindReport, "", []byte("report"))
			Put(t, b, vault.KindAttachment, "big.bin", big)
			Put(t, b, vault.KindAttachment, "big2.bin", big)
		}},
		{"writer left open", func(t *testing.T, b *vault.Batch) {
			Put(t, b, vault.KindAttachment, "big.bin", big)
			w := must(b.Add(vault.KindAttachment, "cut.bin"))
			must(w.Write(big))
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			measure := f.stored
			f := NewFixture(t, f.open)
			f.stored = measure
			acc, _ := NewAccess(t)
			b := must(f.Store.NewCase("a1", acc))
			tc.fill(t, b)
			if f.storedBytes(t) == 0 {
				t.Error("a 3 MiB item did not spill to a pack")
			}
			b.Abort()
			b.Abort()
			if _, err := b.Commit(); err == nil {
				t.Error("Commit after Abort succeeded")
			}
			if n := f.storedBytes(t); n != 0 {
				t.Errorf("%d bytes left in packs after Abort", n)
			}
			if cs := must(f.Store.Cases()); len(cs) != 0 {
				t.Errorf("cases after Abort: %+v", cs)
			}
			if _, _, err := f.Store.AccessByLookup(acc.Lookup); !errors.Is(err, vault.ErrNotFound) {
				t.Errorf("AccessByLookup after Abort: %v", err)
			}

			// An aborted Append leaves the case as it was.
			ref, _, _ := f.NewReport(t, "kept")
			before := mustCase(t, f.Store, ref)
			stored := f.storedBytes(t)
			b = must(f.Store.Append(ref))
			tc.fill(t, b)
			b.SetStage("closed")
			b.Abort()
			if after := mustCase(t, f.Store, ref); after.Stage != before.Stage || len(after.Items) != 1 || len(after.History) != 1 {
				t.Errorf("case changed by an aborted batch: %+v", after)
			}
			if n := f.storedBytes(t); n != stored {
				t.Errorf("%d bytes in packs after Abort, want %d", n, stored)
			}
		})
	}
	// Abort after Commit does nothing.
	ref, _, _ := f.NewReport(t, "x")
	b := must(f.Store.Append(ref))
	Put(t, b, vault.KindAttachment, "big.bin", big)
	Commit(t, b)
	b.Abort()
	if got := mustDecrypt(t, f.Store, ref, 2, f.Agency); !bytes.Equal(got, big) {
		t.Error("Abort after Commit damaged the item")
	}
}

func testBusy(t *testing.T, f *Fixture) {
	acc, _ := NewAccess(t)
	b := must(f.Store.NewCase("a1", acc))
	defer b.Abort()
	w := must(b.Add(vault.KindReport, ""))
	must(w.Write([]byte("half a report")))
	if _, err := b.Commit(); !errors.Is(err, vault.ErrBusy) {
		t.Errorf("Commit with an open writer: %v, want ErrBusy", err)
	}
	if _, err := b.Add(vault.KindAttachment, "x"); !errors.Is(err, vault.ErrBusy) {
		t.Errorf("second Add with an open writer: %v, want ErrBusy", err)
	}
	must(w.Write([]byte(", and the rest")))
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write([]byte("late")); err == nil {
		t.Error("Write after Close succeeded")
	}
	ref := Commit(t, b)
	if got := mustDecrypt(t, f.Store, ref, 1, f.Agency); string(got) != "half a report, and the rest" {
		t.Errorf("got %q", got)
	}
}

func testEmptyBatch(t *testing.T, f *Fixture) {
	acc, _ := NewAccess(t)
	b := must(f.Store.NewCase("a1", acc))
	defer b.Abort()
	if _, err := b.Commit(); err == nil {
		t.Error("empty new case committed")
	}
	ref, _, _ := f.NewReport(t, "r")
	b = must(f.Store.Append(ref))
	defer b.Abort()
	if _, err := b.Commit(); err == nil {
		t.Error("empty append committed")
	}
	if _, err := b.Add("memo", ""); err == nil {
		t.Error("Add with an unknown kind succeeded")
	}
}

func testUnknownAgency(t *testing.T, f *Fixture) {
	acc, _ := NewAccess(t)
	if _, err := f.Store.NewCase("nobody", acc); !errors.Is(err, vault.ErrUnknownAgency) {
		t.Errorf("NewCase(unknown agency): %v, want ErrUnknownAgency", err)
	}
	acc.ReplyRecipient = "not a recipient"
	if _, err := f.Store.NewCase("a1", acc); err == nil {
		t.Error("NewCase with a bad reply recipient succeeded")
	}
}

func testLookup(t *testing.T, f *Fixture) {
	ref, acc, _ := f.NewReport(t, "r")
	f.NewReport(t, "another")
	got, access, err := f.Store.AccessByLookup(acc.Lookup)
	if err != nil || got != ref {
		t.Fatalf("AccessByLookup = %q, %v; want %q", got, err, ref)
	}
	if !bytes.Equal(access.Lookup, acc.Lookup) || !bytes.Equal(access.WrappedReply, acc.WrappedReply) ||
		access.ReplyRecipient != acc.ReplyRecipient || access.KDF != acc.KDF {
		t.Errorf("AccessByLookup's access record %+v, want %+v", access, acc)
	}
	for _, l := range [][]byte{nil, []byte("unknown"), acc.Lookup[:len(acc.Lookup)-1]} {
		if _, _, err := f.Store.AccessByLookup(l); !errors.Is(err, vault.ErrNotFound) {
			t.Errorf("AccessByLookup(%q): %v, want ErrNotFound", l, err)
		}
	}
	// A second case with the same lookup key is refused and leaves nothing.
	dup, _ := NewAccess(t)
	dup.Lookup = acc.Lookup
	stored := f.storedBytes(t)
	b := must(f.Store.NewCase("a1", dup))
	defer b.Abort()
	Put(t, b, vault.KindAttachment, "big", make([]byte, 1<<20))
	if _, err := b.Commit(); !errors.Is(err, vault.ErrExists) {
		t.Errorf("Commit with a used lookup: %v, want ErrExists", err)
	}
	if n := len(must(f.Store.Cases())); n != 2 {
		t.Errorf("%d cases, want 2", n)
	}
	if n := f.storedBytes(t); n != stored {
		t.Errorf("%d bytes in packs after a refused commit, want %d", n, stored)
	}
}

func testNotFound(t *testing.T, f *Fixture) {
	ref, _, _ := f.NewReport(t, "r")
	if _, err := f.Store.Case("CD-0000-0000"); !errors.Is(err, vault.ErrNotFound) {
		t.Errorf("Case(unknown): %v", err)
	}
	if _, err := f.Store.Append("CD-0000-0000"); !errors.Is(err, vault.ErrNotFound) {
		t.Errorf("Append(unknown): %v", err)
	}
	for _, id := range []int{0, 2, -1} {
		if _, err := f.Store.OpenItem(ref, id); !errors.Is(err, vault.ErrNotFound) {
			t.Errorf("OpenItem(%d): %v", id, err)
		}
	}
	if _, err := f.Store.OpenItem("CD-0000-0000", 1); !errors.Is(err, vault.ErrNotFound) {
		t.Errorf("OpenItem(unknown case): %v", err)
	}
	// A reference typed by a person: lower case, O for 0, I or L for 1.
	typed := strings.ToLower(ref)
	typed = strings.NewReplacer("0", "o", "1", "l").Replace(typed)
	if c, err := f.Store.Case(typed); err != nil || c.Ref != ref {
		t.Errorf("Case(%q) = %q, %v", typed, c.Ref, err)
	}
}

func testConcurrentAppends(t *testing.T, f *Fixture) {
	ref, _, _ := f.NewReport(t, "first")
	const workers, each = 8, 4
	var wg sync.WaitGroup
	errs := make(chan error, workers*each)
	for w := range workers {
		wg.Go(func() {
			for i := range each {
				b, err := f.Store.Append(ref)
				if err != nil {
					errs <- err
					return
				}
				wr, _ := b.Add(vault.KindAnswer, "")
				fmt.Fprintf(wr, "answer %d-%d", w, i)
				if err := wr.Close(); err != nil {
					errs <- err
				}
				if w%2 == 0 {
					b.SetStage(fmt.Sprintf("stage %d-%d", w, i))
				}
				if _, err := b.Commit(); err != nil {
					errs <- err
				}
				b.Abort()
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	c := mustCase(t, f.Store, ref)
	if len(c.Items) != 1+workers*each {
		t.Fatalf("%d items, want %d", len(c.Items), 1+workers*each)
	}
	var texts []string
	batches := map[int]bool{}
	for i, it := range c.Items {
		if it.ID != i+1 || batches[it.Batch] {
			t.Errorf("item %d: ID %d batch %d (IDs must run 1.., one item per batch here)", i, it.ID, it.Batch)
		}
		batches[it.Batch] = true
		if i > 0 {
			texts = append(texts, string(mustDecrypt(t, f.Store, ref, it.ID, f.Agency)))
		}
	}
	var want []string
	for w := range workers {
		for i := range each {
			want = append(want, fmt.Sprintf("answer %d-%d", w, i))
		}
	}
	slices.Sort(texts)
	slices.Sort(want)
	if !slices.Equal(texts, want) {
		t.Errorf("answers = %v, want %v", texts, want)
	}
	if len(c.History) != 1+workers/2*each {
		t.Errorf("%d history events, want %d", len(c.History), 1+workers/2*each)
	}
}

func testConcurrentNewCases(t *testing.T, f *Fixture) {
	const n = 12
	refs := make([]string, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			acc, _ := NewAccess(t)
			b, err := f.Store.NewCase("a1", acc)
			if err != nil {
				t.Error(err)
				return
			}
			defer b.Abort()
			wr, _ := b.Add(vault.KindReport, "")
			fmt.Fprintf(wr, "report %d", i)
			wr.Close()
			refs[i], err = b.Commit()
			if err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	cs := must(f.Store.Cases())
	if len(cs) != n {
		t.Fatalf("%d cases, want %d", len(cs), n)
	}
	for i := 1; i < len(cs); i++ {
		if cs[i-1].Ref >= cs[i].Ref {
			t.Errorf("Cases not sorted by ref: %s, %s", cs[i-1].Ref, cs[i].Ref)
		}
	}
	for i, ref := range refs {
		if got := mustDecrypt(t, f.Store, ref, 1, f.Agency); string(got) != fmt.Sprintf("report %d", i) {
			t.Errorf("case %s holds %q", ref, got)
		}
	}
}

func testReopen(t *testing.T, f *Fixture) {
	big := make([]byte, 1<<20+3)
	rand.Read(big)
	ref, acc, reply := f.NewReport(t, "kept across restarts")
	b := must(f.Store.Append(ref))
	Put(t, b, vault.KindAttachment, "big.bin", big)
	Put(t, b, vault.KindQuestion, "", []byte("still there?"))
	b.SetStage("assessment")
	Commit(t, b)
	before := must(f.Store.Cases())

	f.Reopen(t)
	after := must(f.Store.Cases())
	if fmt.Sprint(before) != fmt.Sprint(after) {
		t.Errorf("cases changed across reopen:\n%+v\n%+v", before, after)
	}
	if got, _, err := f.Store.AccessByLookup(acc.Lookup); err != nil || got != ref {
		t.Errorf("AccessByLookup after reopen: %q, %v", got, err)
	}
	if got := mustDecrypt(t, f.Store, ref, 2, f.Agency); !bytes.Equal(got, big) {
		t.Error("attachment changed across reopen")
	}
	if got := mustDecrypt(t, f.Store, ref, 3, reply); string(got) != "still there?" {
		t.Errorf("question = %q", got)
	}
	// And it keeps working.
	b = must(f.Store.Append(ref))
	defer b.Abort()
	Put(t, b, vault.KindAnswer, "", []byte("yes"))
	Commit(t, b)
	if n := len(mustCase(t, f.Store, ref).Items); n != 4 {
		t.Errorf("%d items, want 4", n)
	}
}

func testDays(t *testing.T, f *Fixture) {
	ref, _, _ := f.NewReport(t, "r")
	b := must(f.Store.Append(ref))
	defer b.Abort()
	Put(t, b, vault.KindAttachment, "a", make([]byte, 100<<10))
	b.SetStage("closed")
	Commit(t, b)
	c := mustCase(t, f.Store, ref)
	days := []string{c.Opened, c.Updated}
	for _, it := range c.Items {
		days = append(days, it.Day)
	}
	for _, e := range c.History {
		days = append(days, e.Day)
	}
	for _, d := range days {
		if d != Day {
			t.Errorf("stored day %q, want %q (UTC day of %v)", d, Day, Now)
		}
	}
}
