package pgstore

import (
	"errors"
	"testing"

	"cleandrop/vault/backend"

	"github.com/jackc/pgx/v5/pgconn"
)

// PostgreSQL's disk_full becomes backend.ErrNoSpace, its serialization
// failures backend.ErrConflict, and other errors neither.
func TestClassify(t *testing.T) {
	for _, c := range []struct {
		code           string
		noSpace, confl bool
	}{
		{"53100", true, false},
		{"40001", false, true},
		{"40P01", false, true},
		{"53200", false, false}, // out of memory: not the disk
		{"23505", false, false},
	} {
		err := classify("put", &pgconn.PgError{Code: c.code})
		if errors.Is(err, backend.ErrNoSpace) != c.noSpace || errors.Is(err, backend.ErrConflict) != c.confl {
			t.Errorf("SQLSTATE %s: %v", c.code, err)
		}
	}
}
