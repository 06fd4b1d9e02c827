//go:build !unix

package audit

import "os"

// lock does nothing here: only one process may open a log, by convention.
func lock(*os.File) error { return nil }
