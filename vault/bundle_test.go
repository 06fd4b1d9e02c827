package vault_test

import (
	"archive/tar"
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"cleandrop/vault"
	"cleandrop/vault/bundle"
	"cleandrop/vault/storetest"

	"filippo.io/age"
)

// want is what one item of the test case holds.
type want struct {
	kind vault.Kind
	name string
	data []byte
}

// buildCase commits a case with every kind of item, awkward names and
// sizes at the chunk edges, and returns it with its items' plaintext by ID.
func buildCase(t *testing.T, s *vault.Store) (string, map[int]want) {
	t.Helper()
	rnd := func(n int) []byte { b := make([]byte, n); rand.Read(b); return b }
	batches := [][]want{
		{
			{kind: vault.KindReport, data: []byte("The report.\n<script>alert(1)</script> \x1b[31mred\x1b[0m \u202etxt.exe\n")},
			{kind: vault.KindAttachment, name: "../../etc/passwd", data: rnd(65536)},
			{kind: vault.KindAttachment, name: "Bericht über die Vergabe.pdf", data: rnd(65537)},
			{kind: vault.KindAttachment, data: nil},
			{kind: vault.KindAttachment, name: "..", data: rnd(1)},
			{kind: vault.KindAttachment, name: `C:\Users\x\big "file".bin`, data: rnd(3<<20 + 1)},
		},
		{
			{kind: vault.KindQuestion, data: []byte("Who signed the contract?")},
			{kind: vault.KindNote, data: []byte("Your report is under assessment.")},
		},
		{
			{kind: vault.KindAnswer, data: []byte("The deputy director.")},
			{kind: vault.KindReport, data: []byte{}},
		},
	}
	acc, _ := storetest.NewAccess(t)
	b, err := s.NewCase("a1", acc)
	if err != nil {
		t.Fatal(err)
	}
	var ref string
	wants := map[int]want{}
	id := 0
	for i, batch := range batches {
		if i > 0 {
			if b, err = s.Append(ref); err != nil {
				t.Fatal(err)
			}
		}
		for _, w := range batch {
			storetest.Put(t, b, w.kind, w.name, w.data)
			id++
			wants[id] = w
		}
		if i == 1 {
			b.SetStage("assessment")
		}
		ref = storetest.Commit(t, b)
	}
	return ref, wants
}

func export(t *testing.T, s *vault.Store, ref string) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := s.Export(&buf, ref); err != nil {
		t.Fatalf("Export: %v", err)
	}
	return buf.Bytes()
}

type tarEntry struct {
	hdr  tar.Header
	body []byte
}

func readTar(t *testing.T, data []byte) []tarEntry {
	t.Helper()
	var out []tarEntry
	tr := tar.NewReader(bytes.NewReader(data))
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		body, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, tarEntry{*hdr, body})
	}
}

