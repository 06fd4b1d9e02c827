package servers

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// Postgres is a PostgreSQL server started for a test.
type Postgres struct {
	// Port is its TCP port on 127.0.0.1.
	Port int
	// Dir holds its data directory (data/) and socket.
	Dir  string
	proc *process
	dbs  atomic.Int32
}

// pgBinDir finds Debian's PostgreSQL programs: $CLEANDROP_PGBIN, then
// /usr/lib/postgresql/15/bin, then the PATH.
func pgBinDir() string {
	for _, d := range []string{os.Getenv("CLEANDROP_PGBIN"), "/usr/lib/postgresql/15/bin"} {
		if d == "" {
			continue
		}
		if _, err := os.Stat(filepath.Join(d, "initdb")); err == nil {
			return d
		}
	}
	if p, err := exec.LookPath("initdb"); err == nil {
		return filepath.Dir(p)
	}
	return ""
}

// credential is who the servers run as: the test's own user, or nobody
// when the test runs as root (postgres refuses root).
func credential(t testing.TB, dir string) *syscall.SysProcAttr {
	t.Helper()
	if os.Getuid() != 0 {
		return &syscall.SysProcAttr{}
	}
	uid, gid := 65534, 65534
	if u, err := user.Lookup("nobody"); err == nil {
		uid, _ = strconv.Atoi(u.Uid)
		gid, _ = strconv.Atoi(u.Gid)
	}
	if err := os.Chown(dir, uid, gid); err != nil {
		t.Fatalf("chown %s: %v", dir, err)
	}
	return &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}}
}

// StartPostgres initialises a cluster in a new temporary directory and
// starts PostgreSQL on a free port of 127.0.0.1, trusting local
// connections (user cleandrop). It stops when the test ends. settings are
// more "name=value" server settings.
func StartPostgres(t testing.TB, settings ...string) *Postgres {
	t.Helper()
	bin := pgBinDir()
	if bin == "" {
		missing(t, "PostgreSQL (initdb) not found in $CLEANDROP_PGBIN, /usr/lib/postgresql/15/bin or the PATH")
	}
	// Not t.TempDir: its parents are private to root, and the server
	// may run as nobody.
	dir, err := os.MkdirTemp("", "cleandrop-pg-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	as := credential(t, dir)
	data := filepath.Join(dir, "data")

	initdb := exec.Command(filepath.Join(bin, "initdb"), "-D", data, "-U", "cleandrop", "-A", "trust",
		"-E", "UTF8", "--locale=C", "--no-sync", "--no-instructions")
	initdb.SysProcAttr = as
	initdb.Env = append(os.Environ(), "LC_ALL=C")
	if out, err := initdb.CombinedOutput(); err != nil {
		t.Fatalf("initdb: %v\n%s", err, out)
	}
	pg := &Postgres{Port: freePort(t), Dir: dir}
	pg.run(t, bin, as, settings...)
	return pg
}

// run starts postgres on pg.Dir/data and waits until it takes
// connections.
func (pg *Postgres) run(t testing.TB, bin string, as *syscall.SysProcAttr, settings ...string) {
	t.Helper()
	args := []string{"-D", filepath.Join(pg.Dir, "data"),
		"-c", "listen_addresses=127.0.0.1", "-c", "port=" + strconv.Itoa(pg.Port),
		"-c", "unix_socket_directories=" + pg.Dir, "-c", "logging_collector=off",
		"-c", "shared_buffers=32MB", "-c", "max_connections=200"}
	for _, s := range settings {
		args = append(args, "-c", s)
	}
	cmd := exec.Command(filepath.Join(bin, "postgres"), args...)
	cmd.SysProcAttr = as
	cmd.Env = append(os.Environ(), "LC_ALL=C")
	pg.proc = start(t, "postgres", cmd)
	t.Cleanup(func() {
		pg.proc.stop(syscall.SIGINT, 20*time.Second) // fast shutdown
		if t.Failed() {
			out, conflicts := withoutConflicts(pg.proc.out.String())
			t.Logf("postgres output (last 4 KiB, without %d serialization conflicts, which the store retries):\n%s",
				conflicts, tail(out, 4096))
		}
	})
	pg.proc.waitFor(t, 60*time.Second, func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		c, err := pgx.Connect(ctx, pg.URL("postgres"))
		if err != nil {
			return err
		}
		return c.Close(ctx)
	})
}

