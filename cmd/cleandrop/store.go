package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"cleandrop/vault"
	"cleandrop/vault/backend/pgstore"
	"cleandrop/vault/backend/s3blobs"
)

// StoreConfig chooses the distributed vault: records in PostgreSQL and
// large items in an S3-compatible object store, shared by every front-end
// of one drop. Absent, the vault is the embedded one in data_dir.
type StoreConfig struct {
	// Postgres is a libpq connection string or URL. Several hosts
	// ("host=db1,db2 port=5432,5432 ...") let a front-end find a promoted
	// standby; target_session_attrs=read-write is added when absent. Keep
	// the password out of it: use a ~/.pgpass file (PGPASSFILE) or
	// password_file.
	Postgres string `json:"postgres"`
	// PasswordFile holds the database password (mode 0600).
	PasswordFile string `json:"password_file,omitempty"`
	// S3 is the object store.
	S3 *S3Config `json:"s3"`
	// SweepAfter is how old an upload neither committed nor aborted (a
	// crashed front-end's) must be before any front-end removes it, a Go
	// duration (default "6h"): far above the longest upload. Committed
	// objects that no item references are looked for as often, or
	// hourly if that is sooner, and removed at the second look.
	SweepAfter string `json:"sweep_after,omitempty"`

	sweepAfter time.Duration
}

// S3Config is an S3-compatible object store and bucket.
type S3Config struct {
	Endpoint string `json:"endpoint"` // host:port
	Bucket   string `json:"bucket"`   // must exist
	Region   string `json:"region,omitempty"`
	// TLS makes the client speak HTTPS to the endpoint.
	TLS bool `json:"tls,omitempty"`
	// AccessKeyFile and SecretKeyFile hold the credentials (mode 0600);
	// both absent: anonymous requests (a private test store only).
	AccessKeyFile string `json:"access_key_file,omitempty"`
	SecretKeyFile string `json:"secret_key_file,omitempty"`
	// PartSizeMiB is the size of the parts uploads are sent in (at least
	// 5, S3's minimum; default 8). Memory per upload is about one part.
	PartSizeMiB uint32 `json:"part_size_mib,omitempty"`
}

// bucketName is S3's rule for bucket names.
var bucketName = regexp.MustCompile(`^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$`)

// check validates the store section without connecting to anything.
func (s *StoreConfig) check(base string) error {
	if strings.TrimSpace(s.Postgres) == "" {
		return hint(errors.New("config: store: postgres is empty"),
			`give the database's connection string, e.g. "host=db1,db2 dbname=cleandrop user=cleandrop"`)
	}
	if _, err := pgconn.ParseConfig(s.Postgres); err != nil {
		// pgconn's message may quote the string, password and all.
		return hint(errors.New("config: store: postgres is not a valid connection string"),
			`use libpq's form ("host=... port=... dbname=... user=...") or a postgres:// URL`)
	}
	if strings.Contains(strings.ToLower(s.Postgres), "password=") || strings.Contains(s.Postgres, ":@") || passwordInURL(s.Postgres) {
		return hint(errors.New("config: store: the postgres connection string holds a password"),
			"move it to password_file (mode 0600) or a ~/.pgpass file, so the configuration can be shared")
	}
	if s.PasswordFile != "" && !filepath.IsAbs(s.PasswordFile) {
		s.PasswordFile = filepath.Join(base, s.PasswordFile)
	}
	if s.S3 == nil {
		return hint(errors.New("config: store: s3 is missing"), `the distributed vault keeps large items in an object store: add "s3": {"endpoint": ..., "bucket": ...}`)
	}
	o := s.S3
	if _, port, err := net.SplitHostPort(o.Endpoint); err != nil || port == "" {
		return hint(fmt.Errorf("config: store: s3 endpoint %q is not host:port", o.Endpoint), `e.g. "s3.internal:9000"`)
	}
	if !bucketName.MatchString(o.Bucket) || strings.Contains(o.Bucket, "..") {
		return hint(fmt.Errorf("config: store: s3 bucket %q is not a valid bucket name", o.Bucket), "3 to 63 lower-case letters, digits, dots and hyphens")
	}
	if (o.AccessKeyFile == "") != (o.SecretKeyFile == "") {
		return hint(errors.New("config: store: s3 has one of access_key_file and secret_key_file"), "give both, or neither for an anonymous test store")
	}
	for _, p := range []*string{&o.AccessKeyFile, &o.SecretKeyFile} {
		if *p != "" && !filepath.IsAbs(*p) {
			*p = filepath.Join(base, *p)
		}
	}
	if o.PartSizeMiB != 0 && (o.PartSizeMiB < 5 || o.PartSizeMiB > 512) {
		return hint(fmt.Errorf("config: store: s3 part_size_mib %d is out of range", o.PartSizeMiB), "between 5 (S3's minimum) and 512")
	}
	if s.SweepAfter != "" {
		d, err := time.ParseDuration(s.SweepAfter)
		if err != nil || d < time.Second {
			return hint(fmt.Errorf("config: store: sweep_after %q is not a duration of a second or more", s.SweepAfter), `e.g. "6h"; keep it far above the longest upload`)
		}
		s.sweepAfter = d
	}
	return nil
}

