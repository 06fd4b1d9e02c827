package receipt

import (
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"filippo.io/age"
	"golang.org/x/crypto/argon2"
	"golang.org/x/crypto/chacha20poly1305"
)

// Params are the argon2id cost parameters of one derivation.
type Params struct {
	Time    uint32
	Memory  uint32 // KiB
	Threads uint8
}

// DefaultParams costs about 40 ms and 64 MiB on a two-core server.
var DefaultParams = Params{Time: 1, Memory: 64 * 1024, Threads: 2}

// String is the form recorded beside a case: "argon2id;t=1;m=65536;p=2".
func (p Params) String() string {
	return fmt.Sprintf("argon2id;t=%d;m=%d;p=%d", p.Time, p.Memory, p.Threads)
}

// ParseParams reads what [Params.String] wrote.
func ParseParams(s string) (Params, error) {
	var p Params
	parts := strings.Split(s, ";")
	if len(parts) != 4 || parts[0] != "argon2id" {
		return p, fmt.Errorf("kdf params %q: not argon2id", s)
	}
	for _, kv := range parts[1:] {
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			return p, fmt.Errorf("kdf params %q: malformed", s)
		}
		n, err := strconv.ParseUint(v, 10, 32)
		if err != nil || n == 0 {
			return p, fmt.Errorf("kdf params %q: bad %s", s, k)
		}
		switch k {
		case "t":
			p.Time = uint32(n)
		case "m":
			p.Memory = uint32(n)
		case "p":
			if n > 255 {
				return p, fmt.Errorf("kdf params %q: bad p", s)
			}
			p.Threads = uint8(n)
		default:
			return p, fmt.Errorf("kdf params %q: unknown %s", s, k)
		}
	}
	if p.Time == 0 || p.Memory < 8*1024 || p.Threads == 0 {
		return p, fmt.Errorf("kdf params %q: too weak", s)
	}
	return p, nil
}

// Keys are what one derivation yields.
type Keys struct {
	Lookup []byte // index of the case; stored
	wrap   []byte // seals the reply identity; never stored
}

// PepperSize is the length of the instance pepper.
const PepperSize = 32

// Derive runs argon2id on a normalised receipt salted with the instance
// pepper and splits the result into a lookup key and a wrapping key.
func Derive(normalized string, pepper []byte, p Params) (Keys, error) {
	if len(pepper) != PepperSize {
		return Keys{}, errors.New("derive: pepper must be 32 bytes")
	}
	master := argon2.IDKey([]byte(normalized), pepper, p.Time, p.Memory, p.Threads, 32)
	lookup, err := hkdf.Expand(sha256.New, master, "cleandrop receipt lookup v1", 32)
	if err != nil {
		return Keys{}, fmt.Errorf("derive lookup: %w", err)
	}
	wrap, err := hkdf.Expand(sha256.New, master, "cleandrop receipt wrap v1", chacha20poly1305.KeySize)
	if err != nil {
		return Keys{}, fmt.Errorf("derive wrap: %w", err)
	}
	clear(master)
	return Keys{Lookup: lookup, wrap: wrap}, nil
}

// NewPepper returns a fresh instance pepper.
func NewPepper() []byte {
	b := make([]byte, PepperSize)
	rand.Read(b)
	return b
}

// ReplyKey is the case's reply identity: officers seal questions to its
// public half; only the receipt unwraps its secret half.
type ReplyKey struct {
	Identity  age.Identity
	Recipient string
	secret    string
}

// NewReplyKey makes a reply key of the kind the agency uses: hybrid
// post-quantum when pq is set (age refuses to mix kinds in one file),
// X25519 otherwise.
func NewReplyKey(pq bool) (*ReplyKey, error) {
	if pq {
		id, err := age.GenerateHybridIdentity()
		if err != nil {
			return nil, fmt.Errorf("reply key: %w", err)
		}
		return &ReplyKey{Identity: id, Recipient: id.Recipient().String(), secret: id.String()}, nil
	}
	id, err := age.GenerateX25519Identity()
	if err != nil {
		return nil, fmt.Errorf("reply key: %w", err)
	}
	return &ReplyKey{Identity: id, Recipient: id.Recipient().String(), secret: id.String()}, nil
}

const wrapAD = "cleandrop reply key v1"

// Wrap seals the reply key's secret under the receipt's wrapping key.
func (k Keys) Wrap(r *ReplyKey) ([]byte, error) {
	aead, err := chacha20poly1305.NewX(k.wrap)
	if err != nil {
		return nil, fmt.Errorf("wrap reply key: %w", err)
	}
	nonce := make([]byte, aead.NonceSize(), aead.NonceSize()+len(r.secret)+aead.Overhead())
	rand.Read(nonce)
	return aead.Seal(nonce, nonce, []byte(r.secret), []byte(wrapAD)), nil
}

// ErrUnwrap means the receipt does not open this case's reply key.
var ErrUnwrap = errors.New("reply key does not open with this receipt")

// Unwrap opens what [Keys.Wrap] sealed.
func (k Keys) Unwrap(wrapped []byte) (*ReplyKey, error) {
	aead, err := chacha20poly1305.NewX(k.wrap)
	if err != nil {
		return nil, fmt.Errorf("unwrap reply key: %w", err)
	}
	if len(wrapped) < aead.NonceSize()+aead.Overhead() {
		return nil, ErrUnwrap
	}
	secret, err := aead.Open(nil, wrapped[:aead.NonceSize()], wrapped[aead.NonceSize():], []byte(wrapAD))
	if err != nil {
		return nil, ErrUnwrap
	}
	s := string(secret)
	clear(secret)
	id, err := ParseReplyIdentity(s)
	if err != nil {
		return nil, ErrUnwrap
	}
	var recipient string
	switch id := id.(type) {
	case *age.HybridIdentity:
		recipient = id.Recipient().String()
	case *age.X25519Identity:
		recipient = id.Recipient().String()
	}
	return &ReplyKey{Identity: id, Recipient: recipient, secret: s}, nil
}

// ParseReplyIdentity reads a reply identity as its String method writes
// it: hybrid post-quantum (AGE-SECRET-KEY-PQ-1…) or X25519.
func ParseReplyIdentity(s string) (age.Identity, error) {
	if strings.HasPrefix(s, "AGE-SECRET-KEY-PQ-") {
		return age.ParseHybridIdentity(s)
	}
	return age.ParseX25519Identity(s)
}
