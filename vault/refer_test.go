package vault_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"cleandrop/vault"
	"cleandrop/vault/bundle"
	"cleandrop/vault/storetest"

	"filippo.io/age"
)

// referral makes a referral bundle of case ref (agency a1) for agency a2,
// the way the officer's offline machine does.
func referral(t *testing.T, f *storetest.Fixture, ref string) []byte {
	t.Helper()
	var out bytes.Buffer
	info, err := bundle.MakeReferral(bytes.NewReader(export(t, f.Store, ref)), []age.Identity{f.Agency},
		"a2", []age.Recipient{f.Other.Recipient()}, &out, bundle.OpenOptions{})
	if err != nil {
		t.Fatalf("MakeReferral: %v", err)
	}
	if info.FromRef != ref || info.FromAgency != "a1" || info.ToAgency != "a2" || info.Items != 10 {
		t.Fatalf("referral info = %+v", info)
	}
	return out.Bytes()
}

func TestReferral(t *testing.T) {
	f := storetest.NewFixture(t, openBadger)
	ref, wants := buildCase(t, f.Store)
	tarball := referral(t, f, ref)

	// The referral bundle holds nothing the referring agency can open, and
	// no plaintext name.
	for _, e := range readTar(t, tarball)[1:] {
		if _, err := age.Decrypt(bytes.NewReader(e.body), f.Agency); err == nil {
			t.Errorf("%s still opens with the referring agency's key", e.hdr.Name)
		}
	}
	if bytes.Contains(tarball, []byte("passwd")) || bytes.Contains(tarball, []byte("Bericht")) {
		t.Error("referral bundle holds a plaintext file name")
	}

	link, err := f.Store.ReceiveReferral(bytes.NewReader(tarball), strings.ToLower(ref), vault.ReceiveOptions{Stage: "referred", Officer: "officer.one"})
	if err != nil {
		t.Fatalf("ReceiveReferral: %v", err)
	}
	sum := sha256.Sum256(tarball)
	if link.Action != vault.CustodyOut || link.Agency != "a2" || link.Items != 10 ||
		link.Bundle != hex.EncodeToString(sum[:]) || link.Officer != "officer.one" || link.Day != storetest.Day {
		t.Fatalf("custody link = %+v", link)
	}

	from, _ := f.Store.Case(ref)
	if from.Stage != "referred" || len(from.Custody) != 1 || from.Custody[0] != link {
		t.Errorf("referring case: stage %q custody %+v", from.Stage, from.Custody)
	}
	to, err := f.Store.Case(link.Ref)
	if err != nil {
		t.Fatal(err)
	}
	if to.Agency != "a2" || to.Stage != vault.InitialStage || len(to.Items) != len(wants) || len(to.Custody) != 1 {
		t.Fatalf("new case = %+v", to)
	}
	in := to.Custody[0]
	if in.Action != vault.CustodyIn || in.Agency != "a1" || in.Ref != ref || in.Bundle != link.Bundle || in.Source != link.Source {
		t.Errorf("received case custody = %+v, out link %+v", in, link)
	}

	// The receiving agency opens everything, names included, through its
	// own export; the thread shows where the case came from.
	out := filepath.Join(t.TempDir(), "b")
	th, err := bundle.Open(bytes.NewReader(export(t, f.Store, to.Ref)), []age.Identity{f.Other}, out)
	if err != nil {
		t.Fatalf("OpenBundle of the received case: %v", err)
	}
	for _, e := range th.Entries {
		w := wants[e.ID]
		if e.Kind != w.kind || e.Name != w.name {
			t.Errorf("item %d: kind %s name %q, want %s %q", e.ID, e.Kind, e.Name, w.kind, w.name)
		}
		got, err := os.ReadFile(filepath.Join(out, e.File))
		if err != nil || !bytes.Equal(got, w.data) {
			t.Errorf("item %d: content differs (%v)", e.ID, err)
		}
	}
	txt, _ := os.ReadFile(filepath.Join(out, "thread.txt"))
	if !strings.Contains(string(txt), "Received by referral from a1, case "+ref) || !strings.Contains(string(txt), link.Bundle) {
		t.Errorf("thread.txt lacks the chain of custody:\n%s", txt)
	}

	// The received case can reach the reporter: it has the referring case's
	// reply key, and no lookup key of its own.
	if to.Access.ReplyRecipient != from.Access.ReplyRecipient || len(to.Access.Lookup) != 0 || to.Access.WrappedReply != nil {
		t.Errorf("received case access = %+v", to.Access)
	}
	if err := f.Store.Post(to.Ref, "", vault.KindQuestion, []byte("Who else was there?")); err != nil {
		t.Errorf("question on a received case: %v", err)
	}
	if err := f.Store.Post(to.Ref, "assessment", "", nil); err != nil {
		t.Errorf("stage change on a received case: %v", err)
	}
}

