package pgstore_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"cleandrop/vault/backend"
	"cleandrop/vault/backend/backendtest"
	"cleandrop/vault/backend/pgstore"
	"cleandrop/vault/backend/servers"

	"github.com/jackc/pgx/v5"
)

func open(t *testing.T, url string) *pgstore.Store {
	t.Helper()
	s, err := pgstore.Open(t.Context(), url)
	if err != nil {
		t.Fatalf("open %s: %v", url, err)
	}
	return s
}

// TestMetaPostgres runs the conformance suite on PostgreSQL, a fresh
// database for each case.
func TestMetaPostgres(t *testing.T) {
	pg := servers.StartPostgres(t)
	backendtest.RunMeta(t, func(t *testing.T) backend.Meta { return open(t, pg.NewDatabase(t)) })
}

// TestSealedMetaPostgres runs it again through the vault's sealing.
func TestSealedMetaPostgres(t *testing.T) {
	pg := servers.StartPostgres(t)
	backendtest.RunMeta(t, func(t *testing.T) backend.Meta {
		m, err := backend.Sealed(open(t, pg.NewDatabase(t)), make([]byte, 32))
		if err != nil {
			t.Fatal(err)
		}
		return m
	})
}

func query(t *testing.T, url, q string, dst ...any) {
	t.Helper()
	c, err := pgx.Connect(t.Context(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(context.Background())
	if len(dst) == 0 {
		if _, err := c.Exec(t.Context(), q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		return
	}
	if err := c.QueryRow(t.Context(), q).Scan(dst...); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
}

// TestPostgresMigrations: front-ends opening a fresh database together
// migrate it once; opening again changes nothing; a schema newer than
// this cleandrop is refused; the table has no time column.
func TestPostgresMigrations(t *testing.T) {
	pg := servers.StartPostgres(t)
	url := pg.NewDatabase(t)
	var wg sync.WaitGroup
	errs := make([]error, 4)
	for i := range errs {
		wg.Go(func() {
			s, err := pgstore.Open(t.Context(), url)
			if err == nil {
				s.Close()
			}
			errs[i] = err
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatalf("concurrent Open: %v", err)
		}
	}
	var rows, version int
	query(t, url, `SELECT count(*), max(version) FROM cleandrop_schema`, &rows, &version)
	if rows != 1 || version != pgstore.SchemaVersion {
		t.Errorf("schema table: %d rows, version %d; want 1 row, version %d", rows, version, pgstore.SchemaVersion)
	}
	var cols string
	query(t, url, `SELECT string_agg(column_name || ' ' || data_type, ', ' ORDER BY ordinal_position)
		FROM information_schema.columns WHERE table_name = 'cleandrop_kv'`, &cols)
	if cols != "key bytea, value bytea" {
		t.Errorf("cleandrop_kv columns: %s", cols)
	}
	open(t, url).Close()

	query(t, url, fmt.Sprintf(`UPDATE cleandrop_schema SET version = %d`, pgstore.SchemaVersion+1))
	if _, err := pgstore.Open(t.Context(), url); !errors.Is(err, pgstore.ErrSchemaNewer) {
		t.Errorf("Open of a newer schema: %v, want ErrSchemaNewer", err)
	}
}

// TestPostgresMultiHost: a connection string that names a host that is
// down, then the server, with target_session_attrs=read-write, finds the
// server (as it finds a promoted standby after a failover).
func TestPostgresMultiHost(t *testing.T) {
	pg := servers.StartPostgres(t)
	url := pg.NewDatabase(t)
	db := url[strings.LastIndex(url, "/")+1 : strings.Index(url, "?")]
	multi := fmt.Sprintf("host=127.0.0.1,127.0.0.1 port=1,%d user=cleandrop dbname=%s sslmode=disable target_session_attrs=read-write",
		pg.Port, db)
	s := open(t, multi)
	defer s.Close()
	if err := s.Update(t.Context(), func(tx backend.Tx) error { return tx.Put([]byte("k"), []byte("v")) }); err != nil {
		t.Fatalf("Update through a multi-host connection string: %v", err)
	}
}

// TestPostgresNoPlaintextInRows writes through the sealing wrapper and
// searches the table, read with plain SQL, for the canary.
func TestPostgresNoPlaintextInRows(t *testing.T) {
	pg := servers.StartPostgres(t)
	url := pg.NewDatabase(t)
	m, err := backend.Sealed(open(t, url), make([]byte, 32))
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	const canary = "CANARY-Ministry-of-Roads-stage-Investigation"
	if err := m.Update(t.Context(), func(tx backend.Tx) error { return tx.Put([]byte("case/1"), []byte(canary)) }); err != nil {
		t.Fatal(err)
	}
	var found int
	query(t, url, `SELECT count(*) FROM cleandrop_kv WHERE position(convert_to('`+canary+`', 'UTF8') IN value) > 0`, &found)
	var total int
	query(t, url, `SELECT count(*) FROM cleandrop_kv`, &total)
	if total != 1 || found != 0 {
		t.Errorf("%d rows, %d hold the canary in plaintext", total, found)
	}
}

// TestPostgresFailoverPromotedStandby: a primary with a synchronous
// standby; every Update acknowledged before the primary is killed
// (SIGKILL) is there after the standby is promoted, and the same store,
// through its multi-host connection string, writes again within 30 s of
// the promotion. (Update does not retry a lost connection itself: the
// caller sees the error and tries again, as this test does.)
func TestPostgresFailoverPromotedStandby(t *testing.T) {
	primary := servers.StartPostgres(t)
	url := primary.NewDatabase(t)
	db := url[strings.LastIndex(url, "/")+1 : strings.Index(url, "?")]
	standby := servers.StartStandby(t, primary, "standby1")
	multi := fmt.Sprintf("host=127.0.0.1,127.0.0.1 port=%d,%d user=cleandrop dbname=%s sslmode=disable target_session_attrs=read-write connect_timeout=2",
		primary.Port, standby.Port, db)
	s := open(t, multi)
	defer s.Close()
	const acked = 50
	for i := range acked {
		if err := s.Update(t.Context(), func(tx backend.Tx) error { return tx.Put(fmt.Appendf(nil, "report/%02d", i), []byte("sealed")) }); err != nil {
			t.Fatalf("Update %d: %v", i, err)
		}
	}
	primary.Kill()
	standby.Promote(t)
	promoted := time.Now()
	var lastErr error
	for {
		lastErr = s.Update(t.Context(), func(tx backend.Tx) error { return tx.Put([]byte("after"), []byte("failover")) })
		if lastErr == nil {
			break
		}
		if time.Since(promoted) > 30*time.Second {
			t.Fatalf("no write within 30 s of the promotion: %v", lastErr)
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Logf("writing again %.2f s after the promotion", time.Since(promoted).Seconds())
	n := 0
	err := s.View(t.Context(), func(tx backend.Tx) error {
		return tx.Scan([]byte("report/"), func(k, v []byte) error { n++; return nil })
	})
	if err != nil || n != acked {
		t.Errorf("after the failover %d of %d acknowledged reports are there (%v)", n, acked, err)
	}
}

// TestPostgresRefusesCommitTimestamps: a server that keeps each
// transaction's commit time (track_commit_timestamp) would date every
// report; Open refuses it.
func TestPostgresRefusesCommitTimestamps(t *testing.T) {
	pg := servers.StartPostgres(t, "track_commit_timestamp=on")
	s, err := pgstore.Open(t.Context(), pg.NewDatabase(t))
	if !errors.Is(err, pgstore.ErrCommitTimestamps) {
		if s != nil {
			s.Close()
		}
		t.Fatalf("Open on a server with track_commit_timestamp=on: %v, want ErrCommitTimestamps", err)
	}
}
