package vault

import (
	"os"
	"syscall"
)

// openBlob opens a blob for reading without updating its access time, so
// that reading a case leaves no exact time on disk. O_NOATIME needs the file
// owner; anyone else falls back to a plain open.
func openBlob(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NOATIME, 0)
	if err != nil && os.IsPermission(err) {
		return os.Open(path)
	}
	return f, err
}

// openRW opens a pack for reading and writing, without updating its access
// time where it can.
func openRW(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_RDWR|syscall.O_NOATIME, 0)
	if err != nil && os.IsPermission(err) {
		return os.OpenFile(path, os.O_RDWR, 0)
	}
	return f, err
}
