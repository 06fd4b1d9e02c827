//go:build !linux

package vault

import "os"

// openBlob opens a blob for reading.
func openBlob(path string) (*os.File, error) { return os.Open(path) }

// openRW opens a pack for reading and writing.
func openRW(path string) (*os.File, error) { return os.OpenFile(path, os.O_RDWR, 0) }
