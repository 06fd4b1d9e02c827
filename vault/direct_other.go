//go:build !linux

package vault

import "os"

// openDirect is nil here: packs are written through the page cache.
func openDirect(string) *os.File { return nil }

// openDirectRead is nil here: packs are read through the page cache.
func openDirectRead(string) *os.File { return nil }