// StartStandby makes a streaming replica of primary with pg_basebackup,
// starts it, and makes it the primary's synchronous standby (named name),
// so that every commit the primary acknowledges is on the standby too.
func StartStandby(t testing.TB, primary *Postgres, name string) *Postgres {
	t.Helper()
	bin := pgBinDir()
	dir, err := os.MkdirTemp("", "cleandrop-pg-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	as := credential(t, dir)
	conn := fmt.Sprintf("host=127.0.0.1 port=%d user=cleandrop application_name=%s", primary.Port, name)
	backup := exec.Command(filepath.Join(bin, "pg_basebackup"), "-d", conn, "-D", filepath.Join(dir, "data"),
		"-R", "-X", "stream", "-c", "fast", "--no-sync")
	backup.SysProcAttr = as
	if out, err := backup.CombinedOutput(); err != nil {
		t.Fatalf("pg_basebackup: %v\n%s", err, out)
	}
	// -R wrote primary_conninfo; say it once more with the name the
	// primary waits for.
	auto, err := os.OpenFile(filepath.Join(dir, "data", "postgresql.auto.conf"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(auto, "primary_conninfo = '%s'\n", conn)
	auto.Close()
	sb := &Postgres{Port: freePort(t), Dir: dir}
	sb.run(t, bin, as)
	primary.exec(t, fmt.Sprintf("ALTER SYSTEM SET synchronous_standby_names = '%s'", name))
	primary.exec(t, "SELECT pg_reload_conf()")
	deadline := time.Now().Add(60 * time.Second)
	for {
		var state string
		primary.queryRow(t, fmt.Sprintf("SELECT coalesce((SELECT sync_state FROM pg_stat_replication WHERE application_name = '%s'), '')", name), &state)
		if state == "sync" {
			return sb
		}
		if time.Now().After(deadline) {
			t.Fatalf("standby %s is not synchronous after 60 s (state %q)", name, state)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// Promote makes a standby the primary and waits until it is.
func (pg *Postgres) Promote(t testing.TB) {
	t.Helper()
	var ok bool
	pg.queryRow(t, "SELECT pg_promote(true, 60)", &ok)
	if !ok {
		t.Fatal("pg_promote did not finish within 60 s")
	}
}

func (pg *Postgres) exec(t testing.TB, q string) {
	t.Helper()
	ctx := context.Background()
	c, err := pgx.Connect(ctx, pg.URL("postgres"))
	if err != nil {
		t.Fatalf("connect to postgres: %v", err)
	}
	defer c.Close(ctx)
	if _, err := c.Exec(ctx, q); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
}

func (pg *Postgres) queryRow(t testing.TB, q string, dst ...any) {
	t.Helper()
	ctx := context.Background()
	c, err := pgx.Connect(ctx, pg.URL("postgres"))
	if err != nil {
		t.Fatalf("connect to postgres: %v", err)
	}
	defer c.Close(ctx)
	if err := c.QueryRow(ctx, q).Scan(dst...); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
}

// URL is a connection string for database db.
func (pg *Postgres) URL(db string) string {
	return fmt.Sprintf("postgres://cleandrop@127.0.0.1:%d/%s?sslmode=disable", pg.Port, db)
}

// NewDatabase creates an empty database and returns its connection
// string.
func (pg *Postgres) NewDatabase(t testing.TB) string {
	t.Helper()
	name := fmt.Sprintf("t%d", pg.dbs.Add(1))
	ctx := context.Background()
	c, err := pgx.Connect(ctx, pg.URL("postgres"))
	if err != nil {
		t.Fatalf("connect to postgres: %v", err)
	}
	defer c.Close(ctx)
	if _, err := c.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatalf("create database: %v", err)
	}
	return pg.URL(name)
}

// Kill stops the server as a crash would (SIGKILL).
func (pg *Postgres) Kill() { pg.proc.kill() }

// Dump runs Debian's pg_dump (plain SQL) on the database at url, as the
// user the server runs as, and returns its output.
func (pg *Postgres) Dump(t testing.TB, url string) []byte {
	t.Helper()
	cmd := exec.Command(filepath.Join(pgBinDir(), "pg_dump"), "--format=plain", "--no-owner", "-d", url)
	cmd.SysProcAttr = credential(t, pg.Dir)
	cmd.Dir = pg.Dir
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("pg_dump: %v\n%s", err, stderr.String())
	}
	return out
}

// Restore loads a plain SQL dump (from [Postgres.Dump]) into the database
// at url with Debian's psql, as the user the server runs as, stopping at
// the first error.
func (pg *Postgres) Restore(t testing.TB, url string, dump []byte) {
	t.Helper()
	cmd := exec.Command(filepath.Join(pgBinDir(), "psql"), "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", url, "-f", "-")
	cmd.SysProcAttr = credential(t, pg.Dir)
	cmd.Dir = pg.Dir
	cmd.Stdin = bytes.NewReader(dump)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("psql restore: %v\n%s", err, out)
	}
}

// withoutConflicts drops from a postgres log the serialization failures
// of concurrent transactions, each with the lines postgres adds to it
// (DETAIL, HINT, the STATEMENT and its continuation lines): the store
// retries them, and two front-ends make one every tick, which would bury
// what a failing test needs. It returns the rest and how many it dropped.
func withoutConflicts(log string) (string, int) {
	var b strings.Builder
	n, pid := 0, "" // pid: the backend of the failure being dropped
	for _, line := range strings.SplitAfter(log, "\n") {
		if strings.Contains(line, "ERROR:  could not serialize access") {
			n++
			pid = backendPID(line)
			continue
		}
		if pid != "" && (strings.HasPrefix(line, "\t") || strings.HasPrefix(line, " ") || backendPID(line) == pid && addedLine(line)) {
			continue
		}
		pid = ""
		b.WriteString(line)
	}
	return b.String(), n
}

// backendPID is the "[pid]" of a postgres log line's prefix ("" if none).
func backendPID(line string) string {
	i := strings.IndexByte(line, '[')
	j := strings.IndexByte(line, ']')
	if i < 0 || j < i {
		return ""
	}
	return line[i : j+1]
}

// addedLine says whether a log line is one postgres adds to an error.
func addedLine(line string) bool {
	for _, k := range []string{"] DETAIL:  ", "] HINT:  ", "] STATEMENT:  ", "] CONTEXT:  "} {
		if strings.Contains(line, k) {
			return true
		}
	}
	return false
}
