package vault

// SetMemTableSize sets Badger's memtable size for the stores a test opens
// after it, and returns a function that puts it back. Tests that call it
// must not run in parallel with others.
func SetMemTableSize(n int64) (restore func()) {
	old := memTableSize
	memTableSize = n
	return func() { memTableSize = old }
}
