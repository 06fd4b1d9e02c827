//go:build unix

package badgerstore

import (
	"os"

	"golang.org/x/sys/unix"
)

// lockDir takes the lock Badger takes on its directory (an exclusive
// flock of the directory itself) without waiting: ok is false while
// another holds it.
func lockDir(dir string) (unlock func(), ok bool, err error) {
	f, err := os.Open(dir)
	if err != nil {
		return nil, false, err
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		f.Close()
		return nil, false, nil
	}
	return func() {
		unix.Flock(int(f.Fd()), unix.LOCK_UN)
		f.Close()
	}, true, nil
}
