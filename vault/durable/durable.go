// Package durable writes small files so that a crash leaves either the old
// state or the new one, never half a file: a synced temporary file, renamed
// or linked into place, then the directory synced.
package durable

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
)

// WriteFile writes name in dir with mode. With replace false an existing
// file is never overwritten ([fs.ErrExist]): the temporary file is linked
// into place, not renamed.
func WriteFile(dir, name string, b []byte, mode os.FileMode, replace bool) error {
	tmp := TempPath(dir, name)
	if err := os.Remove(tmp); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if err != nil {
		return err
	}
	_, err = f.Write(b)
	if err == nil {
		err = f.Chmod(mode) // the umask may have narrowed it
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		if replace {
			err = os.Rename(tmp, filepath.Join(dir, name))
		} else {
			err = os.Link(tmp, filepath.Join(dir, name))
		}
	}
	if err != nil || !replace {
		os.Remove(tmp)
	}
	if err != nil {
		return err
	}
	return SyncDir(dir)
}

// TempPath is where WriteFile stages name; a crash can leave it behind.
func TempPath(dir, name string) string { return filepath.Join(dir, "."+name+".tmp") }

// SyncDir makes the directory's entries (new, renamed or removed files)
// durable.
func SyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}
