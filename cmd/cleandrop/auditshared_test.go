package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"

	"cleandrop/vault/backend"
	"cleandrop/vault/backend/pgstore"
	"cleandrop/vault/backend/servers"
)

// sharedConfig writes a configuration for the demo in data with the store
// section of storeFile, as an operator's configuration of a front-end of
// shared stores holds it, and returns its path.
func sharedConfig(t testing.TB, data, storeFile string) string {
	t.Helper()
	var cfg map[string]any
	b, err := os.ReadFile(filepath.Join(data, "demo", "config.json"))
	if err == nil {
		err = json.Unmarshal(b, &cfg)
	}
	if err != nil {
		t.Fatal(err)
	}
	var store map[string]any
	if b, err = os.ReadFile(storeFile); err == nil {
		err = json.Unmarshal(b, &store)
	}
	if err != nil {
		t.Fatal(err)
	}
	abs, err := filepath.Abs(data)
	if err != nil {
		t.Fatal(err)
	}
	cfg["data_dir"], cfg["store"] = abs, store
	if b, err = json.Marshal(cfg); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "config.json")
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// copyShared copies into dataB what every front-end of one shared vault
// must share with the first (docs/operations.md): the demo's
// configuration and keys, vault.key, the pepper and the signing key.
func copyShared(t *testing.T, dataA, dataB string) {
	t.Helper()
	if err := os.MkdirAll(dataB, 0o700); err != nil {
		t.Fatal(err)
	}
	for _, part := range []string{"demo", "signing", "pepper", filepath.Join("vault", "vault.key")} {
		root := filepath.Join(dataA, part)
		err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			to := filepath.Join(dataB, part, strings.TrimPrefix(p, root))
			if d.IsDir() {
				return os.MkdirAll(to, 0o700)
			}
			if err := os.MkdirAll(filepath.Dir(to), 0o700); err != nil {
				return err
			}
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			return os.WriteFile(to, b, 0o600)
		})
		if err != nil {
			t.Fatal(err)
		}
	}
}

// TestAuditOneChainTwoFrontEndsPostgres: two front-ends over the same
// PostgreSQL and S3 store, officers and the administrator acting on both,
// some at the same moment: 'cleandrop audit verify' on either front-end,
// and on the store directly, finds one chain holding every action of both;
// 'audit show' on each shows the other's actions; a backup of a front-end
// is refused with the hint to back up the stores.
func TestAuditOneChainTwoFrontEndsPostgres(t *testing.T) {
	pg := servers.StartPostgres(t)
	weed := servers.StartSeaweedFS(t)
	storeFile := writeStoreFile(t, pg.NewDatabase(t), weed.Endpoint, weed.NewBucket(t))
	demo := func(data string) *server {
		s := startServer(t, data, readyURL, "demo", "--data", data, "--listen", "127.0.0.1:0",
			"--desk-listen", "127.0.0.1:0", "--no-tor", "--store", storeFile)
		s.store = storeFile
		return s
	}
	dataA := filepath.Join(t.TempDir(), "data")
	a := demo(dataA)
	dataB := filepath.Join(t.TempDir(), "data")
	copyShared(t, dataA, dataB)
	b := demo(dataB)

	// A report sent through A; officers and the administrator act on both.
	_, ref := newReporter(t, a.url).report("acc", "The tender was rigged.", nil)
	a.cli(t, "officer", "add", "--agency", "acc", "--name", "alice")
	b.cli(t, "officer", "add", "--agency", "ppo", "--name", "bob")
	b.cli(t, "stage", "--case", ref, "acknowledged")
	var wg sync.WaitGroup
	for i := range 8 {
		s := []*server{a, b}[i%2]
		text := writeTemp(t, fmt.Sprintf("Question %d?", i))
		wg.Go(func() {
			if out, errOut, code := runCLI(t, "reply", "--case", ref, "--data", s.data, "--text-file", text); code != 0 {
				t.Errorf("reply %d: exit %d\n%s%s", i, code, out, errOut)
			}
		})
	}
	wg.Wait()
	const want = 3 + 8

	wantOK := regexp.MustCompile(fmt.Sprintf(`audit log ok: %d entries`, want))
	for _, s := range []*server{a, b} {
		if out := s.cli(t, "audit", "verify"); !wantOK.MatchString(out) {
			t.Fatalf("audit verify on %s: %s(want %d entries: one chain for both front-ends)", s.data, out, want)
		}
		out := s.cli(t, "audit", "show")
		for _, need := range []string{"admin officer.add - alice", "admin officer.add - bob", "stage.change " + ref + " received -> acknowledged"} {
			if !strings.Contains(strings.Join(strings.Fields(out), " "), strings.Join(strings.Fields(need), " ")) {
				t.Fatalf("audit show on %s lacks %q:\n%s", s.data, need, out)
			}
		}
		if n := strings.Count(out, "question"); n != 8 {
			t.Fatalf("audit show on %s: %d questions, want 8:\n%s", s.data, n, out)
		}
	}
	// Straight from the stores, with a front-end's configuration, while
	// both run.
	cfg := sharedConfig(t, dataB, storeFile)
	if out, errOut, code := runCLI(t, "audit", "verify", "--config", cfg); code != 0 || !wantOK.MatchString(out) || !strings.Contains(out, "shared store") {
		t.Fatalf("audit verify --config: exit %d\n%s%s", code, out, errOut)
	}
	// No audit files beside either front-end: the log is in the store only.
	for _, d := range []string{dataA, dataB} {
		if _, err := os.Stat(filepath.Join(d, "audit")); !os.IsNotExist(err) {
			t.Fatalf("%s has an audit directory (%v): a second chain", d, err)
		}
	}
	_, errOut, code := runCLI(t, "backup", "--data", dataA, "-o", filepath.Join(t.TempDir(), "backup.age"))
	if code != 1 || !strings.Contains(errOut, "pg_dump") {
		t.Fatalf("backup of a front-end of shared stores: exit %d\n%s", code, errOut)
	}
	// A row changed in the database: every way of verifying finds it.
	tamperSharedAudit(t, storeFile, 5)
	for _, at := range [][]string{{"--data", dataA}, {"--data", dataB}, {"--config", cfg}} {
		out, errOut, code := runCLI(t, append([]string{"audit", "verify"}, at...)...)
		if code != 1 || !strings.Contains(errOut, "line 5") || !strings.Contains(errOut, "hint:") {
			t.Fatalf("audit verify %s after a row was changed: exit %d\n%s%s", at, code, out, errOut)
		}
		t.Logf("audit verify %s: %s", at[0], strings.TrimSpace(errOut))
	}
}

// tamperSharedAudit flips one bit of the stored line seq of the audit log
// in the database storeFile names, as someone with the database but not
// the vault key could.
func tamperSharedAudit(t testing.TB, storeFile string, seq int) {
	t.Helper()
	sc, err := loadStoreFile(storeFile)
	if err != nil {
		t.Fatal(err)
	}
	meta, err := pgstore.Open(context.Background(), sc.Postgres)
	if err != nil {
		t.Fatal(err)
	}
	defer meta.Close()
	key := fmt.Appendf(nil, "a/line/%016d", seq)
	err = meta.Update(context.Background(), func(tx backend.Tx) error {
		v, err := tx.Get(key)
		if err != nil {
			return err
		}
		v[len(v)/2] ^= 1
		return tx.Put(key, v)
	})
	if err != nil {
		t.Fatalf("change %s: %v", key, err)
	}
}
