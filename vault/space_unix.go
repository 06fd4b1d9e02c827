//go:build unix

package vault

import (
	"math"

	"golang.org/x/sys/unix"
)

// freeSpace is the space, in bytes, that an unprivileged process may still
// write on the file system holding dir (at most math.MaxInt64).
func freeSpace(dir string) (int64, error) {
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err != nil {
		return 0, err
	}
	bsize := int64(st.Bsize)
	if bsize <= 0 {
		return 0, nil
	}
	if st.Bavail > math.MaxInt64 {
		return math.MaxInt64, nil
	}
	blocks := int64(st.Bavail)
	if blocks > math.MaxInt64/bsize {
		return math.MaxInt64, nil
	}
	return blocks * bsize, nil
}
