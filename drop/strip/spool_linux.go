package strip

import (
	"errors"
	"os"

	"golang.org/x/sys/unix"
)

// openUnnamed opens a file in dir that has no name: it never appears in
// the directory (whose times do not change), and it is gone when closed or
// when the process dies.
func openUnnamed(dir string) (*os.File, error) {
	fd, err := unix.Open(dir, unix.O_TMPFILE|unix.O_RDWR|unix.O_CLOEXEC, 0o600)
	if errors.Is(err, unix.EOPNOTSUPP) || errors.Is(err, unix.EISDIR) || errors.Is(err, unix.EINVAL) {
		return nil, errNoSpool
	}
	if err != nil {
		return nil, err
	}
	return os.NewFile(uintptr(fd), "spool"), nil
}