func TestReferralRefused(t *testing.T) {
	f := storetest.NewFixture(t, openBadger)
	ref, _ := buildCase(t, f.Store)
	other, _, _ := f.NewReport(t, "another report")
	tarball := referral(t, f, ref)

	flip := func(name string, at int) []byte {
		es := readTar(t, tarball)
		for i := range es {
			if es[i].hdr.Name == name {
				es[i].body = bytes.Clone(es[i].body)
				es[i].body[at] ^= 1
			}
		}
		return writeTar(t, es)
	}
	drop := func(name string) []byte {
		var es []tarEntry
		for _, e := range readTar(t, tarball) {
			if e.hdr.Name != name {
				es = append(es, e)
			}
		}
		return writeTar(t, es)
	}
	for _, tc := range []struct {
		name    string
		tarball []byte
		from    string
		want    error
	}{
		{"item byte", flip("items/006-attachment.age", 3000), ref, bundle.ErrTampered},
		{"name byte", flip("items/002-name.age", 100), ref, bundle.ErrTampered},
		{"manifest byte", flip("manifest.json", 40), ref, bundle.ErrTampered},
		{"missing item", drop("items/009-answer.age"), ref, bundle.ErrTampered},
		{"export bundle", export(t, f.Store, ref), ref, vault.ErrNotReferral},
		{"not a tar", []byte("hello"), ref, vault.ErrNotReferral},
		{"other case", tarball, other, vault.ErrWrongCase},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before, _ := f.Store.Cases()
			_, err := f.Store.ReceiveReferral(bytes.NewReader(tc.tarball), tc.from, vault.ReceiveOptions{Stage: "referred", Officer: "o"})
			if !errors.Is(err, tc.want) {
				t.Fatalf("ReceiveReferral: %v, want %v", err, tc.want)
			}
			after, _ := f.Store.Cases()
			c, _ := f.Store.Case(ref)
			if len(after) != len(before) || c.Stage == "referred" || len(c.Custody) != 0 {
				t.Errorf("a refused referral left something: %d→%d cases, stage %q, custody %v", len(before), len(after), c.Stage, c.Custody)
			}
		})
	}

	t.Run("same agency", func(t *testing.T) {
		_, err := bundle.MakeReferral(bytes.NewReader(export(t, f.Store, ref)), []age.Identity{f.Agency},
			"a1", []age.Recipient{f.Agency.Recipient()}, &bytes.Buffer{}, bundle.OpenOptions{})
		if !errors.Is(err, vault.ErrSameAgency) {
			t.Errorf("MakeReferral to its own agency: %v", err)
		}
	})
	t.Run("tampered export", func(t *testing.T) {
		es := readTar(t, export(t, f.Store, ref))
		es[1].body = bytes.Clone(es[1].body)
		es[1].body[len(es[1].body)-1] ^= 1
		var out bytes.Buffer
		_, err := bundle.MakeReferral(bytes.NewReader(writeTar(t, es)), []age.Identity{f.Agency},
			"a2", []age.Recipient{f.Other.Recipient()}, &out, bundle.OpenOptions{})
		if !errors.Is(err, bundle.ErrTampered) || out.Len() != 0 {
			t.Errorf("MakeReferral of a tampered export: %v, %d bytes written", err, out.Len())
		}
	})
}

// TestSignatureCheckedFirst: with Verify set, a bundle is judged by its
// signature before its manifest is parsed or an item is read.
func TestSignatureCheckedFirst(t *testing.T) {
	f := storetest.NewFixture(t, openBadger)
	ref, _ := buildCase(t, f.Store)
	sum := func(m []byte) []byte { s := sha256.Sum256(m); return []byte(hex.EncodeToString(s[:])) }
	errBad := errors.New("bad signature")
	opts := bundle.OpenOptions{Verify: func(m, sig []byte) error {
		if !bytes.Equal(sig, sum(m)) {
			return errBad
		}
		return nil
	}}
	var buf bytes.Buffer
	if err := f.Store.ExportWith(&buf, ref, vault.ExportOptions{Sign: func(m []byte) ([]byte, error) { return sum(m), nil }}); err != nil {
		t.Fatal(err)
	}
	if _, err := bundle.OpenWith(bytes.NewReader(buf.Bytes()), []age.Identity{f.Agency}, filepath.Join(t.TempDir(), "ok"), opts); err != nil {
		t.Fatalf("signed bundle: %v", err)
	}
	es := readTar(t, buf.Bytes())
	// A manifest that no longer parses and an item it does not describe:
	// only the signature is reported.
	es[0].body = append([]byte("{not json"), es[0].body...)
	es[2].body = []byte("garbage")
	_, err := bundle.OpenWith(bytes.NewReader(writeTar(t, es)), []age.Identity{f.Agency}, filepath.Join(t.TempDir(), "bad"), opts)
	if !errors.Is(err, errBad) || !errors.Is(err, bundle.ErrTampered) {
		t.Errorf("changed manifest: %v, want the signature's error", err)
	}
	_, err = bundle.OpenWith(bytes.NewReader(export(t, f.Store, ref)), []age.Identity{f.Agency}, filepath.Join(t.TempDir(), "unsigned"), opts)
	if !errors.Is(err, bundle.ErrUnsigned) {
		t.Errorf("unsigned bundle: %v, want ErrUnsigned", err)
	}
}