func writeTar(t testing.TB, entries []tarEntry) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range entries {
		hdr := e.hdr
		if hdr.Typeflag == tar.TypeReg {
			hdr.Size = int64(len(e.body))
		}
		if err := tw.WriteHeader(&hdr); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write(e.body); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestExportLayout(t *testing.T) {
	f := storetest.NewFixture(t, openBadger)
	ref, wants := buildCase(t, f.Store)
	entries := readTar(t, export(t, f.Store, ref))
	var names []string
	for _, e := range entries {
		names = append(names, e.hdr.Name)
		if e.hdr.Typeflag != tar.TypeReg || e.hdr.Mode != 0o600 || !e.hdr.ModTime.Equal(time.Date(2025, 3, 3, 0, 0, 0, 0, time.UTC)) {
			t.Errorf("%s: type %c mode %o time %v", e.hdr.Name, e.hdr.Typeflag, e.hdr.Mode, e.hdr.ModTime)
		}
	}
	wantNames := []string{"manifest.json",
		"items/001-report.age",
		"items/002-attachment.age", "items/002-name.age",
		"items/003-attachment.age", "items/003-name.age",
		"items/004-attachment.age",
		"items/005-attachment.age", "items/005-name.age",
		"items/006-attachment.age", "items/006-name.age",
		"items/007-question.age", "items/008-note.age",
		"items/009-answer.age", "items/010-report.age",
	}
	if !slices.Equal(names, wantNames) {
		t.Errorf("bundle files:\n%v\nwant\n%v", names, wantNames)
	}
	var m map[string]any
	if err := json.Unmarshal(entries[0].body, &m); err != nil {
		t.Fatal(err)
	}
	for k, v := range map[string]any{"format": "cleandrop-bundle/1", "ref": ref, "agency": "a1", "stage": "assessment",
		"opened": storetest.Day, "exported": storetest.Day} {
		if m[k] != v {
			t.Errorf("manifest %s = %v, want %v", k, m[k], v)
		}
	}
	items := m["items"].([]any)
	if len(items) != len(wants) {
		t.Fatalf("%d manifest items", len(items))
	}
	it := items[1].(map[string]any)
	for _, k := range []string{"id", "batch", "kind", "day", "file", "size", "sha256", "name_file", "name_sha256"} {
		if _, ok := it[k]; !ok {
			t.Errorf("manifest item lacks %q: %v", k, it)
		}
	}
	if h := m["history"].([]any); len(h) != 2 {
		t.Errorf("history = %v", h)
	}
	if bytes.Contains(entries[0].body, []byte("passwd")) || bytes.Contains(entries[0].body, []byte("Bericht")) {
		t.Error("manifest holds a plaintext file name")
	}
}

func TestOpenBundleRoundTrip(t *testing.T) {
	f := storetest.NewFixture(t, openBadger)
	ref, wants := buildCase(t, f.Store)
	tarball := export(t, f.Store, ref)

	for _, tc := range []struct {
		name string
		r    func() io.Reader
	}{
		{"seekable", func() io.Reader { return bytes.NewReader(tarball) }},
		{"stream", func() io.Reader { return struct{ io.Reader }{bytes.NewReader(tarball)} }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "case")
			th, err := bundle.Open(tc.r(), []age.Identity{f.Agency}, out)
			if err != nil {
				t.Fatalf("OpenBundle: %v", err)
			}
			if th.Ref != ref || th.Agency != "a1" || th.Stage != "assessment" || len(th.Entries) != len(wants) {
				t.Fatalf("thread = %+v", th)
			}
			threadTxt, _ := os.ReadFile(filepath.Join(out, "thread.txt"))
			threadHTML, _ := os.ReadFile(filepath.Join(out, "thread.html"))
			for _, e := range th.Entries {
				w := wants[e.ID]
				if e.Kind != w.kind || e.Day != storetest.Day {
					t.Errorf("entry %d = %+v", e.ID, e)
				}
				got, err := os.ReadFile(filepath.Join(out, e.File))
				if err != nil {
					t.Errorf("entry %d: %v", e.ID, err)
					continue
				}
				if !bytes.Equal(got, w.data) {
					t.Errorf("entry %d (%s): %d bytes differ from the %d stored", e.ID, e.File, len(got), len(w.data))
				}
				if w.kind == vault.KindAttachment {
					if e.Name != w.name {
						t.Errorf("entry %d name %q, want %q", e.ID, e.Name, w.name)
					}
					if dir, base := filepath.Split(e.File); dir != "files/" || strings.HasPrefix(base, ".") ||
						!strings.HasPrefix(base, fmt.Sprintf("%03d-", e.ID)) || strings.ContainsAny(base, "/\\\x00") {
						t.Errorf("entry %d written as %q", e.ID, e.File)
					}
					if !bytes.Contains(threadTxt, []byte(e.File)) {
						t.Errorf("thread.txt does not name %s", e.File)
					}
				} else {
					if e.Text != string(w.data) {
						t.Errorf("entry %d text %q, want %q", e.ID, e.Text, w.data)
					}
					if want := fmt.Sprintf("%03d-%s.txt", e.ID, e.Kind); e.File != want {
						t.Errorf("entry %d file %q, want %q", e.ID, e.File, want)
					}
				}
			}
			for _, s := range []string{"Who signed the contract?", "The deputy director.", "[007] Question, 2025-03-03, batch 2"} {
				if !bytes.Contains(threadTxt, []byte(s)) || !bytes.Contains(threadHTML, []byte(s)) {
					t.Errorf("thread lacks %q", s)
				}
			}
			if bytes.Contains(threadTxt, []byte("\x1b")) || bytes.Contains(threadTxt, []byte("\u202e")) {
				t.Error("thread.txt holds terminal escapes or a bidi override")
			}
			lower := bytes.ToLower(threadHTML)
			for _, bad := range []string{"<script", "http:", "https:", "src=", "<link", "@import", "url("} {
				if bytes.Contains(lower, []byte(bad)) {
					t.Errorf("thread.html contains %q", bad)
				}
			}
			// Nothing outside out, every file private.
			if ents, _ := os.ReadDir(filepath.Dir(out)); len(ents) != 1 {
				t.Errorf("files beside the output directory: %v", ents)
			}
			filepath.WalkDir(out, func(path string, d fs.DirEntry, err error) error {
				fi, _ := d.Info()
				if d.IsDir() && fi.Mode().Perm() != 0o700 || !d.IsDir() && fi.Mode() != 0o600 {
					t.Errorf("%s: mode %v", path, fi.Mode())
				}
				return nil
			})
		})
	}

	t.Run("not empty", func(t *testing.T) {
		out := t.TempDir()
		os.WriteFile(filepath.Join(out, "x"), nil, 0o600)
		if _, err := bundle.Open(bytes.NewReader(tarball), []age.Identity{f.Agency}, out); err == nil {
			t.Error("OpenBundle into a non-empty directory succeeded")
		}
	})
	t.Run("wrong identity", func(t *testing.T) {
		out := filepath.Join(t.TempDir(), "case")
		_, err := bundle.Open(bytes.NewReader(tarball), []age.Identity{f.Other}, out)
		if err == nil || errors.Is(err, bundle.ErrTampered) || !strings.Contains(err.Error(), "item 1: not sealed to the given identities") {
			t.Errorf("OpenBundle with another agency's identity: %v", err)
		}
		if _, err := os.Stat(out); !errors.Is(err, fs.ErrNotExist) {
			t.Error("output directory made for a bundle that cannot be opened")
		}
	})
}

