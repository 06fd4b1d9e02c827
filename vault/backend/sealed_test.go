package backend_test

import (
	"bytes"
	"errors"
	"testing"

	"cleandrop/vault/backend"
	"cleandrop/vault/backend/backendtest"
	"cleandrop/vault/backend/badgerstore"
)

func sealedOver(t *testing.T) (sealed, inner backend.Meta) {
	inner, err := badgerstore.OpenMeta(t.TempDir(), make([]byte, 32), nil)
	if err != nil {
		t.Fatal(err)
	}
	sealed, err = backend.Sealed(inner, bytes.Repeat([]byte{7}, 32))
	if err != nil {
		t.Fatal(err)
	}
	return sealed, inner
}

func TestSealedConforms(t *testing.T) {
	backendtest.RunMeta(t, func(t *testing.T) backend.Meta { s, _ := sealedOver(t); return s })
}

// TestSealedInnerSeesNoPlaintext writes canaries through every writing
// call and searches every value the inner store holds for them.
func TestSealedInnerSeesNoPlaintext(t *testing.T) {
	s, inner := sealedOver(t)
	defer s.Close()
	canaries := []string{"CANARY-put-agency", "CANARY-ifabsent-stage", "CANARY-cas-totp", "CANARY-cas-new"}
	err := s.Update(t.Context(), func(tx backend.Tx) error {
		if err := tx.Put([]byte("k1"), []byte(canaries[0])); err != nil {
			return err
		}
		if _, err := tx.PutIfAbsent([]byte("k2"), []byte(canaries[1])); err != nil {
			return err
		}
		if _, err := tx.CompareAndSwap([]byte("k3"), nil, []byte(canaries[2])); err != nil {
			return err
		}
		ok, err := tx.CompareAndSwap([]byte("k3"), []byte(canaries[2]), []byte(canaries[3]))
		if !ok {
			return errors.New("sealed compare-and-swap did not swap")
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	err = inner.View(t.Context(), func(tx backend.Tx) error {
		return tx.Scan(nil, func(k, v []byte) error {
			n++
			for _, c := range canaries {
				if bytes.Contains(v, []byte(c)) {
					t.Errorf("inner value of %q holds %q", k, c)
				}
			}
			return nil
		})
	})
	if err != nil || n != 3 {
		t.Fatalf("inner scan: %d values, %v", n, err)
	}
}

// TestSealedValueBoundToKey moves a sealed value to another key in the
// inner store and checks that it no longer opens.
func TestSealedValueBoundToKey(t *testing.T) {
	s, inner := sealedOver(t)
	defer s.Close()
	if err := s.Update(t.Context(), func(tx backend.Tx) error { return tx.Put([]byte("alice"), []byte("admin")) }); err != nil {
		t.Fatal(err)
	}
	err := inner.Update(t.Context(), func(tx backend.Tx) error {
		v, err := tx.Get([]byte("alice"))
		if err != nil {
			return err
		}
		return tx.Put([]byte("mallory"), v)
	})
	if err != nil {
		t.Fatal(err)
	}
	err = s.View(t.Context(), func(tx backend.Tx) error { _, err := tx.Get([]byte("mallory")); return err })
	if !errors.Is(err, backend.ErrTampered) {
		t.Errorf("a value moved to another key: %v, want ErrTampered", err)
	}
	other, _ := backend.Sealed(inner, bytes.Repeat([]byte{8}, 32))
	err = other.View(t.Context(), func(tx backend.Tx) error { _, err := tx.Get([]byte("alice")); return err })
	if !errors.Is(err, backend.ErrTampered) {
		t.Errorf("a value read under another key: %v, want ErrTampered", err)
	}
}
