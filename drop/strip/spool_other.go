//go:build !linux

package strip

import "os"

// openUnnamed: only Linux offers files without a name (O_TMPFILE); other
// systems pass PDF and OOXML files unchanged.
func openUnnamed(dir string) (*os.File, error) { return nil, errNoSpool }
