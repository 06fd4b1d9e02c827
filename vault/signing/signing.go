// Package signing keeps the instance's OpenPGP signing key and checks its
// signatures. The server signs the exact bytes of every export manifest
// with it (a detached, ASCII-armored signature, as gpg --detach-sign
// --armor makes); the officer's offline machine checks that signature
// against the published public key with 'cleandrop open --signer' or with
// gpg --verify, then the manifest's checksums cover every item.
//
// Keys are OpenPGP v4 with an Ed25519 primary key, which GnuPG 2.2 and
// later verify.
package signing

import (
	"bytes"
	"cleandrop/vault/durable"
	"crypto"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/armor"
	pgperrors "github.com/ProtonMail/go-crypto/openpgp/errors"
	"github.com/ProtonMail/go-crypto/openpgp/packet"
)

// File names inside the key directory.
const (
	SecretFile = "secret.asc" // the armored secret key, mode 0600
	PublicFile = "public.asc" // the armored public key, to publish
)

// Errors of [Verifier.Verify] (wrapped; test with errors.Is).
var (
	// ErrNoSignature: the signature is missing, garbled or not an OpenPGP
	// signature.
	ErrNoSignature = errors.New("not an OpenPGP signature")
	// ErrOtherKey: the signature was made by a key other than the
	// instance's.
	ErrOtherKey = errors.New("signed by another key")
	// ErrBadSignature: the instance's key made the signature, but over
	// other bytes: the manifest was changed.
	ErrBadSignature = errors.New("signature does not match the manifest: the manifest was changed")
	// ErrKeyInvalid: the instance's key is expired or revoked.
	ErrKeyInvalid = errors.New("the signing key is expired or revoked")
)

// ErrInsecure is returned by [Load] for a secret key file that other users
// can read.
var ErrInsecure = errors.New("secret signing key is readable by other users")

// config makes keys and signatures dated midnight (UTC) of today, like
// every time the drop keeps: a signature must not say when an officer
// exported a case to the minute.
func config() *packet.Config {
	return &packet.Config{
		Algorithm:   packet.PubKeyAlgoEdDSA,
		DefaultHash: crypto.SHA256,
		Time:        func() time.Time { return midnight(time.Now()) },
	}
}

