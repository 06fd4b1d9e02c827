package vault

import (
	"os"
	"syscall"
)

// openDirect opens the pack at path a second time, with flag (os.O_RDONLY
// or os.O_WRONLY), for direct I/O past the page cache; nil where the file
// system refuses it (tmpfs before Linux 6.6, for one).
func openDirect(path string, flag int) *os.File {
	f, err := os.OpenFile(path, flag|syscall.O_DIRECT, 0)
	if err != nil {
		return nil
	}
	return f
}
