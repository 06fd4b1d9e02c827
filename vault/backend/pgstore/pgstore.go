package pgstore

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"cleandrop/vault/backend"
	"cleandrop/vault/backend/internal/txretry"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Store is a [backend.Meta] in PostgreSQL.
type Store struct {
	pool *pgxpool.Pool
}

// migrations are the schema's versions: migrations[i] takes the schema
// from version i to i+1. Append only.
var migrations = []string{
	`CREATE TABLE cleandrop_kv (key bytea PRIMARY KEY, value bytea NOT NULL)`,
}

// SchemaVersion is the version [Open] migrates to.
var SchemaVersion = len(migrations)

// ErrSchemaNewer is returned by [Open] when the database was migrated by a
// newer cleandrop.
var ErrSchemaNewer = errors.New("database schema is newer than this cleandrop")

// migrationLock is the advisory lock key held while migrating.
const migrationLock = 0x636c65616e64 // "cleand"

// Open connects to PostgreSQL and migrates the schema. Unless the
// connection string sets pool_max_conns, at most 16 connections are open
// at once.
func Open(ctx context.Context, connString string) (*Store, error) {
	cfg, err := pgxpool.ParseConfig(connString)
	if err != nil {
		return nil, fmt.Errorf("postgres connection string: %w", err)
	}
	if !strings.Contains(connString, "pool_max_conns") {
		cfg.MaxConns = 16
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	if err := migrate(ctx, pool); err != nil {
		pool.Close()
		return nil, err
	}
	if err := checkSettings(ctx, pool); err != nil {
		pool.Close()
		return nil, err
	}
	return &Store{pool: pool}, nil
}

// ErrCommitTimestamps: the server keeps every transaction's commit time
// (track_commit_timestamp), which would date every report to the moment
// of its commit. The drop refuses to run on it.
var ErrCommitTimestamps = errors.New("postgres: track_commit_timestamp is on: the database would keep the time of every report's commit")

// checkSettings refuses a server that keeps commit times.
func checkSettings(ctx context.Context, pool *pgxpool.Pool) error {
	var v string
	if err := pool.QueryRow(ctx, "SHOW track_commit_timestamp").Scan(&v); err != nil {
		return classify("settings", err)
	}
	if v != "off" {
		return ErrCommitTimestamps
	}
	return nil
}

func migrate(ctx context.Context, pool *pgxpool.Pool) error {
	return pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, int64(migrationLock)); err != nil {
			return fmt.Errorf("postgres migration lock: %w", err)
		}
		if _, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS cleandrop_schema (version integer NOT NULL)`); err != nil {
			return fmt.Errorf("postgres schema table: %w", err)
		}
		var v int
		if err := tx.QueryRow(ctx, `SELECT coalesce(max(version), 0) FROM cleandrop_schema`).Scan(&v); err != nil {
			return fmt.Errorf("postgres schema version: %w", err)
		}
		if v > len(migrations) {
			return fmt.Errorf("%w: version %d, this cleandrop knows %d", ErrSchemaNewer, v, len(migrations))
		}
		if v == len(migrations) {
			return nil
		}
		for i := v; i < len(migrations); i++ {
			if _, err := tx.Exec(ctx, migrations[i]); err != nil {
				return fmt.Errorf("postgres migration %d: %w", i+1, err)
			}
		}
		if _, err := tx.Exec(ctx, `DELETE FROM cleandrop_schema`); err != nil {
			return fmt.Errorf("postgres schema version: %w", err)
		}
		if _, err := tx.Exec(ctx, `INSERT INTO cleandrop_schema (version) VALUES ($1)`, len(migrations)); err != nil {
			return fmt.Errorf("postgres schema version: %w", err)
		}
		return nil
	})
}

// Close closes the connections.
func (s *Store) Close() error {
	s.pool.Close()
	return nil
}

// classify wraps PostgreSQL's serialization failures and deadlocks in
// [backend.ErrConflict], so that Update runs the transaction again, and a
// full disk (disk_full) in [backend.ErrNoSpace].
func classify(op string, err error) error {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch pe.Code {
		case "40001", "40P01":
			return fmt.Errorf("postgres %s: %w (%s)", op, backend.ErrConflict, pe.Code)
		case "53100":
			return fmt.Errorf("postgres %s: %w (%s)", op, backend.ErrNoSpace, pe.Code)
		}
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("postgres %s: %w", op, err)
	}
	return fmt.Errorf("postgres %s: %w", op, err)
}

// Update implements [backend.Meta] with a SERIALIZABLE transaction.
func (s *Store) Update(ctx context.Context, fn func(backend.Tx) error) error {
	return txretry.Do(ctx, func() error {
		return s.run(ctx, "begin isolation level serializable", fn)
	})
}

// View implements [backend.Meta] with a read-only REPEATABLE READ
// transaction: one snapshot, and no serialization failures to retry.
func (s *Store) View(ctx context.Context, fn func(backend.Tx) error) error {
	return s.run(ctx, "begin isolation level repeatable read read only", fn)
}

// run runs fn in a transaction that begin starts. The BEGIN goes to the
// server with the transaction's first statement, in one round trip (a
// transaction of n statements costs n+1, not n+2); a transaction with no
// statement costs none.
func (s *Store) run(ctx context.Context, begin string, fn func(backend.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return classify("begin", err)
	}
	// A connection left inside a transaction, or broken, is closed
	// rather than pooled (pgxpool.Conn.Release).
	defer conn.Release()
	t := &tx{ctx: ctx, conn: conn, begin: begin}
	ended := false
	defer func() {
		if t.begun && !ended {
			_, _ = conn.Exec(context.WithoutCancel(ctx), "rollback")
		}
	}()
	if err := fn(t); err != nil {
		if t.conflict != nil && !errors.Is(err, backend.ErrConflict) {
			// fn kept going after a statement failed: the
			// transaction was lost all the same.
			return t.conflict
		}
		return err
	}
	if t.conflict != nil {
		return t.conflict
	}
	if !t.begun {
		return nil // nothing read or written
	}
	tag, err := conn.Exec(ctx, "commit")
	ended = true
	if err != nil {
		var pe *pgconn.PgError
		if !errors.As(err, &pe) {
			// No answer from the server: it may have committed. pgx's
			// pgconn.SafeToRetry cannot settle it: a connection that
			// closed while the commit was on its way is reported as
			// closed before it was used (measured with pgx 5.12).
			return fmt.Errorf("postgres commit: %w: %w", backend.ErrUncertain, err)
		}
		return classify("commit", err)
	}
	if tag.String() == "ROLLBACK" {
		// A statement failed and fn went on: nothing was committed.
		return classify("commit", pgx.ErrTxCommitRollback)
	}
	return nil
}

type tx struct {
	ctx      context.Context
	conn     *pgxpool.Conn
	begin    string // sent with the first statement
	begun    bool
	conflict error // the first serialization failure of a statement
}

func (t *tx) fail(op string, err error) error {
	err = classify(op, err)
	if errors.Is(err, backend.ErrConflict) && t.conflict == nil {
		t.conflict = err
	}
	return err
}

// query runs one statement, handing each row it returns to row (which may
// be nil), and returns its command tag. The transaction's first statement
// goes in one batch with its BEGIN.
func (t *tx) query(sql string, args []any, row func(pgx.Rows) error) (pgconn.CommandTag, error) {
	var rows pgx.Rows
	var batch pgx.BatchResults
	var err error
	if t.begun {
		rows, err = t.conn.Query(t.ctx, sql, args...)
	} else {
		b := &pgx.Batch{}
		b.Queue(t.begin)
		b.Queue(sql, args...)
		batch = t.conn.SendBatch(t.ctx, b)
		if _, err = batch.Exec(); err == nil {
			t.begun = true
			rows, err = batch.Query()
		}
	}
	var tag pgconn.CommandTag
	if err == nil {
		for rows.Next() && err == nil {
			if row != nil {
				err = row(rows)
			}
		}
		rows.Close()
		if err == nil {
			err = rows.Err()
		}
		tag = rows.CommandTag()
	}
	if batch != nil {
		if cerr := batch.Close(); err == nil {
			err = cerr
		}
	}
	return tag, err
}

func (t *tx) Get(key []byte) ([]byte, error) {
	var v []byte
	found := false
	_, err := t.query(`SELECT value FROM cleandrop_kv WHERE key = $1`, []any{key}, func(r pgx.Rows) error {
		found = true
		return r.Scan(&v)
	})
	if err != nil {
		return nil, t.fail("get", err)
	}
	if !found {
		return nil, backend.ErrNotFound
	}
	if v == nil {
		v = []byte{}
	}
	return v, nil
}

func nonNil(b []byte) []byte {
	if b == nil {
		return []byte{} // pgx sends a nil slice as NULL
	}
	return b
}

func (t *tx) Put(key, value []byte) error {
	_, err := t.query(`INSERT INTO cleandrop_kv (key, value) VALUES ($1, $2)
		ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value`, []any{nonNil(key), nonNil(value)}, nil)
	if err != nil {
		return t.fail("put", err)
	}
	return nil
}

func (t *tx) PutIfAbsent(key, value []byte) (bool, error) {
	tag, err := t.query(`INSERT INTO cleandrop_kv (key, value) VALUES ($1, $2)
		ON CONFLICT (key) DO NOTHING`, []any{nonNil(key), nonNil(value)}, nil)
	if err != nil {
		return false, t.fail("put if absent", err)
	}
	return tag.RowsAffected() == 1, nil
}

func (t *tx) CompareAndSwap(key, old, value []byte) (bool, error) {
	if old == nil {
		return t.PutIfAbsent(key, value)
	}
	tag, err := t.query(`UPDATE cleandrop_kv SET value = $3 WHERE key = $1 AND value = $2`,
		[]any{nonNil(key), old, nonNil(value)}, nil)
	if err != nil {
		return false, t.fail("compare and swap", err)
	}
	return tag.RowsAffected() == 1, nil
}

func (t *tx) Delete(key []byte) error {
	if _, err := t.query(`DELETE FROM cleandrop_kv WHERE key = $1`, []any{nonNil(key)}, nil); err != nil {
		return t.fail("delete", err)
	}
	return nil
}

// scanPage is how many rows Scan fetches at a time. A page is read
// completely before fn sees it, so fn may use the transaction.
const scanPage = 256

func (t *tx) Scan(prefix []byte, fn func(k, v []byte) error) error {
	end := prefixEnd(prefix)
	var after []byte
	for {
		q := `SELECT key, value FROM cleandrop_kv WHERE key >= $1`
		args := []any{nonNil(prefix)}
		if end != nil {
			args = append(args, end)
			q += fmt.Sprintf(` AND key < $%d`, len(args))
		}
		if after != nil {
			args = append(args, after)
			q += fmt.Sprintf(` AND key > $%d`, len(args))
		}
		q += fmt.Sprintf(` ORDER BY key LIMIT %d`, scanPage)
		var page [][2][]byte
		_, err := t.query(q, args, func(r pgx.Rows) error {
			var k, v []byte
			if err := r.Scan(&k, &v); err != nil {
				return err
			}
			page = append(page, [2][]byte{k, v})
			return nil
		})
		if err != nil {
			return t.fail("scan", err)
		}
		for _, kv := range page {
			if err := fn(kv[0], nonNil(kv[1])); err != nil {
				return err
			}
		}
		if len(page) < scanPage {
			return nil
		}
		after = page[len(page)-1][0]
	}
}

// prefixEnd is the least key greater than every key with prefix, or nil
// if there is none (the prefix is empty or all 0xff).
func prefixEnd(prefix []byte) []byte {
	end := append([]byte(nil), prefix...)
	for i := len(end) - 1; i >= 0; i-- {
		if end[i] < 0xff {
			end[i]++
			return end[:i+1]
		}
	}
	return nil
}
