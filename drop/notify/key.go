package notify

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
)

// Errors returned by [ParseKey] (wrapped, test with errors.Is). An
// administration page can map them to a translated hint.
var (
	// ErrNoKey: the text holds no OpenPGP public key, or more than one.
	ErrNoKey = errors.New("no single OpenPGP public key")
	// ErrSecretKey: the text holds secret key material. It is refused, not kept.
	ErrSecretKey = errors.New("secret key given, public key expected")
	// ErrExpired: the key (or every encryption subkey) has expired.
	ErrExpired = errors.New("key has expired")
	// ErrRevoked: the key (or every encryption subkey) has been revoked.
	ErrRevoked = errors.New("key has been revoked")
	// ErrCannotEncrypt: the key has no encryption-capable (sub)key, e.g. a
	// signing-only key.
	ErrCannotEncrypt = errors.New("key cannot encrypt")
)

// ParseKey reads one armored OpenPGP public key and checks that it can take
// an encrypted message now. It refuses armored secret keys (export the public
// key with gpg --export --armor), more than one key, and keys that are
// expired, revoked or signing-only.
func ParseKey(armored string) (openpgp.EntityList, error) {
	el, err := openpgp.ReadArmoredKeyRing(strings.NewReader(armored))
	if err != nil {
		return nil, fmt.Errorf("parse key: %w: %w", ErrNoKey, err)
	}
	if len(el) != 1 {
		return nil, fmt.Errorf("parse key: %w: found %d keys", ErrNoKey, len(el))
	}
	if err := checkEntity(el[0], time.Now()); err != nil {
		return nil, fmt.Errorf("parse key: %w", err)
	}
	return el, nil
}

// checkEntity says why e cannot take a message encrypted at now, or nil.
func checkEntity(e *openpgp.Entity, now time.Time) error {
	if e == nil || e.PrimaryKey == nil {
		return ErrNoKey
	}
	if e.PrivateKey != nil {
		return ErrSecretKey
	}
	for _, s := range e.Subkeys {
		if s.PrivateKey != nil {
			return ErrSecretKey
		}
	}
	if e.Revoked(now) {
		return ErrRevoked
	}
	sig, id := e.PrimarySelfSignature()
	if sig == nil {
		return fmt.Errorf("%w: no valid self-signature", ErrCannotEncrypt)
	}
	if id != nil && id.Revoked(now) {
		return ErrRevoked
	}
	if e.PrimaryKey.KeyExpired(sig, now) || sig.SigExpired(now) {
		return ErrExpired
	}
	if _, ok := e.EncryptionKey(now); ok {
		return nil
	}
	// Say why no subkey qualified: an encryption subkey that expired or was
	// revoked is a different fix from a key that never could encrypt.
	var expired, revoked bool
	for _, s := range e.Subkeys {
		if s.Sig == nil || !s.Sig.FlagsValid || !s.Sig.FlagEncryptCommunications ||
			!s.PublicKey.PubKeyAlgo.CanEncrypt() {
			continue
		}
		switch {
		case s.Revoked(now):
			revoked = true
		case s.PublicKey.KeyExpired(s.Sig, now) || s.Sig.SigExpired(now):
			expired = true
		}
	}
	switch {
	case revoked:
		return fmt.Errorf("%w (encryption subkey)", ErrRevoked)
	case expired:
		return fmt.Errorf("%w (encryption subkey)", ErrExpired)
	}
	return fmt.Errorf("%w: no encryption subkey (signing-only key?)", ErrCannotEncrypt)
}
