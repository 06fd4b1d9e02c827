//go:build !linux

package vault

import "os"

// openBlob opens a blob for reading.
func openBlob(path string) (*os.File, error) { return os.Open(path) }
