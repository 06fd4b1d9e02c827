//go:build unix

package vault

import "golang.org/x/sys/unix"

// freeSpace is the space, in bytes, that an unprivileged process may still
// write on the file system holding dir.
func freeSpace(dir string) (int64, error) {
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err != nil {
		return 0, err
	}
	return int64(st.Bavail) * int64(st.Bsize), nil
}
