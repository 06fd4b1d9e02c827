package onion

import (
	"crypto/ecdh"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha3"
	"crypto/sha512"
	"encoding/base32"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
)

// Names of the files Start keeps in Config.Dir.
const (
	sourceKeyFile = "source.key" // 32-byte ed25519 seed of the source onion
	deskKeyFile   = "desk.key"   // 32-byte ed25519 seed of the officer onion
)

// b32 is the base32 alphabet tor uses for onion addresses and x25519 keys.
var b32 = base32.StdEncoding.WithPadding(base32.NoPadding)

// Addrs are the two onion addresses of a Dir, each "<56 chars>.onion".
type Addrs struct {
	Source string
	Desk   string
}

// Addresses reads the onion addresses from the key files in dir without
// starting tor or writing anything. An address whose key was not made yet is
// empty.
func Addresses(dir string) (Addrs, error) {
	var a Addrs
	for _, k := range []struct {
		file string
		addr *string
	}{{sourceKeyFile, &a.Source}, {deskKeyFile, &a.Desk}} {
		seed, err := readSeed(filepath.Join(dir, k.file))
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return Addrs{}, err
		}
		*k.addr = onionAddr(seed)
	}
	return a, nil
}

// Init makes dir (0700) and both onion keys (0600) if they are missing and
// returns the addresses. Start calls it; an administrator can call it first
// to learn the officer onion's address before any officer is authorized.
func Init(dir string) (Addrs, error) {
	if err := makeDir(dir); err != nil {
		return Addrs{}, err
	}
	var a Addrs
	for _, k := range []struct {
		file string
		addr *string
	}{{sourceKeyFile, &a.Source}, {deskKeyFile, &a.Desk}} {
		seed, err := loadOrMakeSeed(filepath.Join(dir, k.file))
		if err != nil {
			return Addrs{}, err
		}
		*k.addr = onionAddr(seed)
	}
	return a, nil
}

// makeDir creates dir 0700, or tightens an existing one to 0700.
func makeDir(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("make onion dir: %w", err)
	}
	if err := os.Chmod(dir, 0o700); err != nil {
		return fmt.Errorf("make onion dir: %w", err)
	}
	return nil
}

func readSeed(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read onion key: %w", err)
	}
	if len(b) != ed25519.SeedSize {
		return nil, fmt.Errorf("read onion key %s: want %d bytes, have %d", filepath.Base(path), ed25519.SeedSize, len(b))
	}
	return b, nil
}

// loadOrMakeSeed reads the seed at path or, if there is none, writes a new
// random one (0600, written to a temporary name, synced, then renamed, so a
// crash never leaves half a key).
func loadOrMakeSeed(path string) ([]byte, error) {
	seed, err := readSeed(path)
	if err == nil || !errors.Is(err, fs.ErrNotExist) {
		return seed, err
	}
	seed = make([]byte, ed25519.SeedSize)
	rand.Read(seed)
	if err := writeFileAtomic(path, seed); err != nil {
		return nil, fmt.Errorf("write onion key: %w", err)
	}
	return seed, nil
}

// writeFileAtomic writes b to path with mode 0600 through a synced temporary
// file in the same directory.
func writeFileAtomic(path string, b []byte) error {
	f, err := os.CreateTemp(filepath.Dir(path), ".tmp-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer os.Remove(tmp) // no-op after the rename
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return err
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		return err
	}
	if d, err := os.Open(filepath.Dir(path)); err == nil {
		d.Sync()
		d.Close()
	}
	return nil
}

// onionAddr is the v3 onion address of the ed25519 key with this seed:
// base32(pubkey | checksum[:2] | 0x03) + ".onion", where checksum is
// SHA3-256(".onion checksum" | pubkey | 0x03) (rend-spec-v3, 6).
func onionAddr(seed []byte) string {
	pub := ed25519.NewKeyFromSeed(seed).Public().(ed25519.PublicKey)
	const version = 3
	sum := sha3.Sum256(append(append([]byte(".onion checksum"), pub...), version))
	id := append(append(append([]byte{}, pub...), sum[:2]...), version)
	return strings.ToLower(b32.EncodeToString(id)) + ".onion"
}

// torSecretKeyFile is the content of tor's hs_ed25519_secret_key for seed: a
// 32-byte header and the 64-byte expanded secret key (the clamped scalar and
// the hash prefix, both halves of SHA-512(seed)).
func torSecretKeyFile(seed []byte) []byte {
	h := sha512.Sum512(seed)
	h[0] &= 248
	h[31] &= 127
	h[31] |= 64
	return append([]byte("== ed25519v1-secret: type0 ==\x00\x00\x00"), h[:]...)
}

// ClientKey is an officer authorized on the officer onion.
type ClientKey struct {
	Name   string // file name stem in authorized_clients: letters, digits, '-' and '_'
	Public string // base32 x25519 public key, as NewClientKey returns it
}

var clientName = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

// check reports whether k can be written as tor's authorized_clients entry.
func (k ClientKey) check() error {
	if !clientName.MatchString(k.Name) {
		return fmt.Errorf("client name %q: want 1-64 letters, digits, '-' or '_'", k.Name)
	}
	if _, err := decodeX25519(k.Public); err != nil {
		return fmt.Errorf("client %s: public key: %w", k.Name, err)
	}
	return nil
}

// decodeX25519 decodes a base32 key (upper or lower case, surrounding
// space trimmed). It takes only the key's one canonical form: Go's base32
// decoder skips line breaks inside its input, so a key split over lines
// would otherwise pass and be written to tor as two lines.
func decodeX25519(s string) ([]byte, error) {
	s = strings.ToUpper(strings.TrimSpace(s))
	b, err := b32.DecodeString(s)
	if err != nil {
		return nil, errors.New("not base32")
	}
	if len(b) != 32 {
		return nil, fmt.Errorf("want 32 bytes, have %d", len(b))
	}
	if b32.EncodeToString(b) != s {
		return nil, errors.New("not one line of base32")
	}
	return b, nil
}

// NewClientKey makes an x25519 key pair for v3 client authorization. public
// goes into a [ClientKey]; private stays with the officer, who gives Tor
// Browser the line [ClientAuthLine] builds from it.
func NewClientKey() (public, private string, err error) {
	k, err := ecdh.X25519().GenerateKey(rand.Reader)
	if err != nil {
		return "", "", fmt.Errorf("make client key: %w", err)
	}
	return b32.EncodeToString(k.PublicKey().Bytes()), b32.EncodeToString(k.Bytes()), nil
}

// ClientAuthLine is the officer's side of client authorization for the onion
// at onionAddr ("xxx.onion" or just "xxx"): the body of a ClientOnionAuthDir
// "<name>.auth_private" file, "<56 chars>:descriptor:x25519:<base32 private>".
// Tor Browser asks for the part after the last colon.
func ClientAuthLine(onionAddr, private string) string {
	return strings.TrimSuffix(strings.ToLower(onionAddr), ".onion") + ":descriptor:x25519:" + private
}
