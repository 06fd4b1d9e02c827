//go:build unix

package audit

import (
	"errors"
	"os"
	"syscall"
)

// lock takes an exclusive lock on the open log file so that two processes
// never append to the same log. Closing f releases it.
func lock(f *os.File) error {
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return errors.New("another process has it open")
		}
		return err
	}
	return nil
}