func TestOpenBundleTampered(t *testing.T) {
	f := storetest.NewFixture(t, openBadger)
	ref, _ := buildCase(t, f.Store)
	tarball := export(t, f.Store, ref)
	orig := readTar(t, tarball)
	edit := func(fn func(es []tarEntry) []tarEntry) []byte {
		es := make([]tarEntry, len(orig))
		for i, e := range orig {
			es[i] = tarEntry{e.hdr, bytes.Clone(e.body)}
		}
		return writeTar(t, fn(es))
	}
	find := func(es []tarEntry, name string) int {
		for i, e := range es {
			if e.hdr.Name == name {
				return i
			}
		}
		t.Fatalf("no %s in bundle", name)
		return -1
	}
	reg := func(name string, body []byte) tarEntry {
		return tarEntry{tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: 0o600}, body}
	}

	tests := []struct {
		name    string
		tarball []byte
		message string
	}{
		{"flipped byte in item", edit(func(es []tarEntry) []tarEntry {
			es[find(es, "items/003-attachment.age")].body[40000] ^= 1
			return es
		}), "item 3: checksum mismatch (bundle tampered or damaged)"},
		{"flipped byte in item header", edit(func(es []tarEntry) []tarEntry {
			es[find(es, "items/001-report.age")].body[30] ^= 1
			return es
		}), "item 1: checksum mismatch"},
		{"flipped byte in name", edit(func(es []tarEntry) []tarEntry {
			b := es[find(es, "items/002-name.age")].body
			b[len(b)-1] ^= 1
			return es
		}), "item 2: name checksum mismatch"},
		{"flipped byte in manifest checksum", edit(func(es []tarEntry) []tarEntry {
			m := es[0].body
			i := bytes.Index(m, []byte(`"sha256": "`)) + len(`"sha256": "`)
			if m[i] == '0' {
				m[i] = '1'
			} else {
				m[i] = '0'
			}
			return es
		}), "item 1: checksum mismatch"},
		{"flipped byte in manifest syntax", edit(func(es []tarEntry) []tarEntry {
			es[0].body[0] ^= 1
			return es
		}), "manifest.json"},
		{"manifest size changed", edit(func(es []tarEntry) []tarEntry {
			es[0].body = bytes.Replace(es[0].body, []byte(`"size": `), []byte(`"size": 1`), 1)
			return es
		}), "item 1: size mismatch"},
		{"extra file", edit(func(es []tarEntry) []tarEntry {
			return append(es, reg("items/011-report.age", es[1].body))
		}), `unexpected file "items/011-report.age"`},
		{"extra file at top", edit(func(es []tarEntry) []tarEntry {
			return append(es, reg("README", []byte("hi")))
		}), "unexpected file"},
		{"missing item", edit(func(es []tarEntry) []tarEntry {
			return slices.Delete(es, find(es, "items/008-note.age"), find(es, "items/008-note.age")+1)
		}), "item 8: missing from bundle"},
		{"missing name", edit(func(es []tarEntry) []tarEntry {
			i := find(es, "items/005-name.age")
			return slices.Delete(es, i, i+1)
		}), "item 5: name missing from bundle"},
		{"duplicate item", edit(func(es []tarEntry) []tarEntry {
			return append(es, es[find(es, "items/001-report.age")])
		}), "items/001-report.age: appears twice"},
		{"path traversal", edit(func(es []tarEntry) []tarEntry {
			return append(es, reg("../../evil.txt", []byte("x")))
		}), `unexpected file "../../evil.txt"`},
		{"path traversal inside items", edit(func(es []tarEntry) []tarEntry {
			es[find(es, "items/001-report.age")].hdr.Name = "items/../001-report.age"
			return es
		}), "unexpected file"},
		{"absolute path", edit(func(es []tarEntry) []tarEntry {
			es[find(es, "items/001-report.age")].hdr.Name = "/items/001-report.age"
			return es
		}), "unexpected file"},
		{"manifest naming a traversal path", edit(func(es []tarEntry) []tarEntry {
			es[0].body = bytes.Replace(es[0].body, []byte(`"items/001-report.age"`), []byte(`"../001-report.age"`), 1)
			es[find(es, "items/001-report.age")].hdr.Name = "../001-report.age"
			return es
		}), "item 1: bad file name"},
		{"symlink in place of an item", edit(func(es []tarEntry) []tarEntry {
			i := find(es, "items/001-report.age")
			es[i] = tarEntry{tar.Header{Typeflag: tar.TypeSymlink, Name: es[i].hdr.Name, Linkname: "/etc/passwd"}, nil}
			return es
		}), "not a regular file"},
		{"manifest not first", edit(func(es []tarEntry) []tarEntry {
			es[0], es[1] = es[1], es[0]
			return es
		}), "first file"},
		{"second manifest", edit(func(es []tarEntry) []tarEntry {
			return append(es, es[0])
		}), `unexpected file "manifest.json"`},
		{"unknown manifest field", edit(func(es []tarEntry) []tarEntry {
			es[0].body = bytes.Replace(es[0].body, []byte(`"ref"`), []byte(`"x":1,"ref"`), 1)
			return es
		}), "manifest.json"},
		{"truncated", tarball[:len(tarball)/2], "bundle tampered"},
		{"empty", nil, "not a bundle"},
		{"not a tar", []byte("hello, this is not a tar file at all"), "not a bundle"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "case")
			_, err := bundle.Open(bytes.NewReader(tc.tarball), []age.Identity{f.Agency}, out)
			if !errors.Is(err, bundle.ErrTampered) {
				t.Fatalf("OpenBundle: %v, want ErrTampered", err)
			}
			if !strings.Contains(err.Error(), tc.message) {
				t.Errorf("error %q does not say %q", err, tc.message)
			}
			if _, err := os.Stat(out); !errors.Is(err, fs.ErrNotExist) {
				t.Error("something was written for a tampered bundle")
			}
		})
	}
}