func passwordInURL(s string) bool {
	if !strings.HasPrefix(s, "postgres://") && !strings.HasPrefix(s, "postgresql://") {
		return false
	}
	rest := s[strings.Index(s, "://")+3:]
	at := strings.IndexByte(rest, '@')
	return at > 0 && strings.Contains(rest[:at], ":")
}

// connString is Postgres with what the drop needs added: the password
// from its file, and read-write sessions only, so that of several hosts
// the primary is chosen.
func (s *StoreConfig) connString() (string, error) {
	cs := strings.TrimSpace(s.Postgres)
	url := strings.HasPrefix(cs, "postgres://") || strings.HasPrefix(cs, "postgresql://")
	add := func(k, v string) {
		if url {
			sep := "?"
			if strings.Contains(cs, "?") {
				sep = "&"
			}
			cs += sep + k + "=" + v
		} else {
			cs += " " + k + "='" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(v) + "'"
		}
	}
	if !strings.Contains(cs, "target_session_attrs") {
		add("target_session_attrs", "read-write")
	}
	if s.PasswordFile != "" {
		b, err := readPrivate(s.PasswordFile)
		if err != nil {
			return "", fmt.Errorf("config: store: password file: %w", err)
		}
		pw := strings.TrimRight(string(b), "\r\n")
		if url {
			return "", hint(errors.New("config: store: password_file needs the key=value form of postgres"), `write "host=... dbname=... user=..."`)
		}
		add("password", pw)
	}
	return cs, nil
}

// partSize is the S3 upload part size in bytes.
func (o *S3Config) partSize() uint64 {
	if o.PartSizeMiB == 0 {
		return s3blobs.DefaultPartSize
	}
	return uint64(o.PartSizeMiB) << 20
}

// openShared connects to the configured stores: PostgreSQL (creating or
// migrating its schema) and the bucket (which must exist). The caller
// closes the returned Meta, directly or through the vault.
func openShared(ctx context.Context, cfg *Config) (vault.Shared, error) {
	sc := cfg.Store
	cs, err := sc.connString()
	if err != nil {
		return vault.Shared{}, err
	}
	meta, err := pgstore.Open(ctx, cs)
	if err != nil {
		return vault.Shared{}, hint(fmt.Errorf("store: connect to PostgreSQL: %w", err),
			"check that the database runs, that the connection string in store.postgres is right, and the password")
	}
	creds := credentials.NewStaticV4("", "", "")
	if sc.S3.AccessKeyFile != "" {
		ak, err := readPrivate(sc.S3.AccessKeyFile)
		if err != nil {
			meta.Close()
			return vault.Shared{}, fmt.Errorf("config: store: s3 access key file: %w", err)
		}
		sk, err := readPrivate(sc.S3.SecretKeyFile)
		if err != nil {
			meta.Close()
			return vault.Shared{}, fmt.Errorf("config: store: s3 secret key file: %w", err)
		}
		creds = credentials.NewStaticV4(strings.TrimSpace(string(ak)), strings.TrimSpace(string(sk)), "")
	}
	client, err := minio.New(sc.S3.Endpoint, &minio.Options{Creds: creds, Secure: sc.S3.TLS, Region: sc.S3.Region})
	if err != nil {
		meta.Close()
		return vault.Shared{}, fmt.Errorf("store: s3 client: %w", err)
	}
	bctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	ok, err := client.BucketExists(bctx, sc.S3.Bucket)
	cancel()
	switch {
	case err != nil:
		meta.Close()
		return vault.Shared{}, hint(fmt.Errorf("store: reach the object store at %s: %w", sc.S3.Endpoint, err),
			"check that it runs and that store.s3's endpoint, tls and keys are right")
	case !ok:
		meta.Close()
		return vault.Shared{}, hint(fmt.Errorf("store: bucket %q does not exist", sc.S3.Bucket),
			"create it once (e.g. s3cmd mb s3://"+sc.S3.Bucket+"), with versioning and access logs off")
	}
	// Uploads complete on the vault's write schedule, so that objects'
	// Last-Modified are ticks, not the moments reporters finished.
	blobs, err := s3blobs.New(client, sc.S3.Bucket, meta, s3blobs.Options{PartSize: sc.S3.partSize(), Tick: cfg.tick})
	if err != nil {
		meta.Close()
		return vault.Shared{}, fmt.Errorf("store: %w", err)
	}
	return vault.Shared{Meta: meta, Blobs: blobs}, nil
}