// TestReferralReachesReporter: what the receiving agency asks is sealed to
// its own keys and to the reporter's reply key, never to the referring
// agency's.
func TestReferralReachesReporter(t *testing.T) {
	f := storetest.NewFixture(t, openBadger)
	ref, _, reply := f.NewReport(t, "one report")
	var rb bytes.Buffer
	if _, err := bundle.MakeReferral(bytes.NewReader(export(t, f.Store, ref)), []age.Identity{f.Agency}, "a2",
		[]age.Recipient{f.Other.Recipient()}, &rb, bundle.OpenOptions{}); err != nil {
		t.Fatal(err)
	}
	link, err := f.Store.ReceiveReferral(&rb, ref, vault.ReceiveOptions{Stage: "referred", Officer: "o"})
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Store.Post(link.Ref, "", vault.KindQuestion, []byte("Who else was there?")); err != nil {
		t.Fatal(err)
	}
	c, _ := f.Store.Case(link.Ref)
	id := c.Items[len(c.Items)-1].ID
	for name, tc := range map[string]struct {
		id    age.Identity
		opens bool
	}{"reporter": {reply, true}, "receiving agency": {f.Other, true}, "referring agency": {f.Agency, false}} {
		got, err := storetest.Decrypt(t, f.Store, link.Ref, id, tc.id)
		if (err == nil) != tc.opens || (tc.opens && string(got) != "Who else was there?") {
			t.Errorf("%s: %q %v, want opens=%v", name, got, err, tc.opens)
		}
	}
}

// swapOnRewind is a bundle file that someone changes between MakeReferral's
// two passes: after the first rewind it reads as other.
type swapOnRewind struct {
	*bytes.Reader
	other []byte
	seeks int
}

func (s *swapOnRewind) Seek(off int64, whence int) (int64, error) {
	if s.seeks++; s.seeks == 2 {
		s.Reader = bytes.NewReader(s.other)
	}
	return s.Reader.Seek(off, whence)
}

func TestReferralBundleChangedBetweenPasses(t *testing.T) {
	f := storetest.NewFixture(t, openBadger)
	ref, _ := buildCase(t, f.Store)
	good := export(t, f.Store, ref)
	// The same report of another case: as large, and it decrypts, but it
	// is not the item the signed manifest names.
	ref2, _ := buildCase(t, f.Store)
	es := readTar(t, good)
	es[1].body = readTar(t, export(t, f.Store, ref2))[1].body
	if len(es[1].body) != len(readTar(t, good)[1].body) {
		t.Fatal("the substitute item differs in size")
	}
	var out bytes.Buffer
	_, err := bundle.MakeReferral(&swapOnRewind{Reader: bytes.NewReader(good), other: writeTar(t, es)}, []age.Identity{f.Agency},
		"a2", []age.Recipient{f.Other.Recipient()}, &out, bundle.OpenOptions{})
	if !errors.Is(err, bundle.ErrTampered) || !strings.Contains(err.Error(), "changed while being read") || out.Len() != 0 {
		t.Errorf("a bundle changed between the passes: %v, %d bytes written", err, out.Len())
	}
}

// rewriteReferral decodes a referral bundle's manifest, lets edit change
// its items and the tar entries, and writes the bundle again: what someone
// between the offline machine and the desk could do, since a referral
// manifest carries checksums but no signature.
func rewriteReferral(t *testing.T, tarball []byte, edit func(items *[]map[string]any, es *[]tarEntry)) []byte {
	t.Helper()
	es := readTar(t, tarball)
	var m map[string]any
	if err := json.Unmarshal(es[0].body, &m); err != nil {
		t.Fatal(err)
	}
	var items []map[string]any
	for _, it := range m["items"].([]any) {
		items = append(items, it.(map[string]any))
	}
	rest := es[1:]
	edit(&items, &rest)
	m["items"] = items
	mj, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	es[0].body = append(mj, '\n')
	return writeTar(t, append(es[:1], rest...))
}