func TestExportSigned(t *testing.T) {
	f := storetest.NewFixture(t, openBadger)
	r, _, _ := f.NewReport(t, "signed report")
	key := []byte("test signing key")
	sign := func(m []byte) ([]byte, error) { s := sha256.Sum256(append(bytes.Clone(key), m...)); return s[:], nil }
	verify := func(m, sig []byte) error {
		if s, _ := sign(m); !bytes.Equal(s, sig) {
			return errors.New("bad signature")
		}
		return nil
	}
	var signed bytes.Buffer
	if err := f.Store.ExportWith(&signed, r, vault.ExportOptions{Sign: sign}); err != nil {
		t.Fatal(err)
	}
	es := readTar(t, signed.Bytes())
	if es[1].hdr.Name != "manifest.json.sig" {
		t.Fatalf("second file is %s", es[1].hdr.Name)
	}
	badSig := slices.Clone(es)
	badSig[1].body = make([]byte, 32)
	forged := slices.Clone(es)
	forged[0].body = bytes.Replace(es[0].body, []byte(`"assessment"`), []byte(`"closed"`), 1)
	forged[0].body = bytes.Replace(forged[0].body, []byte(`"stage": "received"`), []byte(`"stage": "closed"`), 1)
	unsigned := export(t, f.Store, r)

	tests := []struct {
		name     string
		tarball  []byte
		opts     bundle.OpenOptions
		tampered bool
	}{
		{"verified", signed.Bytes(), bundle.OpenOptions{Verify: verify}, false},
		{"signature ignored without Verify", signed.Bytes(), bundle.OpenOptions{}, false},
		{"bad signature", writeTar(t, badSig), bundle.OpenOptions{Verify: verify}, true},
		{"forged manifest", writeTar(t, forged), bundle.OpenOptions{Verify: verify}, true},
		{"unsigned", unsigned, bundle.OpenOptions{Verify: verify}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "case")
			_, err := bundle.OpenWith(bytes.NewReader(tc.tarball), []age.Identity{f.Agency}, out, tc.opts)
			if tc.tampered != errors.Is(err, bundle.ErrTampered) || (!tc.tampered && err != nil) {
				t.Errorf("OpenBundleWith: %v, tampered = %v", err, tc.tampered)
			}
		})
	}
	if err := f.Store.ExportWith(io.Discard, r, vault.ExportOptions{Sign: func([]byte) ([]byte, error) {
		return nil, errors.New("no key")
	}}); err == nil {
		t.Error("Export with a failing signer succeeded")
	}
}

