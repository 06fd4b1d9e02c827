//go:build !linux

package vault

import "os"

// openDirect is nil here: packs are written and read through the page
// cache.
func openDirect(string, int) *os.File { return nil }
