package pgstore_test

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"testing"

	"cleandrop/vault/backend"
	"cleandrop/vault/backend/servers"
)

// canaries stand for what the vault's metadata holds in plaintext before
// it seals it: an agency's name, case stages, a reporter's words.
var canaries = []string{
	"CANARY Ministry of Water Resources of Karakalpakstan",
	"CANARY-stage-under-investigation",
	"CANARY-stage-referred-to-prosecutor",
	"CANARY the deputy khokim took the cash in the car park behind the bazaar",
}

// found reports where canary occurs in dump: as text, or as the hex that
// pg_dump writes bytea values in.
func found(dump []byte, canary string) string {
	switch {
	case bytes.Contains(dump, []byte(canary)):
		return "as text"
	case bytes.Contains(dump, []byte(hex.EncodeToString([]byte(canary)))):
		return "as bytea hex"
	}
	return ""
}

// TestPostgresDumpNoPlaintext writes records holding the canaries through
// backend.Sealed, dumps the database with the real pg_dump, and searches
// the dump for each canary, as text and as bytea hex: none is there. A
// control value written beside them without sealing is found, so the
// search does see what the table holds.
func TestPostgresDumpNoPlaintext(t *testing.T) {
	pg := servers.StartPostgres(t)
	url := pg.NewDatabase(t)
	raw := open(t, url)
	defer raw.Close()
	m, err := backend.Sealed(raw, make([]byte, 32))
	if err != nil {
		t.Fatal(err)
	}
	err = m.Update(t.Context(), func(tx backend.Tx) error {
		for i, c := range canaries {
			if err := tx.Put(fmt.Appendf(nil, "case/%02d", i), []byte(c)); err != nil {
				return err
			}
		}
		_, err := tx.PutIfAbsent([]byte("totp/01"), []byte(canaries[0]+" | "+canaries[3]))
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	const control = "CONTROL value written without sealing"
	if err := raw.Update(t.Context(), func(tx backend.Tx) error { return tx.Put([]byte("control"), []byte(control)) }); err != nil {
		t.Fatal(err)
	}

	dump := pg.Dump(t, url)
	if where := found(dump, control); where == "" {
		t.Fatalf("the unsealed control value is not in the dump (%d bytes): the search cannot see values", len(dump))
	} else {
		t.Logf("control found %s in the %d-byte dump", where, len(dump))
	}
	for _, c := range canaries {
		if where := found(dump, c); where != "" {
			t.Errorf("pg_dump holds the canary %q %s", c, where)
		}
	}
}
