package onion

import (
	"bytes"
	"crypto/ed25519"
	"crypto/x509"
	"encoding/pem"
	"strings"
	"testing"

	"github.com/cretz/bine/torutil"
	bed25519 "github.com/cretz/bine/torutil/ed25519"
)

func TestCheckAddress(t *testing.T) {
	good := onionAddr(bytes.Repeat([]byte{7}, 32))
	id := strings.TrimSuffix(good, ".onion")
	// A one-letter typo in the key part, and one in the checksum part.
	typo := func(i int) string {
		c := byte('a')
		if id[i] == 'a' {
			c = 'b'
		}
		return id[:i] + string(c) + id[i+1:]
	}
	v2 := b32.EncodeToString(append(make([]byte, 34), 2))
	for _, c := range []struct {
		name, in string
		ok       bool
	}{
		{"with .onion", good, true},
		{"without .onion", id, true},
		{"upper case", strings.ToUpper(good), true},
		{"spaces around", "  " + good + "\n", true},
		{"typo in the key", typo(10), false},
		{"typo in the checksum", typo(53), false},
		{"short", id[:55], false},
		{"long", id + "a", false},
		{"not base32", "1" + id[1:], false},
		{"version 2", strings.ToLower(v2), false},
		{"v2 address", "expyuzz4wqqyqhjn.onion", false},
		{"empty", "", false},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := CheckAddress(c.in)
			if (err == nil) != c.ok {
				t.Fatalf("CheckAddress(%q) error %v, want ok %v", c.in, err, c.ok)
			}
			if c.ok && got != good {
				t.Fatalf("CheckAddress(%q) = %q, want %q", c.in, got, good)
			}
		})
	}
}

// TestMasterKey checks that the master key is a PKCS #8 ed25519 key whose
// address bine derives the same way.
func TestMasterKey(t *testing.T) {
	key, addr, err := NewMasterKey()
	if err != nil {
		t.Fatal(err)
	}
	got, err := MasterAddress(key)
	if err != nil || got != addr {
		t.Fatalf("MasterAddress = %q, %v; want %q", got, err, addr)
	}
	b, _ := pem.Decode(key)
	k, err := x509.ParsePKCS8PrivateKey(b.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	want := torutil.OnionServiceIDFromPrivateKey(bed25519.FromCryptoPrivateKey(k.(ed25519.PrivateKey))) + ".onion"
	if addr != want {
		t.Fatalf("master address %s, bine says %s", addr, want)
	}
	if _, err := CheckAddress(addr); err != nil {
		t.Fatal(err)
	}
	other, _, _ := NewMasterKey()
	if a, _ := MasterAddress(other); a == addr {
		t.Fatal("two master keys have one address")
	}
	for _, bad := range [][]byte{nil, []byte("not pem"), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: []byte{1, 2, 3}})} {
		if _, err := MasterAddress(bad); err == nil {
			t.Fatalf("MasterAddress(%q) took a bad key", bad)
		}
	}
}
