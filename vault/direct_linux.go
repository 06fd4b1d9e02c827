package vault

import (
	"os"
	"syscall"
)

// openDirect opens the pack at path a second time, for writing with
// direct I/O; nil where the file system refuses it (tmpfs).
func openDirect(path string) *os.File {
	f, err := os.OpenFile(path, os.O_WRONLY|syscall.O_DIRECT, 0)
	if err != nil {
		return nil
	}
	return f
}

// openDirectRead opens the pack at path a second time, for reading with
// direct I/O; nil where the file system refuses it.
func openDirectRead(path string) *os.File {
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_DIRECT, 0)
	if err != nil {
		return nil
	}
	return f
}
