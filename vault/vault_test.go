package vault_test

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"cleandrop/vault"
	"cleandrop/vault/storetest"
)

func openBadger(t *testing.T, dir string, opts vault.Options) *vault.Store {
	t.Helper()
	if opts.Tick == 0 {
		opts.Tick = time.Millisecond // tests commit one batch after another
	}
	s, err := vault.Open(dir, opts)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestStore(t *testing.T) {
	storetest.Run(t, openBadger)
}

func TestLayout(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "vault")
	opts := storetest.NewFixture(t, openBadger).Opts
	s, err := vault.Open(dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		mode fs.FileMode
	}{
		{".", fs.ModeDir | 0o700},
		{"vault.key", 0o600},
		{"badger", fs.ModeDir | 0o700},
		{"packs", fs.ModeDir | 0o700},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fi, err := os.Stat(filepath.Join(dir, tc.name))
			if err != nil {
				t.Fatal(err)
			}
			if fi.Mode() != tc.mode {
				t.Errorf("mode %v, want %v", fi.Mode(), tc.mode)
			}
			if tc.name == "vault.key" && fi.Size() != 32 {
				t.Errorf("key is %d bytes", fi.Size())
			}
		})
	}
	s.Close()

	// The key is kept, not remade.
	key, _ := os.ReadFile(filepath.Join(dir, "vault.key"))
	s, err = vault.Open(dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	if again, _ := os.ReadFile(filepath.Join(dir, "vault.key")); !bytes.Equal(key, again) {
		t.Error("vault.key changed on reopen")
	}
	// A different key cannot open the data.
	os.WriteFile(filepath.Join(dir, "vault.key"), make([]byte, 32), 0o600)
	if s, err := vault.Open(dir, opts); err == nil {
		s.Close()
		t.Error("Open with the wrong vault.key succeeded")
	}
	// Without its key the data cannot be opened, and no new key is made.
	os.Remove(filepath.Join(dir, "vault.key"))
	if s, err := vault.Open(dir, opts); err == nil {
		s.Close()
		t.Error("Open without vault.key beside existing data succeeded")
	}
	if _, err := os.Stat(filepath.Join(dir, "vault.key")); err == nil {
		t.Error("Open made a new key beside existing data")
	}
}

