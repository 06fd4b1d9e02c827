//go:build !linux

package vault

import (
	"errors"
	"os"
)

// copyRange is copy_file_range, which only Linux has here.
func copyRange(_, _ *os.File, _ int64, _ int) (int, error) { return 0, errors.ErrUnsupported }

func noDirect(err error) bool { return errors.Is(err, errors.ErrUnsupported) }

// readWrite is false: without copyRange, an export to a file is written
// as to any writer.
func readWrite(*os.File) bool { return false }