// openVault opens the configured vault in dir: the embedded one, or the
// distributed one whose key file dir holds.
func openVault(ctx context.Context, cfg *Config, dir string, opts vault.Options) (*vault.Store, error) {
	if cfg.Store == nil {
		st, err := vault.Open(dir, opts)
		if errors.Is(err, vault.ErrNoSpace) {
			return nil, hint(err, "free space on the file system of "+cfg.DataDir+": the vault needs 32 MiB free to open")
		}
		if err != nil {
			return nil, hint(err, "is another cleandrop server running on "+cfg.DataDir+"?")
		}
		return st, nil
	}
	sh, err := openShared(ctx, cfg)
	if err != nil {
		return nil, err
	}
	opts.SweepAfter = cfg.Store.sweepAfter
	st, err := vault.OpenShared(dir, sh, opts)
	if errors.Is(err, vault.ErrOtherKey) {
		sh.Meta.Close()
		return nil, hint(err, "every front-end needs the same "+filepath.Join(dir, "vault.key")+": copy it from the first one (docs/operations.md, national deployment)")
	}
	if err != nil {
		sh.Meta.Close()
		return nil, err
	}
	return st, nil
}

// checkStore connects to the configured stores, as 'cleandrop check' does
// before a front-end is started: the database answers (and has the
// current schema: migrations run here), the bucket exists, and this
// front-end's vault.key is the one the stores were made with.
func checkStore(cfg *Config) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	sh, err := openShared(ctx, cfg)
	if err != nil {
		return "", err
	}
	defer sh.Meta.Close()
	dir := filepath.Join(cfg.DataDir, "vault")
	fresh, err := vault.CheckShared(ctx, dir, sh)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return "", hint(fmt.Errorf("store: %s is missing", filepath.Join(dir, "vault.key")),
			"copy vault.key (and pepper, signing key) from the front-end that made the vault, mode 0600; the first front-end makes them when it starts")
	case errors.Is(err, vault.ErrOtherKey):
		return "", hint(err, "copy "+filepath.Join(dir, "vault.key")+" from the front-end that made the vault")
	case err != nil:
		return "", err
	}
	state := "the vault key matches"
	if fresh {
		state = "no vault yet: the first front-end to start makes it with this vault.key"
	}
	return fmt.Sprintf("store: PostgreSQL answers with the current schema; bucket %q at %s exists; %s", cfg.Store.S3.Bucket, cfg.Store.S3.Endpoint, state), nil
}

// loadStoreFile reads a configuration's "store" section from its own
// file, as 'cleandrop demo --store' takes it.
func loadStoreFile(path string) (*StoreConfig, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("store file: %w", err)
	}
	var sc StoreConfig
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&sc); err != nil {
		return nil, hint(fmt.Errorf("store file %s: %w", path, err), `it holds one object: {"postgres": "...", "s3": {"endpoint": "...", "bucket": "..."}}`)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, err
	}
	if err := sc.check(filepath.Dir(abs)); err != nil {
		return nil, err
	}
	return &sc, nil
}
