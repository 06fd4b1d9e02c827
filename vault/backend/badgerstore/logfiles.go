package badgerstore

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// DropEmptyLogFiles removes from Badger's directory dir, before Badger
// opens it, the empty files of memtables (.mem, their write-ahead logs)
// and of the value log (.vlog), and returns their names. Badger creates
// such a file and then sizes it; a crash between the two leaves a file of
// no bytes, which holds nothing and which nothing points into, and on
// which Badger's Open then fails ("while opening fid: N err: Create a new
// file", or "Open existing file: ... Create a new file") every time: the
// vault would never open again (dgraph-io/badger#2207). A sized file, even
// one never written to, is left to Badger. It takes the lock Badger takes
// on dir first, and does nothing while a running Badger holds it (Badger's
// Open then refuses the directory as ever).
func DropEmptyLogFiles(dir string) ([]string, error) {
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
		if !e.Type().IsRegular() || !(strings.HasSuffix(e.Name(), ".mem") || strings.HasSuffix(e.Name(), ".vlog")) {
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
