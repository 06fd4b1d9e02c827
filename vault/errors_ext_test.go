package vault_test

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"strings"
	"testing"

	"github.com/dgraph-io/badger/v4"

	"cleandrop/vault/storetest"
)

// TestErrorsHoldNoKeys forces the store's reads and writes to fail on a
// closed database and checks that no error names the case reference or
// the lookup key it was asked about.
func TestErrorsHoldNoKeys(t *testing.T) {
	f := storetest.NewFixture(t, openBadger)
	ref, acc, _ := f.NewReport(t, "a report")
	c, err := f.Store.Case(ref)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Store.Close(); err != nil {
		t.Fatal(err)
	}
	lookup := make([]byte, 32)
	rand.Read(lookup)
	secrets := []string{ref, strings.ToLower(ref), string(acc.Lookup), hex.EncodeToString(acc.Lookup), string(lookup), hex.EncodeToString(lookup)}
	errs := map[string]error{}
	_, errs["Case"] = f.Store.Case(ref)
	_, _, errs["AccessByLookup"] = f.Store.AccessByLookup(lookup)
	_, errs["OpenItem"] = f.Store.OpenItem(ref, c.Items[0].ID)
	_, errs["Cases"] = f.Store.Cases()
	_, errs["Record"] = f.Store.Record("seen", "officer/"+ref)
	errs["PutRecord"] = f.Store.PutRecord("seen", "officer/"+ref, []byte("1"))
	errs["DeleteRecord"] = f.Store.DeleteRecord("seen", "officer/"+ref)
	errs["Post"] = f.Store.Post(ref, "acknowledged", "", nil)
	for name, err := range errs {
		if err == nil {
			t.Errorf("%s on a closed store: no error", name)
			continue
		}
		for _, s := range secrets {
			if strings.Contains(err.Error(), s) {
				t.Errorf("%s: error %q holds a key", name, err)
			}
		}
		if !errors.Is(err, badger.ErrDBClosed) {
			t.Errorf("%s: error %q is not badger.ErrDBClosed", name, err)
		}
	}
}