// TestCrashSweep leaves what a crash leaves — a batch with a closed item
// and a writer still open, never committed nor aborted, and a stray
// temporary file — and checks that Open cuts the pack back to its
// committed item and removes the rest.
func TestCrashSweep(t *testing.T) {
	f := storetest.NewFixture(t, openBadger)
	big := make([]byte, 2<<20)
	rand.Read(big)

	// A committed item, which must survive.
	acc, _ := storetest.NewAccess(t)
	b, _ := f.Store.NewCase("a1", acc)
	storetest.Put(t, b, vault.KindAttachment, "kept.bin", big)
	ref := storetest.Commit(t, b)
	kept := storetest.StoredBytes(t, f.Dir)
	if kept <= int64(len(big)) {
		t.Fatalf("%d bytes in packs after one commit", kept)
	}

	acc, _ = storetest.NewAccess(t)
	b, _ = f.Store.NewCase("a1", acc)
	storetest.Put(t, b, vault.KindAttachment, "lost.bin", big)
	w, _ := b.Add(vault.KindAttachment, "cut.bin")
	// An open writer's last few megabytes may still be in its pipeline
	// (vault/pipe.go) when Write returns: write enough that some of it is
	// in the pack.
	for range 3 {
		w.Write(big)
	}
	stray := filepath.Join(f.Dir, "packs", ".tmp-stray")
	if err := os.WriteFile(stray, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	if n := storetest.StoredBytes(t, f.Dir); n < kept+int64(len(big))*3/2 {
		t.Fatalf("%d bytes in packs mid-batch, want more than %d", n, kept+int64(len(big))*3/2)
	}

	f.Reopen(t) // the batch is never committed nor aborted
	if n := storetest.StoredBytes(t, f.Dir); n != kept {
		t.Errorf("%d bytes in packs after reopen, want %d", n, kept)
	}
	got, err := storetest.Decrypt(t, f.Store, ref, 1, f.Agency)
	if err != nil || !bytes.Equal(got, big) {
		t.Errorf("committed item lost by the sweep: %v", err)
	}
	if n := len(mustCases(t, f.Store)); n != 1 {
		t.Errorf("%d cases, want 1", n)
	}
	// The slot is usable again: the next item starts where the kept one ends.
	b, _ = f.Store.Append(ref)
	storetest.Put(t, b, vault.KindAttachment, "next.bin", big)
	storetest.Commit(t, b)
	for id := 1; id <= 2; id++ {
		if got, err := storetest.Decrypt(t, f.Store, ref, id, f.Agency); err != nil || !bytes.Equal(got, big) {
			t.Errorf("item %d after reuse of the slot: %v", id, err)
		}
	}
}

// TestSlots checks that concurrent batches with large items each append
// to a slot of their own, that a batch waits while every slot is held,
// and that aborted batches leave their slot as it was.
func TestSlots(t *testing.T) {
	fx := storetest.NewFixture(t, openBadger)
	opts := fx.Opts
	opts.MaxUploads = 2
	// PackStream hears of the batches that take a slot for a large item,
	// not of a commit that puts its small items in a pack.
	var streamMu sync.Mutex
	streaming, streamed := 0, 0
	opts.PackStream = func(on bool) {
		streamMu.Lock()
		defer streamMu.Unlock()
		if on {
			streaming++
			streamed++
		} else {
			streaming--
		}
	}
	checkStreams := func(now, all int) {
		t.Helper()
		streamMu.Lock()
		defer streamMu.Unlock()
		if streaming != now || streamed != all {
			t.Errorf("PackStream: %d batches streaming, %d so far; want %d and %d", streaming, streamed, now, all)
		}
	}
	dir := t.TempDir()
	s := openBadger(t, dir, opts)
	big := make([]byte, 200<<10)
	rand.Read(big)
	start := func() (*vault.Batch, io.WriteCloser) { return startLarge(t, s, big) }
	// A text report goes to a pack too, when a slot is free.
	before := storetest.StoredBytes(t, dir)
	text, _, _ := newReport(t, s, "text only")
	if storetest.StoredBytes(t, dir) == before {
		t.Error("a small item did not go to a pack")
	}
	checkStreams(0, 0)
	b1, w1 := start()
	b2, w2 := start()
	checkStreams(2, 2)
	// With every slot held, a text report does not wait: it stays in Badger.
	busy, _, _ := newReport(t, s, "while the slots are held")
	for ref, want := range map[string]string{text: "text only", busy: "while the slots are held"} {
		if got, err := storetest.Decrypt(t, s, ref, 1, fx.Agency); err != nil || string(got) != want {
			t.Errorf("%s: %q, %v", ref, got, err)
		}
	}
	third := make(chan string)
	go func() {
		b3, w3 := start() // waits for a slot
		w3.Close()
		ref, err := b3.Commit()
		if err != nil {
			t.Error(err)
		}
		third <- ref
	}()
	select {
	case <-third:
		t.Fatal("a third large upload got a slot while both were held")
	case <-time.After(200 * time.Millisecond):
	}
	w1.Close()
	b1.Abort()
	ref3 := <-third
	w2.Close()
	ref2, err := b2.Commit()
	if err != nil {
		t.Fatal(err)
	}
	for _, ref := range []string{ref2, ref3} {
		if got, err := storetest.Decrypt(t, s, ref, 1, fx.Agency); err != nil || !bytes.Equal(got, big) {
			t.Errorf("%s: %v", ref, err)
		}
	}
	checkStreams(0, 3) // one aborted, two committed
}

// startLarge starts a new case for agency a1 with an attachment, still
// open, that has been sent data: enough, when large, to hold a pack slot.
func startLarge(t *testing.T, s *vault.Store, data []byte) (*vault.Batch, io.WriteCloser) {
	t.Helper()
	acc, _ := storetest.NewAccess(t)
	b, err := s.NewCase("a1", acc)
	if err != nil {
		t.Fatal(err)
	}
	w, err := b.Add(vault.KindAttachment, "f")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(data); err != nil {
		t.Fatal(err)
	}
	return b, w
}

// TestAbortWhileWaitingForSlot: a batch whose writer waits for a pack
// slot while every slot is held can be aborted: Abort returns, and the
// waiting write returns an error, without a slot being given back.
func TestAbortWhileWaitingForSlot(t *testing.T) {
	fx := storetest.NewFixture(t, openBadger)
	opts := fx.Opts
	opts.MaxUploads = 1
	s := openBadger(t, t.TempDir(), opts)
	big := make([]byte, 200<<10)
	rand.Read(big)
	holder, hw := startLarge(t, s, big) // takes the only slot
	waiter, ww := startLarge(t, s, nil)
	wrote := make(chan error, 1)
	go func() {
		_, err := ww.Write(big) // outgrows memory: waits for the slot
		wrote <- err
	}()
	// Let the write reach the wait; were it not there yet, Abort would
	// still have to return and the write to fail.
	time.Sleep(100 * time.Millisecond)
	aborted := make(chan struct{})
	go func() {
		waiter.Abort()
		close(aborted)
	}()
	deadline := time.After(10 * time.Second)
	for range 2 {
		select {
		case <-aborted:
			aborted = nil
		case err := <-wrote:
			if err == nil {
				t.Error("the write of an aborted batch succeeded")
			}
			wrote = nil
		case <-deadline:
			hw.Close()
			holder.Abort() // frees the slot, so that the goroutines end
			t.Fatalf("while every slot was held: Abort returned: %v; the waiting write returned: %v", aborted == nil, wrote == nil)
		}
	}
	// The slot is still the holder's, and works.
	if err := hw.Close(); err != nil {
		t.Fatal(err)
	}
	ref, err := holder.Commit()
	if err != nil {
		t.Fatal(err)
	}
	if got, err := storetest.Decrypt(t, s, ref, 1, fx.Agency); err != nil || !bytes.Equal(got, big) {
		t.Errorf("the holder's item: %v", err)
	}
}

// newReport commits a case holding one text report.
func newReport(t *testing.T, s *vault.Store, text string) (string, vault.Access, error) {
	t.Helper()
	acc, _ := storetest.NewAccess(t)
	b, err := s.NewCase("a1", acc)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Abort()
	storetest.Put(t, b, vault.KindReport, "", []byte(text))
	return storetest.Commit(t, b), acc, nil
}

func mustCases(t *testing.T, s *vault.Store) []vault.Case {
	t.Helper()
	cs, err := s.Cases()
	if err != nil {
		t.Fatal(err)
	}
	return cs
}

// TestNoPlaintextAtRest stores a canary as text, as a file and as a file
// name, and looks for it, raw, in hex and in base64, in every file under
// the store's directory: open, and again after Close.
func TestNoPlaintextAtRest(t *testing.T) {
	canary := "CANARY-" + rand.Text()
	var logs bytes.Buffer
	f := storetest.NewFixture(t, func(t *testing.T, dir string, opts vault.Options) *vault.Store {
		opts.Logger = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
		return openBadger(t, dir, opts)
	})
	acc, _ := storetest.NewAccess(t)
	b, _ := f.Store.NewCase("a1", acc)
	storetest.Put(t, b, vault.KindReport, "", []byte("report "+canary+" end"))
	storetest.Put(t, b, vault.KindAttachment, canary+".txt", []byte(strings.Repeat(canary+"\n", 1000)))
	storetest.Put(t, b, vault.KindAttachment, "big-"+canary, bytes.Repeat([]byte(canary), 200000))
	ref := storetest.Commit(t, b)
	b, _ = f.Store.Append(ref)
	storetest.Put(t, b, vault.KindAnswer, "", []byte(canary))
	storetest.Commit(t, b)

	needles := canaryForms(canary)
	scan := func(when string) {
		err := filepath.WalkDir(f.Dir, func(path string, d fs.DirEntry, err error) error {
			if errors.Is(err, fs.ErrNotExist) {
				return nil // removed while we walked (a rotated memtable)
			}
			if err != nil || d.IsDir() {
				return err
			}
			data, err := os.ReadFile(path)
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			if err != nil {
				return err
			}
			for form, n := range needles {
				if bytes.Contains(data, n) {
					t.Errorf("%s: canary (%s) found in %s", when, form, path)
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	scan("open")
	f.Reopen(t)
	f.Store.Close()
	scan("closed")
	for form, n := range needles {
		if bytes.Contains(logs.Bytes(), n) {
			t.Errorf("canary (%s) found in the log", form)
		}
	}
	if bytes.Contains(logs.Bytes(), []byte(ref)) {
		t.Error("case reference found in the log")
	}
}

// canaryForms is the canary raw, in hex, and in base64 at each of the three
// alignments it can have in a longer encoded text.
func canaryForms(c string) map[string][]byte {
	forms := map[string][]byte{
		"raw": []byte(c),
		"hex": []byte(hex.EncodeToString([]byte(c))),
	}
	for k := range 3 {
		s := c[k:]
		s = s[:len(s)/3*3]
		forms["base64/"+string(rune('0'+k))] = []byte(base64.StdEncoding.EncodeToString([]byte(s)))
		forms["base64url/"+string(rune('0'+k))] = []byte(base64.URLEncoding.EncodeToString([]byte(s)))
	}
	return forms
}

// TestBlobTimes checks that blob files carry the day, not the time.
// TestStoreLogs checks that the store logs no reference, name, size or
// content, whatever the level.
func TestStoreLogs(t *testing.T) {
	var logs bytes.Buffer
	f := storetest.NewFixture(t, func(t *testing.T, dir string, opts vault.Options) *vault.Store {
		opts.Logger = slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
		return openBadger(t, dir, opts)
	})
	acc, _ := storetest.NewAccess(t)
	b, _ := f.Store.NewCase("a1", acc)
	storetest.Put(t, b, vault.KindAttachment, "secret-name.pdf", make([]byte, 123457))
	ref := storetest.Commit(t, b)
	b, _ = f.Store.Append(ref)
	w, _ := b.Add(vault.KindAttachment, "other-secret.bin")
	w.Write(make([]byte, 3<<20)) // left open: Reopen cuts what reached its pack
	f.Reopen(t)
	if !strings.Contains(logs.String(), `"count":1`) {
		t.Errorf("sweep not logged as a count:\n%s", logs.String())
	}
	for _, bad := range []string{ref, "secret", "123457", "3145728", string(acc.Lookup)} {
		if strings.Contains(logs.String(), bad) {
			t.Errorf("log contains %q:\n%s", bad, logs.String())
		}
	}
}

// TestErrorsHideKeys checks that storage errors, which callers may log,
// carry no case reference or lookup key.
func TestErrorsHideKeys(t *testing.T) {
	f := storetest.NewFixture(t, openBadger)
	ref, acc, _ := f.NewReport(t, "r")
	b, err := f.Store.Append(ref)
	if err != nil {
		t.Fatal(err)
	}
	storetest.Put(t, b, vault.KindAnswer, "", []byte("a"))
	f.Store.Close()
	_, errCommit := b.Commit()
	_, errCase := f.Store.Case(ref)
	_, _, errLookup := f.Store.AccessByLookup(acc.Lookup)
	_, errItem := f.Store.OpenItem(ref, 1)
	for name, err := range map[string]error{"Commit": errCommit, "Case": errCase, "AccessByLookup": errLookup, "OpenItem": errItem} {
		if err == nil {
			t.Errorf("%s on a closed store succeeded", name)
			continue
		}
		if msg := err.Error(); strings.Contains(msg, ref) || strings.Contains(msg, string(acc.Lookup)) {
			t.Errorf("%s error names a key: %v", name, err)
		}
	}
}

// TestReopenAfterCrashMakingLogFile: a crash between Badger's creating
// a memtable's or a value log's file and sizing it leaves an empty file,
// on which Badger's Open fails every time (TestCrashRandomKill met it in
// CI for a memtable: "while opening fid: 1 err: Create a new file"). The
// vault opens anyway and keeps what was committed.
func TestReopenAfterCrashMakingLogFile(t *testing.T) {
	for _, name := range []string{"%05d.mem", "%06d.vlog"} {
		t.Run(filepath.Ext(name), func(t *testing.T) {
			f := storetest.NewFixture(t, openBadger)
			acc, _ := storetest.NewAccess(t)
			b, _ := f.Store.NewCase("a1", acc)
			storetest.Put(t, b, vault.KindReport, "", []byte("committed before the crash"))
			ref := storetest.Commit(t, b)
			if err := f.Store.Close(); err != nil {
				t.Fatal(err)
			}
			ents, err := os.ReadDir(filepath.Join(f.Dir, "badger"))
			if err != nil {
				t.Fatal(err)
			}
			last := 0
			for _, e := range ents {
				var n int
				if _, err := fmt.Sscanf(e.Name(), name, &n); err == nil && n > last {
					last = n
				}
			}
			if last == 0 && name == "%06d.vlog" {
				t.Fatalf("no value log in %v", ents)
			}
			empty := filepath.Join(f.Dir, "badger", fmt.Sprintf(name, last+1))
			if err := os.WriteFile(empty, nil, 0o600); err != nil {
				t.Fatal(err)
			}
			s, err := vault.Open(f.Dir, f.Opts)
			if err != nil {
				t.Fatalf("the vault does not open after the crash: %v", err)
			}
			f.Store = s
			got, err := storetest.Decrypt(t, f.Store, ref, 1, f.Agency)
			if err != nil || string(got) != "committed before the crash" {
				t.Fatalf("the committed report after the reopen: %q, %v", got, err)
			}
		})
	}
}
