package audit

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// Names of the log's parts in a backup ([Log.Backup]).
const (
	BackupKey  = "audit/" + keyName
	BackupLog  = "audit/" + logName
	BackupHead = "audit/" + headName
)

// Backup hands put a copy of the log up to its last written entry, while
// it appends: its key, a head for that entry and the log's lines up to
// it, which it verifies against that head before handing them out. put
// gets each part's name, exact size and bytes, and must read all of them.
//
// A log in a store ([OpenLines]) gives [ErrInStore].
func (l *Log) Backup(put func(name string, size int64, r io.Reader) error) error {
	if l.lines != nil {
		return ErrInStore
	}
	l.mu.Lock()
	if l.f == nil {
		l.mu.Unlock()
		return errors.New("audit backup: log closed")
	}
	if l.err != nil {
		l.mu.Unlock()
		return fmt.Errorf("audit backup: log unusable after a failed write: %w", l.err)
	}
	key := append([]byte(nil), l.key...)
	h := head{Seq: l.seq, Hash: hex.EncodeToString(l.last[:])}
	size := l.size
	l.mu.Unlock()

	hb, err := encodeHead(key, h)
	if err != nil {
		return fmt.Errorf("audit backup: %w", err)
	}
	f, err := os.Open(filepath.Join(l.dir, logName))
	if err != nil {
		return fmt.Errorf("audit backup: %w", err)
	}
	defer f.Close()
	// Lines past size may be appended meanwhile; the copy stops at the
	// head's entry, and must reach it intact.
	if _, err := scan(io.NewSectionReader(f, 0, size), key, &h, nil); err != nil {
		return fmt.Errorf("audit backup: %w", err)
	}
	if err := put(BackupKey, int64(len(key)), bytes.NewReader(key)); err != nil {
		return err
	}
	if err := put(BackupLog, size, io.NewSectionReader(f, 0, size)); err != nil {
		return err
	}
	return put(BackupHead, int64(len(hb)), bytes.NewReader(hb))
}

// RestoreName is the file a part named name of [Log.Backup] goes to in
// the log's directory, or "" if it is not one of them.
func RestoreName(name string) string {
	switch name {
	case BackupKey:
		return keyName
	case BackupLog:
		return logName
	case BackupHead:
		return headName
	}
	return ""
}
