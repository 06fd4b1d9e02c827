package backend

import (
	"bytes"
	"context"
	"crypto/cipher"
	"crypto/rand"
	"errors"
	"fmt"

	"golang.org/x/crypto/chacha20poly1305"
)

// sealedVersion is the first byte of every value [Sealed] writes.
const sealedVersion = 1

// sealedContext is bound into every value as additional data, with the
// key, so that a value moved to another key (or from another system)
// fails to open.
const sealedContext = "cleandrop meta value v1\x00"

// ErrTampered is returned when a value [Sealed] reads does not open under
// its key: it was changed, moved from another key, or sealed under another
// key.
var ErrTampered = errors.New("metadata value fails authentication")

// Sealed returns a [Meta] that seals every value with XChaCha20-Poly1305
// under key (32 bytes) before it reaches meta, and opens it on the way
// back. The inner store sees keys as they are, and values only as
// 1 + 24 + len(value) + 16 bytes of ciphertext, each bound to its key.
// key should be derived for this use alone (HKDF of the vault key with a
// label of its own).
func Sealed(meta Meta, key []byte) (Meta, error) {
	aead, err := chacha20poly1305.NewX(key)
	if err != nil {
		return nil, fmt.Errorf("sealed metadata key: %w", err)
	}
	return &sealedMeta{inner: meta, aead: aead}, nil
}

type sealedMeta struct {
	inner Meta
	aead  cipher.AEAD
}

func (s *sealedMeta) Update(ctx context.Context, fn func(Tx) error) error {
	return s.inner.Update(ctx, func(tx Tx) error { return fn(&sealedTx{tx: tx, aead: s.aead}) })
}

func (s *sealedMeta) View(ctx context.Context, fn func(Tx) error) error {
	return s.inner.View(ctx, func(tx Tx) error { return fn(&sealedTx{tx: tx, aead: s.aead}) })
}

func (s *sealedMeta) Close() error { return s.inner.Close() }

type sealedTx struct {
	tx   Tx
	aead cipher.AEAD
}

func (t *sealedTx) ad(key []byte) []byte {
	return append([]byte(sealedContext), key...)
}

func (t *sealedTx) seal(key, value []byte) []byte {
	nonce := make([]byte, t.aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		panic("backend: crypto/rand failed: " + err.Error())
	}
	out := make([]byte, 0, 1+len(nonce)+len(value)+t.aead.Overhead())
	out = append(append(out, sealedVersion), nonce...)
	return t.aead.Seal(out, nonce, value, t.ad(key))
}

func (t *sealedTx) open(key, sealed []byte) ([]byte, error) {
	n := t.aead.NonceSize()
	if len(sealed) < 1+n+t.aead.Overhead() || sealed[0] != sealedVersion {
		return nil, ErrTampered
	}
	v, err := t.aead.Open(nil, sealed[1:1+n], sealed[1+n:], t.ad(key))
	if err != nil {
		return nil, ErrTampered
	}
	return v, nil
}

func (t *sealedTx) Get(key []byte) ([]byte, error) {
	s, err := t.tx.Get(key)
	if err != nil {
		return nil, err
	}
	return t.open(key, s)
}

func (t *sealedTx) Put(key, value []byte) error { return t.tx.Put(key, t.seal(key, value)) }

func (t *sealedTx) PutIfAbsent(key, value []byte) (bool, error) {
	return t.tx.PutIfAbsent(key, t.seal(key, value))
}

// CompareAndSwap compares plaintexts: sealed values are randomised, so
// the inner store cannot compare them. The read and the write are in one
// serializable transaction, so a concurrent swap makes one of them retry.
func (t *sealedTx) CompareAndSwap(key, old, value []byte) (bool, error) {
	if old == nil {
		return t.PutIfAbsent(key, value)
	}
	cur, err := t.Get(key)
	if errors.Is(err, ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if !bytes.Equal(cur, old) {
		return false, nil
	}
	return true, t.Put(key, value)
}

func (t *sealedTx) Delete(key []byte) error { return t.tx.Delete(key) }

func (t *sealedTx) Scan(prefix []byte, fn func(k, v []byte) error) error {
	return t.tx.Scan(prefix, func(k, s []byte) error {
		v, err := t.open(k, s)
		if err != nil {
			return err
		}
		return fn(k, v)
	})
}
