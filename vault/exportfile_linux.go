package vault

import (
	"errors"
	"os"

	"golang.org/x/sys/unix"
)

// copyRange copies up to n bytes of src from off to dst's position, which
// it advances, inside the kernel.
func copyRange(dst, src *os.File, off int64, n int) (int, error) {
	k, err := unix.CopyFileRange(int(src.Fd()), &off, int(dst.Fd()), nil, n, 0)
	return max(k, 0), err // -1 on an error
}

// noDirect says whether err from copyRange only means that the kernel
// does not copy between these two files (another file system, an old
// kernel, a file opened for appending).
func noDirect(err error) bool {
	return errors.Is(err, unix.EXDEV) || errors.Is(err, unix.ENOSYS) || errors.Is(err, unix.EOPNOTSUPP) ||
		errors.Is(err, unix.EINVAL) || errors.Is(err, unix.EBADF)
}

// readWrite says whether f is open for reading and writing, and not for
// appending only.
func readWrite(f *os.File) bool {
	fl, err := unix.FcntlInt(f.Fd(), unix.F_GETFL, 0)
	return err == nil && fl&unix.O_ACCMODE == unix.O_RDWR && fl&unix.O_APPEND == 0
}
