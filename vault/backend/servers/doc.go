// Package servers starts real storage servers on 127.0.0.1 for tests:
// PostgreSQL (Debian's, run as an unprivileged user when the test runs as
// root, since postgres refuses root) and SeaweedFS as an S3 store. Each
// server gets its own free ports and temporary directory and is stopped
// when the test ends. A test whose program is missing skips and says why,
// except in CI (CI set), where make deps must have installed it.
//
// It is a test helper: it is not linked into cleandrop.
package servers