// TestStockAge decrypts every exported item and name with the age command.
func TestStockAge(t *testing.T) {
	bin, err := exec.LookPath("age")
	if err != nil {
		t.Skip("the age command is not on PATH (apt-get install age); skipping the interoperability test")
	}
	f := storetest.NewFixture(t, openBadger)
	ref, wants := buildCase(t, f.Store)
	dir := t.TempDir()
	idFile := filepath.Join(dir, "identity.txt")
	if err := os.WriteFile(idFile, []byte(f.Agency.String()+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, e := range readTar(t, export(t, f.Store, ref)) {
		if !strings.HasPrefix(e.hdr.Name, "items/") {
			continue
		}
		t.Run(e.hdr.Name, func(t *testing.T) {
			id, _ := strconv.Atoi(strings.TrimPrefix(e.hdr.Name, "items/")[:3])
			w := wants[id]
			expect := w.data
			if strings.HasSuffix(e.hdr.Name, "-name.age") {
				expect = []byte(w.name)
			}
			path := filepath.Join(dir, filepath.Base(e.hdr.Name))
			if err := os.WriteFile(path, e.body, 0o600); err != nil {
				t.Fatal(err)
			}
			var stderr bytes.Buffer
			cmd := exec.Command(bin, "-d", "-i", idFile, path)
			cmd.Stderr = &stderr
			got, err := cmd.Output()
			if err != nil {
				t.Fatalf("age -d: %v: %s", err, stderr.Bytes())
			}
			if !bytes.Equal(got, expect) {
				t.Errorf("age -d gave %d bytes, want %d", len(got), len(expect))
			}
		})
	}
}

// fuzzIdentity is a test key, used only here and in the seeds of
// vault/bundle's FuzzOpenBundle, which holds the same.
const fuzzIdentity = "AGE-SECRET-KEY-1WZUJ99F3Q8GV5E2SNKCA2XCVWPUV4JJG0573U5L25SZCMT6NHAUQU9JA6J"

var updateSeeds = flag.Bool("update-seeds", false, "rewrite the seeds in bundle/testdata/fuzz/FuzzOpenBundle")

// TestFuzzSeeds rewrites the seeds of vault/bundle's FuzzOpenBundle with
// -update-seeds: a valid bundle sealed to fuzzIdentity, one with a path
// traversal, one cut short. It stays here because it needs a Store to
// export from.
func TestFuzzSeeds(t *testing.T) {
	if !*updateSeeds {
		t.Skip("run with -update-seeds to rewrite the fuzz seeds")
	}
	id, err := age.ParseX25519Identity(fuzzIdentity)
	if err != nil {
		t.Fatal(err)
	}
	s := openBadger(t, t.TempDir(), vault.Options{
		Agencies: []vault.Agency{{ID: "a1", Recipients: []age.Recipient{id.Recipient()}}},
		Now:      func() time.Time { return storetest.Now },
	})
	acc, _ := storetest.NewAccess(t)
	b, _ := s.NewCase("a1", acc)
	storetest.Put(t, b, vault.KindReport, "", []byte("fuzz report"))
	storetest.Put(t, b, vault.KindAttachment, "../x.txt", []byte("attached"))
	storetest.Put(t, b, vault.KindQuestion, "", []byte("q?"))
	ref := storetest.Commit(t, b)
	valid := export(t, s, ref)
	es := readTar(t, valid)
	traversal := writeTar(t, append(es, tarEntry{tar.Header{Typeflag: tar.TypeReg, Name: "../evil", Mode: 0o600}, []byte("x")}))
	seeds := map[string][]byte{"valid": valid, "traversal": traversal, "truncated": valid[:len(valid)-700]}
	for name, data := range seeds {
		content := "go test fuzz v1\n[]byte(" + strconv.Quote(string(data)) + ")\n"
		if err := os.WriteFile(filepath.Join("bundle", "testdata", "fuzz", "FuzzOpenBundle", name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func BenchmarkSealBlob(b *testing.B) {
	const size = 64 << 20
	id, _ := age.GenerateX25519Identity()
	s, err := vault.Open(b.TempDir(), vault.Options{
		Agencies: []vault.Agency{{ID: "a1", Recipients: []age.Recipient{id.Recipient()}}},
	})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	chunk := make([]byte, 1<<20)
	rand.Read(chunk)
	b.SetBytes(size)
	b.ReportAllocs()
	for b.Loop() {
		acc := vault.Access{Lookup: []byte(rand.Text()), ReplyRecipient: id.Recipient().String()}
		batch, err := s.NewCase("a1", acc)
		if err != nil {
			b.Fatal(err)
		}
		w, err := batch.Add(vault.KindAttachment, "bench.bin")
		if err != nil {
			b.Fatal(err)
		}
		for range size / len(chunk) {
			if _, err := w.Write(chunk); err != nil {
				b.Fatal(err)
			}
		}
		if err := w.Close(); err != nil {
			b.Fatal(err)
		}
		if _, err := batch.Commit(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSmallReports commits reports without an attachment (one 2 KiB
// text each) from 32 concurrent writers, as a burst of text reports
// arrives: each waits for its commit step.
func BenchmarkSmallReports(b *testing.B) {
	id, _ := age.GenerateX25519Identity()
	s, err := vault.Open(b.TempDir(), vault.Options{
		Agencies: []vault.Agency{{ID: "a1", Recipients: []age.Recipient{id.Recipient()}}},
	})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	text := make([]byte, 2<<10)
	rand.Read(text)
	b.SetParallelism(16) // 32 writers on 2 cores
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			acc := vault.Access{Lookup: []byte(rand.Text()), ReplyRecipient: id.Recipient().String()}
			batch, err := s.NewCase("a1", acc)
			if err != nil {
				b.Error(err)
				return
			}
			w, err := batch.Add(vault.KindReport, "")
			if err == nil {
				_, err = w.Write(text)
			}
			if err == nil {
				err = w.Close()
			}
			if err == nil {
				_, err = batch.Commit()
			}
			if err != nil {
				batch.Abort()
				b.Error(err)
				return
			}
		}
	})
}

// A cleaning item (what was removed from the batch's files) is sealed to
// the agency like a report and opens as text in the thread.
func TestCleaningItem(t *testing.T) {
	f := storetest.NewFixture(t, openBadger)
	acc, _ := storetest.NewAccess(t)
	b, err := f.Store.NewCase("a1", acc)
	if err != nil {
		t.Fatal(err)
	}
	const note = "file 1 (photo.jpg): cleaned; removed: location (GPS), camera make and serial\n"
	storetest.Put(t, b, vault.KindReport, "", []byte("the report"))
	storetest.Put(t, b, vault.KindAttachment, "photo.jpg", []byte("\xff\xd8\xff"))
	storetest.Put(t, b, vault.KindCleaning, "", []byte(note))
	ref := storetest.Commit(t, b)
	out := filepath.Join(t.TempDir(), "case")
	th, err := bundle.Open(bytes.NewReader(export(t, f.Store, ref)), []age.Identity{f.Agency}, out)
	if err != nil {
		t.Fatal(err)
	}
	if len(th.Entries) != 3 || th.Entries[2].Kind != vault.KindCleaning || th.Entries[2].Text != note {
		t.Fatalf("entries %+v", th.Entries)
	}
	for _, name := range []string{"thread.txt", "thread.html", "003-cleaning.txt"} {
		b, _ := os.ReadFile(filepath.Join(out, name))
		if !bytes.Contains(b, []byte("removed: location (GPS), camera make and serial")) {
			t.Errorf("%s lacks the cleaning note", name)
		}
	}
}
