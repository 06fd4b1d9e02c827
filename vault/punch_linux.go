package vault

import (
	"os"

	"golang.org/x/sys/unix"
)

// punch frees n bytes of f at off, which then read as zeros: a hole where
// the file system can make one, zeros written where it cannot.
func punch(f *os.File, off, n int64) error {
	err := unix.Fallocate(int(f.Fd()), unix.FALLOC_FL_PUNCH_HOLE|unix.FALLOC_FL_KEEP_SIZE, off, n)
	if err == nil {
		return nil
	}
	return zeroRange(f, off, n)
}
