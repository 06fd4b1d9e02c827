//go:build !unix

package badgerstore

// lockDir does not lock here: without Badger's lock to take, empty
// memtable files are left to Badger.
func lockDir(string) (unlock func(), ok bool, err error) { return nil, false, nil }