// midnight is the start (UTC) of t's day.
func midnight(t time.Time) time.Time {
	y, m, d := t.UTC().Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

// A Signer signs with the instance's secret key.
type Signer struct {
	e *openpgp.Entity
}

// Generate makes a new signing key whose user ID is name (no e-mail).
func Generate(name string) (*Signer, error) {
	name = strings.Map(func(r rune) rune {
		if strings.ContainsRune("()<>\x00", r) || r < 0x20 {
			return -1
		}
		return r
	}, name)
	e, err := openpgp.NewEntity(name, "", "", config())
	if err != nil {
		return nil, fmt.Errorf("signing: generate: %w", err)
	}
	return &Signer{e: e}, nil
}

// LoadOrCreate reads the signing key kept in dir, making it (dir 0700,
// secret 0600, public beside it) on first use; created says which. The
// public file is written again if it is missing or differs.
func LoadOrCreate(dir, name string) (s *Signer, created bool, err error) {
	s, err = Load(dir)
	if err == nil {
		return s, false, s.publish(dir)
	}
	if !errors.Is(err, os.ErrNotExist) {
		return nil, false, err
	}
	if ents, rerr := os.ReadDir(dir); rerr == nil && len(ents) > 0 {
		return nil, false, fmt.Errorf("signing: %s holds files but no %s: %w", dir, SecretFile, err)
	}
	if s, err = Generate(name); err != nil {
		return nil, false, err
	}
	if err := s.save(dir); err != nil {
		return nil, false, err
	}
	return s, true, nil
}

// Load reads the signing key kept in dir. It refuses a secret key file
// that other users can read ([ErrInsecure]).
func Load(dir string) (*Signer, error) {
	path := filepath.Join(dir, SecretFile)
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if st.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("signing: %s: %w (mode %04o)", path, ErrInsecure, st.Mode().Perm())
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	el, err := openpgp.ReadArmoredKeyRing(f)
	if err != nil {
		return nil, fmt.Errorf("signing: %s: %w", path, err)
	}
	if len(el) != 1 || el[0].PrivateKey == nil || el[0].PrivateKey.Encrypted {
		return nil, fmt.Errorf("signing: %s: want one unencrypted secret key", path)
	}
	return &Signer{e: el[0]}, nil
}

func (s *Signer) save(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	var sec bytes.Buffer
	w, err := armor.Encode(&sec, openpgp.PrivateKeyType, nil)
	if err != nil {
		return err
	}
	if err := s.e.SerializePrivate(w, config()); err != nil {
		return err
	}
	if err := w.Close(); err != nil {
		return err
	}
	sec.WriteByte('\n')
	if err := durable.WriteFile(dir, SecretFile, sec.Bytes(), 0o600, false); err != nil {
		return err
	}
	return s.publish(dir)
}

// publish writes public.asc, which is derived from the secret key, when
// it is missing or says something else (a start cut short, a file
// edited): officers must always be given the key that signs.
func (s *Signer) publish(dir string) error {
	path := filepath.Join(dir, PublicFile)
	if b, err := os.ReadFile(path); err == nil && bytes.Equal(b, s.PublicKey()) {
		return nil
	}
	return durable.WriteFile(dir, PublicFile, s.PublicKey(), 0o644, true)
}

// Sign returns an ASCII-armored detached signature over msg.
func (s *Signer) Sign(msg []byte) ([]byte, error) {
	var b bytes.Buffer
	if err := openpgp.ArmoredDetachSign(&b, s.e, bytes.NewReader(msg), config()); err != nil {
		return nil, fmt.Errorf("signing: %w", err)
	}
	b.WriteByte('\n')
	return b.Bytes(), nil
}

// PublicKey is the armored public key, for officers and gpg --import.
func (s *Signer) PublicKey() []byte {
	var b bytes.Buffer
	w, _ := armor.Encode(&b, openpgp.PublicKeyType, nil)
	s.e.Serialize(w)
	w.Close()
	b.WriteByte('\n')
	return b.Bytes()
}

// Fingerprint is the key's fingerprint as gpg prints it.
func (s *Signer) Fingerprint() string { return Format(s.e.PrimaryKey.Fingerprint) }

// Format writes a fingerprint in groups of four hex digits, as gpg does.
func Format(fpr []byte) string {
	h := fmt.Sprintf("%X", fpr)
	var b strings.Builder
	for i := 0; i < len(h); i += 4 {
		if i > 0 {
			b.WriteByte(' ')
			if i == len(h)/2 {
				b.WriteByte(' ')
			}
		}
		b.WriteString(h[i:min(i+4, len(h))])
	}
	return b.String()
}

// A Verifier checks signatures against one public key.
type Verifier struct {
	keys openpgp.EntityList
}

// ParseVerifier reads one armored OpenPGP public key.
func ParseVerifier(armored []byte) (*Verifier, error) {
	el, err := openpgp.ReadArmoredKeyRing(bytes.NewReader(armored))
	if err != nil {
		return nil, fmt.Errorf("signing: not an armored OpenPGP public key: %w", err)
	}
	if len(el) != 1 {
		return nil, fmt.Errorf("signing: want one public key, found %d", len(el))
	}
	if el[0].PrivateKey != nil {
		return nil, errors.New("signing: a secret key was given; pass the public key (public.asc)")
	}
	return &Verifier{keys: el}, nil
}

// Fingerprint is the verifier's key's fingerprint as gpg prints it.
func (v *Verifier) Fingerprint() string { return Format(v.keys[0].PrimaryKey.Fingerprint) }

// Verify checks sig, an armored or binary detached signature, over msg.
func (v *Verifier) Verify(msg, sig []byte) error {
	body := io.Reader(bytes.NewReader(sig))
	if blk, err := armor.Decode(bytes.NewReader(sig)); err == nil {
		if blk.Type != openpgp.SignatureType {
			return fmt.Errorf("%w (armor type %q)", ErrNoSignature, blk.Type)
		}
		body = blk.Body
	}
	raw, err := io.ReadAll(io.LimitReader(body, 64<<10))
	if err != nil {
		return fmt.Errorf("%w: %v", ErrNoSignature, err)
	}
	p, err := packet.NewReader(bytes.NewReader(raw)).Next()
	ps, ok := p.(*packet.Signature)
	if err != nil || !ok {
		return ErrNoSignature
	}
	_, _, err = openpgp.VerifyDetachedSignature(v.keys, bytes.NewReader(msg), bytes.NewReader(raw), nil)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, pgperrors.ErrUnknownIssuer):
		return fmt.Errorf("%w: made by %s, expected %s", ErrOtherKey, issuer(ps), v.Fingerprint())
	case errors.Is(err, pgperrors.ErrKeyExpired), errors.Is(err, pgperrors.ErrKeyRevoked), errors.Is(err, pgperrors.ErrSignatureExpired):
		return fmt.Errorf("%w: %v", ErrKeyInvalid, err)
	}
	var se pgperrors.SignatureError
	if errors.As(err, &se) {
		return ErrBadSignature
	}
	var st pgperrors.StructuralError
	if errors.As(err, &st) {
		return fmt.Errorf("%w: %v", ErrNoSignature, err)
	}
	return ErrBadSignature
}

// issuer names the key a signature claims to come from.
func issuer(s *packet.Signature) string {
	switch {
	case len(s.IssuerFingerprint) > 0:
		return Format(s.IssuerFingerprint)
	case s.IssuerKeyId != nil:
		return fmt.Sprintf("key ID %016X", *s.IssuerKeyId)
	}
	return "an unnamed key"
}

// FromFile reads a verifier from an armored public key file.
func FromFile(path string) (*Verifier, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return ParseVerifier(b)
}
