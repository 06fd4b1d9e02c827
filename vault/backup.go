package vault

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"github.com/dgraph-io/badger/v4"
	"github.com/dgraph-io/badger/v4/pb"
	"google.golang.org/protobuf/proto"

	"cleandrop/vault/durable"
)

// Names of a backup's parts, as [Store.Backup] hands them out and
// [Restore] takes them back.
const (
	// BackupKV prefixes the parts of Badger's backup stream, numbered from
	// 0000; concatenated in order they are one stream.
	BackupKV = "vault/badger/"
	// BackupPacks and BackupBlobs prefix the pack and blob files.
	BackupPacks = "vault/" + packDir + "/"
	BackupBlobs = "vault/" + blobDir + "/"
)

// ErrSharedBackup: a shared store is backed up with its database's and
// object store's own tools (docs/operations.md), not through one server.
var ErrSharedBackup = errors.New("vault: a shared store is backed up with its database's and object store's own tools")

// backupChunk bounds the part of Badger's stream held in memory at once.
const backupChunk = 4 << 20

// Put receives one part of a backup: its name, its exact size and its
// bytes. It must read all size bytes of r before it returns.
type Put func(name string, size int64, r io.Reader) error

// Backup hands put a consistent copy of the vault while it serves: first
// Badger's backup stream, read in one transaction (one read timestamp), in
// parts of at most 4 MiB; then every pack file up to the end of the last
// item that stream references in it, and the blob files it references.
// Packs only grow, so their first bytes are the ones the records point
// to. Nothing is written to disk: the parts pass through memory (Badger's
// stream holds plaintext metadata and inline ciphertext) and the caller
// seals them.
func (s *Store) Backup(put Put) error {
	s.mu.Lock()
	closed := s.closed
	s.mu.Unlock()
	if closed {
		return errors.New("vault: backup: store closed")
	}
	if s.db == nil {
		return ErrSharedBackup
	}
	ends := map[string]int64{}
	blobs := map[string]bool{}
	cw := &chunker{put: put}
	st := s.db.NewStream()
	st.LogPrefix = "vault backup"
	// One goroutine reads the whole key space in one transaction: one
	// read timestamp for every record, as the packs' extents need.
	st.NumGo = 1
	// Lists of about a chunk: memory stays flat however big the vault.
	st.MaxSize = backupChunk
	if _, err := st.Backup(&kvScan{w: cw, visit: func(kv *pb.KV) error {
		if !bytes.HasPrefix(kv.Key, []byte("i/")) || len(kv.Value) == 0 {
			return nil
		}
		var rec itemRecord
		if err := json.Unmarshal(kv.Value, &rec); err != nil {
			return fmt.Errorf("item record: %w", err)
		}
		if rec.Pack != "" {
			ends[rec.Pack] = max(ends[rec.Pack], rec.Off+rec.Size)
		}
		if rec.Blob != "" {
			blobs[rec.Blob] = true
		}
		return nil
	}}, 0); err != nil {
		return fmt.Errorf("vault: backup: %w", err)
	}
	if err := cw.flush(); err != nil {
		return fmt.Errorf("vault: backup: %w", err)
	}
	for _, name := range slices.Sorted(maps.Keys(ends)) {
		if err := putFile(put, BackupPacks+name, filepath.Join(s.dir, packDir, name), ends[name]); err != nil {
			return err
		}
	}
	for _, name := range slices.Sorted(maps.Keys(blobs)) {
		if err := putFile(put, BackupBlobs+name, filepath.Join(s.blobs, name), -1); err != nil {
			return err
		}
	}
	return nil
}

// putFile hands put the first n bytes of the file at path (all of it when
// n < 0).
func putFile(put Put, name, path string, n int64) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("vault: backup: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return fmt.Errorf("vault: backup: %w", err)
	}
	if n < 0 {
		n = fi.Size()
	}
	if fi.Size() < n {
		return fmt.Errorf("vault: backup: %s holds %d bytes, its records reach %d", name, fi.Size(), n)
	}
	if err := put(name, n, io.NewSectionReader(f, 0, n)); err != nil {
		return fmt.Errorf("vault: backup: %s: %w", name, err)
	}
	return nil
}

