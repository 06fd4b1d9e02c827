package vault

import "time"

// SetMemTableSize sets Badger's memtable size for the stores a test opens
// after it, and returns a function that puts it back. Tests that call it
// must not run in parallel with others.
func SetMemTableSize(n int64) (restore func()) {
	old := memTableSize
	memTableSize = n
	return func() { memTableSize = old }
}

// SetFreeSpace makes the store see free bytes free on its file system
// until the returned function restores the real measure.
func SetFreeSpace(free func() int64) (restore func()) {
	old := freeSpaceOf
	freeSpaceOf = func(string) (int64, error) { return free(), nil }
	return func() { freeSpaceOf = old }
}

// SetReap sets how often a shared store looks for unreferenced objects
// and how long an upload must be idle to be swept, for the stores a test
// opens after it, and returns a function that puts them back.
func SetReap(every, idle time.Duration) (restore func()) {
	oldEvery, oldIdle := reapEvery, uploadIdle
	reapEvery, uploadIdle = every, idle
	return func() { reapEvery, uploadIdle = oldEvery, oldIdle }
}

// Looks reports how many looks for unreferenced objects have finished.
func (s *Store) Looks() int {
	s.reaper.mu.Lock()
	defer s.reaper.mu.Unlock()
	return s.reaper.looks
}

// Settled reports how many settlings have finished and how many cases
// they settled.
func (s *Store) Settled() (rounds, cases int) {
	s.settler.mu.Lock()
	defer s.settler.mu.Unlock()
	return s.settler.rounds, s.settler.cases
}

// SetBeforeObjectOpen makes fn run between the read of an item's record
// and the open of its object in a shared store, until the returned
// function restores nothing there.
func SetBeforeObjectOpen(fn func()) (restore func()) {
	beforeObjectOpen = fn
	return func() { beforeObjectOpen = nil }
}

// SettleCase settles case ref now, as the first tick of a later day would.
func (s *Store) SettleCase(ref string) error {
	return s.settleCase(normalizeRef(ref), "9999-12-31")
}
