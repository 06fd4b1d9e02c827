package badgerstore

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// DropEmptyMemtables removes the empty write-ahead files of memtables
// from Badger's directory dir, before Badger opens it, and returns their
// names. Badger creates a memtable's file and then sizes it; a crash
// between the two leaves a file of no bytes, which holds nothing, and on
// which Badger's Open then fails ("while opening fid: N err: Create a new
// file") every time: the vault would never open again. A sized file, even
// one never written to, is left to Badger. It takes the lock Badger takes
// on dir first, and does nothing while a running Badger holds it (Badger's
// Open then refuses the directory as ever).
func DropEmptyMemtables(dir string) ([]string, error) {
	unlock, ok, err := lockDir(dir)
	if errors.Is(err, fs.ErrNotExist) || (err == nil && !ok) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer unlock()
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var dropped []string
	for _, e := range ents {
		if !e.Type().IsRegular() || !strings.HasSuffix(e.Name(), ".mem") {
			continue
		}
		info, err := e.Info()
		if err != nil {
			return dropped, err
		}
		if info.Size() != 0 {
			continue
		}
		if err := os.Remove(filepath.Join(dir, e.Name())); err != nil {
			return dropped, err
		}
		dropped = append(dropped, e.Name())
	}
	return dropped, nil
}