// chunker cuts Badger's stream into parts of at most backupChunk bytes.
type chunker struct {
	put Put
	buf []byte
	n   int
}

func (c *chunker) Write(p []byte) (int, error) {
	total := len(p)
	for len(p) > 0 {
		k := min(len(p), backupChunk-len(c.buf))
		c.buf = append(c.buf, p[:k]...)
		p = p[k:]
		if len(c.buf) == backupChunk {
			if err := c.flush(); err != nil {
				return 0, err
			}
		}
	}
	return total, nil
}

func (c *chunker) flush() error {
	if len(c.buf) == 0 && c.n > 0 {
		return nil
	}
	err := c.put(fmt.Sprintf("%s%04d", BackupKV, c.n), int64(len(c.buf)), bytes.NewReader(c.buf))
	c.n++
	clear(c.buf)
	c.buf = c.buf[:0]
	return err
}

// kvScan passes Badger's backup stream to w and shows visit every key and
// value in it. Badger writes each list whole, in one or two Writes: a
// little-endian uint64 length, then the protobuf list.
type kvScan struct {
	w     io.Writer
	visit func(*pb.KV) error
	pend  []byte
}

func (k *kvScan) Write(p []byte) (int, error) {
	if _, err := k.w.Write(p); err != nil {
		return 0, err
	}
	// The usual case, a whole list after its length: read it in place.
	if len(k.pend) == 8 && binary.LittleEndian.Uint64(k.pend) == uint64(len(p)) {
		k.pend = k.pend[:0]
		return len(p), k.scan(p)
	}
	k.pend = append(k.pend, p...)
	for len(k.pend) >= 8 {
		n, rest := binary.LittleEndian.Uint64(k.pend), k.pend[8:]
		if uint64(len(rest)) < n {
			break
		}
		if err := k.scan(rest[:n]); err != nil {
			return 0, err
		}
		k.pend = rest[n:]
	}
	return len(p), nil
}

func (k *kvScan) scan(b []byte) error {
	var list pb.KVList
	if err := proto.Unmarshal(b, &list); err != nil {
		return fmt.Errorf("badger stream: %w", err)
	}
	for _, kv := range list.Kv {
		if err := k.visit(kv); err != nil {
			return err
		}
	}
	return nil
}

var restoreName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$`)

// RestorePath is where a pack or blob part named name goes in a vault
// directory dir, or "" if name is none of those or not a plain file name.
func RestorePath(dir, name string) string {
	for _, p := range []struct{ prefix, sub string }{{BackupPacks, packDir}, {BackupBlobs, blobDir}} {
		if base, ok := strings.CutPrefix(name, p.prefix); ok && restoreName.MatchString(base) {
			return filepath.Join(dir, p.sub, base)
		}
	}
	return ""
}

// Restore makes a new vault in dir (which must not hold one) from
// Badger's backup stream kv, with a new encryption key. The pack and
// blob parts go to [RestorePath], written by the caller before or after.
func Restore(dir string, kv io.Reader) error {
	for _, d := range []string{dir, filepath.Join(dir, packDir), filepath.Join(dir, badgerDir)} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return fmt.Errorf("vault: restore: %w", err)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, keyFile)); err == nil {
		return fmt.Errorf("vault: restore: %s already holds a vault", dir)
	}
	key, err := loadKey(dir)
	if err != nil {
		return err
	}
	db, err := badger.Open(badgerOptions(filepath.Join(dir, badgerDir), key, memTableSize, slog.New(slog.DiscardHandler)))
	clear(key)
	if err != nil {
		return fmt.Errorf("vault: restore: open badger: %w", err)
	}
	if err := db.Load(kv, 256); err != nil {
		db.Close()
		return fmt.Errorf("vault: restore: %w", err)
	}
	if err := db.Close(); err != nil {
		return fmt.Errorf("vault: restore: %w", err)
	}
	return durable.SyncDir(dir)
}
