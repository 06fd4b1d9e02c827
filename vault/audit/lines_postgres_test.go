package audit_test

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"cleandrop/vault"
	"cleandrop/vault/audit"
	"cleandrop/vault/backend"
	"cleandrop/vault/backend/badgerstore"
	"cleandrop/vault/backend/pgstore"
	"cleandrop/vault/backend/servers"
)

// frontEnd opens the vault of dir over the database at url, as one
// front-end of a shared deployment, and its audit log.
func frontEnd(t *testing.T, url, dir string) (*vault.Store, *audit.Log) {
	t.Helper()
	meta, err := pgstore.Open(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	blobs, err := badgerstore.OpenBlobs(t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	s, err := vault.OpenShared(dir, vault.Shared{Meta: meta, Blobs: blobs}, vault.Options{Tick: 5 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	lines, err := s.AuditLines()
	if err != nil {
		t.Fatal(err)
	}
	l, err := audit.OpenLines(lines, lines.Key(), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	s.OnTick(l.Tick) // as serve wires it: must not hold up the schedule
	return s, l
}

// verifyStore verifies the audit log in the database at url read only, as
// 'cleandrop audit verify' does on a shared deployment.
func verifyStore(t *testing.T, url, dir string) (int64, error) {
	t.Helper()
	meta, err := pgstore.Open(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer meta.Close()
	lines, err := vault.OpenSharedAudit(context.Background(), dir, vault.Shared{Meta: meta})
	if err != nil {
		t.Fatal(err)
	}
	return audit.VerifyLines(lines, lines.Key())
}

// TestLinesPostgresTwoFrontEndsOneChain: two front-ends over one
// PostgreSQL, their officers acting at once, append to one chain with
// every entry once and no gap; then a line changed, moved or removed in
// the database, behind the drop's back, is found.
func TestLinesPostgresTwoFrontEndsOneChain(t *testing.T) {
	pg := servers.StartPostgres(t)
	url := pg.NewDatabase(t)
	dirA, dirB := t.TempDir(), t.TempDir()
	_, la := frontEnd(t, url, dirA)
	key, err := os.ReadFile(filepath.Join(dirA, "vault.key"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dirB, "vault.key"), key, 0o600); err != nil {
		t.Fatal(err)
	}
	_, lb := frontEnd(t, url, dirB)

	const each = 25
	var wg sync.WaitGroup
	for i, l := range []*audit.Log{la, lb} {
		for j := range each {
			wg.Go(func() {
				e := audit.Entry{Actor: fmt.Sprintf("officer %c", 'A'+i), Action: "stage.change", Case: "CD-7QK2-M4XD", Detail: fmt.Sprint(j)}
				if _, err := l.Append(e); err != nil {
					t.Error(err)
				}
			})
		}
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	if n, err := verifyStore(t, url, dirB); err != nil || n != 2*each {
		t.Fatalf("verify: %d entries, %v; want %d", n, err, 2*each)
	}
	for _, l := range []*audit.Log{la, lb} {
		es, err := l.CaseEntries("CD-7QK2-M4XD", nil, 0)
		if err != nil || len(es) != 2*each {
			t.Fatalf("CaseEntries: %d, %v; want %d", len(es), err, 2*each)
		}
		seen := map[string]bool{}
		for i, e := range es {
			if e.Seq != int64(2*each-i) {
				t.Fatalf("entry %d has seq %d", i, e.Seq)
			}
			seen[e.Actor+e.Detail] = true
		}
		if len(seen) != 2*each {
			t.Fatalf("%d distinct entries of %d", len(seen), 2*each)
		}
	}

	// What someone with the database but not the vault key can do to the
	// rows: each is found, and a front-end opening the log refuses it.
	raw, err := pgstore.Open(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	row := func(seq int) []byte { return fmt.Appendf(nil, "a/line/%016d", seq) }
	get := func(k []byte) []byte {
		var v []byte
		if err := raw.View(context.Background(), func(tx backend.Tx) error {
			var err error
			v, err = tx.Get(k)
			return err
		}); err != nil {
			t.Fatalf("%s: %v", k, err)
		}
		return v
	}
	set := func(kv map[string][]byte) {
		if err := raw.Update(context.Background(), func(tx backend.Tx) error {
			for k, v := range kv {
				var err error
				if v == nil {
					err = tx.Delete([]byte(k))
				} else {
					err = tx.Put([]byte(k), v)
				}
				if err != nil {
					return err
				}
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	l4, l5, l10, l20 := get(row(4)), get(row(5)), get(row(10)), get(row(20))
	flipped := bytes.Clone(l10)
	flipped[len(flipped)/2] ^= 1
	for _, tc := range []struct {
		name            string
		tamper, restore map[string][]byte
	}{
		{"changed", map[string][]byte{string(row(10)): flipped}, map[string][]byte{string(row(10)): l10}},
		{"reordered", map[string][]byte{string(row(4)): l5, string(row(5)): l4}, map[string][]byte{string(row(4)): l4, string(row(5)): l5}},
		{"removed", map[string][]byte{string(row(20)): nil}, map[string][]byte{string(row(20)): l20}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			set(tc.tamper)
			defer set(tc.restore)
			n, err := verifyStore(t, url, dirA)
			var p *audit.Problem
			if !errors.Is(err, audit.ErrBroken) || !errors.As(err, &p) || p.Hint == "" {
				t.Fatalf("verify after the row was %s: %d, %v; want a Problem", tc.name, n, err)
			}
			t.Logf("verify: %v (%d good entries)", err, n)
			lines, _ := vault.OpenSharedAudit(context.Background(), dirA, vault.Shared{Meta: raw})
			if _, err := audit.OpenLines(lines, lines.Key(), nil); !errors.Is(err, audit.ErrBroken) {
				t.Fatalf("OpenLines = %v, want ErrBroken", err)
			}
		})
	}
	if n, err := verifyStore(t, url, dirA); err != nil || n != 2*each {
		t.Fatalf("verify after restoring the rows: %d, %v", n, err)
	}
	// And nothing of an entry is in the database in the clear.
	// Keys and values are bytea: look for text and for its hex. The
	// audit rows' own key prefix is found, so the dump holds them.
	dump := pg.Dump(t, url)
	inDump := func(s string) bool {
		return bytes.Contains(dump, []byte(s)) || bytes.Contains(dump, []byte(hex.EncodeToString([]byte(s))))
	}
	if !inDump("a/line/0000000000000050") {
		t.Fatal("the dump holds no audit line's key")
	}
	for _, canary := range []string{"officer A", "stage.change", "CD-7QK2-M4XD"} {
		if inDump(canary) {
			t.Fatalf("the database holds %q in the clear", canary)
		}
	}
	if es, err := la.CaseEntries("CD-0000-0000", nil, 0); err != nil || len(es) != 0 {
		t.Fatalf("CaseEntries of a case without entries: %d, %v", len(es), err)
	}
}
