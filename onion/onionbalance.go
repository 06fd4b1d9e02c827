package onion

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha3"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// obConfigFile is the file in a HiddenServiceDir from which tor, with
// HiddenServiceOnionbalanceInstance 1, reads the master address.
const obConfigFile = "ob_config"

// CheckAddress validates a v3 onion address (56 base32 characters, with or
// without ".onion", any case): its version byte and its checksum. It
// returns the address as "<56 lower-case chars>.onion".
func CheckAddress(s string) (string, error) {
	id := strings.TrimSuffix(strings.ToLower(strings.TrimSpace(s)), ".onion")
	if len(id) != 56 {
		return "", fmt.Errorf("onion address %q: want 56 base32 characters before .onion, have %d", s, len(id))
	}
	raw, err := b32.DecodeString(strings.ToUpper(id))
	if err != nil || len(raw) != 35 {
		return "", fmt.Errorf("onion address %q: not base32", s)
	}
	pub, sum, version := raw[:32], raw[32:34], raw[34]
	if version != 3 {
		return "", fmt.Errorf("onion address %q: version %d, want 3", s, version)
	}
	want := sha3.Sum256(append(append([]byte(".onion checksum"), pub...), version))
	if sum[0] != want[0] || sum[1] != want[1] {
		return "", fmt.Errorf("onion address %q: checksum does not match (a typo?)", s)
	}
	return id + ".onion", nil
}

// writeOBConfig makes hsDir's ob_config name master, or removes it when
// master is empty: tor then runs the onion as an Onionbalance instance of
// master (with HiddenServiceOnionbalanceInstance 1 in the torrc).
func writeOBConfig(hsDir, master string) error {
	path := filepath.Join(hsDir, obConfigFile)
	if master == "" {
		if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("onionbalance config: %w", err)
		}
		return nil
	}
	if err := writeFileAtomic(path, []byte("MasterOnionAddress "+master+"\n")); err != nil {
		return fmt.Errorf("onionbalance config: %w", err)
	}
	return nil
}

// NewMasterKey makes the key of an Onionbalance master onion, in the PEM
// form Onionbalance reads (PKCS #8 ed25519), and returns it with the
// master's address. The key belongs on the Onionbalance machine only; the
// front-ends need just the address.
func NewMasterKey() (pemKey []byte, addr string, err error) {
	seed := make([]byte, ed25519.SeedSize)
	rand.Read(seed)
	der, err := x509.MarshalPKCS8PrivateKey(ed25519.NewKeyFromSeed(seed))
	if err != nil {
		return nil, "", fmt.Errorf("master key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), onionAddr(seed), nil
}

// MasterAddress reads a master key written by [NewMasterKey] and returns
// its onion address.
func MasterAddress(pemKey []byte) (string, error) {
	b, _ := pem.Decode(pemKey)
	if b == nil || b.Type != "PRIVATE KEY" {
		return "", errors.New("master key: not a PEM \"PRIVATE KEY\"")
	}
	k, err := x509.ParsePKCS8PrivateKey(b.Bytes)
	if err != nil {
		return "", fmt.Errorf("master key: %w", err)
	}
	priv, ok := k.(ed25519.PrivateKey)
	if !ok {
		return "", errors.New("master key: not an ed25519 key")
	}
	return onionAddr(priv.Seed()), nil
}