// TestReferralItemsMustMatch: a referral carries the source case's items,
// all of them, as they are; and a case goes to one agency once, unless a
// reason is given.
func TestReferralItemsMustMatch(t *testing.T) {
	f := storetest.NewFixture(t, openBadger)
	ref, _ := buildCase(t, f.Store)
	tarball := referral(t, f, ref)
	opts := vault.ReceiveOptions{Stage: "referred", Officer: "o"}

	relabelled := rewriteReferral(t, tarball, func(items *[]map[string]any, es *[]tarEntry) {
		it := (*items)[0] // the report
		if it["kind"] != "report" {
			t.Fatalf("item 1 is %v", it["kind"])
		}
		old := it["file"].(string)
		it["kind"], it["file"] = "question", strings.Replace(old, "report", "question", 1)
		for i := range *es {
			if (*es)[i].hdr.Name == old {
				(*es)[i].hdr.Name = it["file"].(string)
			}
		}
	})
	oneLess := rewriteReferral(t, tarball, func(items *[]map[string]any, es *[]tarEntry) {
		last := (*items)[len(*items)-1]
		*items = (*items)[:len(*items)-1]
		*es = slices.DeleteFunc(*es, func(e tarEntry) bool {
			return e.hdr.Name == last["file"] || e.hdr.Name == last["name_file"]
		})
	})
	resized := rewriteReferral(t, tarball, func(items *[]map[string]any, es *[]tarEntry) {
		it := (*items)[0]
		var buf bytes.Buffer
		w, _ := age.Encrypt(&buf, f.Other.Recipient())
		w.Write([]byte("a shorter report than the one the reporter sent"))
		w.Close()
		sum := sha256.Sum256(buf.Bytes())
		it["size"], it["sha256"] = buf.Len(), hex.EncodeToString(sum[:])
		for i := range *es {
			if (*es)[i].hdr.Name == it["file"] {
				(*es)[i].body = buf.Bytes()
			}
		}
	})
	for _, tc := range []struct {
		name    string
		tarball []byte
	}{{"report relabelled as a question", relabelled}, {"one item left out", oneLess}, {"an item of another length", resized}} {
		t.Run(tc.name, func(t *testing.T) {
			before, _ := f.Store.Cases()
			_, err := f.Store.ReceiveReferral(bytes.NewReader(tc.tarball), ref, opts)
			if !errors.Is(err, vault.ErrItemsMismatch) {
				t.Fatalf("ReceiveReferral: %v, want ErrItemsMismatch", err)
			}
			after, _ := f.Store.Cases()
			if c, _ := f.Store.Case(ref); len(after) != len(before) || len(c.Custody) != 0 {
				t.Errorf("a refused referral left something: %d→%d cases, custody %v", len(before), len(after), c.Custody)
			}
		})
	}

	t.Run("referred again", func(t *testing.T) {
		if _, err := f.Store.ReceiveReferral(bytes.NewReader(tarball), ref, opts); err != nil {
			t.Fatalf("first referral: %v", err)
		}
		for i := 0; i < 4; i++ {
			if _, err := f.Store.ReceiveReferral(bytes.NewReader(tarball), ref, opts); !errors.Is(err, vault.ErrReferredBefore) {
				t.Fatalf("referral %d without a reason: %v, want ErrReferredBefore", i+2, err)
			}
		}
		bad := opts
		bad.Reason = "because I say so"
		if _, err := f.Store.ReceiveReferral(bytes.NewReader(tarball), ref, bad); !errors.Is(err, vault.ErrReferralReason) {
			t.Fatalf("free-text reason: %v, want ErrReferralReason", err)
		}
		again := opts
		again.Reason = "correction"
		link, err := f.Store.ReceiveReferral(bytes.NewReader(tarball), ref, again)
		if err != nil || link.Reason != "correction" {
			t.Fatalf("referral with a reason: %+v %v", link, err)
		}
		c, _ := f.Store.Case(ref)
		if len(c.Custody) != 2 || c.Custody[0].Reason != "" || c.Custody[1].Reason != "correction" {
			t.Errorf("custody = %+v", c.Custody)
		}
		to, _ := f.Store.Case(link.Ref)
		if len(to.Custody) != 1 || to.Custody[0].Reason != "correction" || !strings.Contains(to.Custody[0].Summary(), "Referred again: Correction") {
			t.Errorf("received case custody = %+v", to.Custody)
		}
	})
}
