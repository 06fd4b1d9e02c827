//go:build !unix

package vault

import "errors"

// freeSpace is not measured here: the floor is not enforced.
func freeSpace(string) (int64, error) { return 0, errors.New("vault: free space unknown") }
