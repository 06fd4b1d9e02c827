package onion

import (
	"bytes"
	"crypto/ecdh"
	"crypto/ed25519"
	"os"
	"strings"
	"testing"

	"github.com/cretz/bine/torutil"
	bed25519 "github.com/cretz/bine/torutil/ed25519"
)

// TestKeyDerivation checks our onion address and tor key file against
// bine's independent implementation.
func TestKeyDerivation(t *testing.T) {
	for _, seed := range [][]byte{
		bytes.Repeat([]byte{0}, 32),
		bytes.Repeat([]byte{0xff}, 32),
		[]byte("0123456789abcdef0123456789abcdef"),
	} {
		k := bed25519.FromCryptoPrivateKey(ed25519.NewKeyFromSeed(seed))
		want := torutil.OnionServiceIDFromPrivateKey(k) + ".onion"
		if got := onionAddr(seed); got != want {
			t.Errorf("onionAddr = %s, bine says %s", got, want)
		}
		file := torSecretKeyFile(seed)
		if len(file) != 96 || !bytes.Equal(file[32:], k.PrivateKey()) {
			t.Errorf("tor key file body differs from bine's expanded key")
		}
	}
}

func TestClientKeys(t *testing.T) {
	pub, priv, err := NewClientKey()
	if err != nil {
		t.Fatal(err)
	}
	if len(pub) != 52 || len(priv) != 52 {
		t.Fatalf("key lengths %d, %d; want 52 base32 chars", len(pub), len(priv))
	}
	raw, err := decodeX25519(priv)
	if err != nil {
		t.Fatal(err)
	}
	k, err := ecdh.X25519().NewPrivateKey(raw)
	if err != nil {
		t.Fatal(err)
	}
	if b32.EncodeToString(k.PublicKey().Bytes()) != pub {
		t.Fatal("public key does not belong to the private key")
	}
	addr := onionAddr(make([]byte, 32))
	line := ClientAuthLine(addr, priv)
	if want := strings.TrimSuffix(addr, ".onion") + ":descriptor:x25519:" + priv; line != want {
		t.Fatalf("ClientAuthLine = %q, want %q", line, want)
	}
	if ClientAuthLine(strings.TrimSuffix(addr, ".onion"), priv) != line {
		t.Fatal("ClientAuthLine depends on the .onion suffix")
	}
}

func TestClientKeyCheck(t *testing.T) {
	pub, _, _ := NewClientKey()
	for _, c := range []struct {
		name string
		key  ClientKey
		ok   bool
	}{
		{"good", ClientKey{"officer_1-a", pub}, true},
		{"lower case key", ClientKey{"a", strings.ToLower(pub)}, true},
		{"empty name", ClientKey{"", pub}, false},
		{"path", ClientKey{"../a", pub}, false},
		{"dot", ClientKey{"a.b", pub}, false},
		{"space", ClientKey{"a b", pub}, false},
		{"long name", ClientKey{strings.Repeat("a", 65), pub}, false},
		{"short key", ClientKey{"a", pub[:50]}, false},
		{"not base32", ClientKey{"a", strings.Repeat("1", 52)}, false},
		{"newline", ClientKey{"a", pub + "\ndescriptor:x25519:" + pub}, false},
		// Go's base32 decoder skips line breaks: a key split over two lines
		// decodes to 32 bytes, but would be written as two lines.
		{"split over lines", ClientKey{"a", pub[:32] + "\n" + pub[32:]}, false},
		{"split over lines, CRLF", ClientKey{"a", pub[:10] + "\r\n" + pub[10:]}, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			if err := c.key.check(); (err == nil) != c.ok {
				t.Fatalf("check = %v, want ok %v", err, c.ok)
			}
		})
	}
}

// FuzzClientKey: whatever an administrator passes, a key that passes the
// check writes exactly one well-formed authorized_clients line.
func FuzzClientKey(f *testing.F) {
	pub, _, _ := NewClientKey()
	f.Add("officer", pub)
	f.Add("a", " "+pub+"\n")
	f.Add("../../x", "AAAA")
	f.Fuzz(func(t *testing.T, name, public string) {
		k := ClientKey{name, public}
		if k.check() != nil {
			return
		}
		dir := t.TempDir()
		if err := writeClients(dir, []ClientKey{k}); err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(dir + "/authorized_clients/" + name + ".auth")
		if err != nil {
			t.Fatal(err)
		}
		s := string(b)
		if !strings.HasPrefix(s, "descriptor:x25519:") || strings.Count(s, "\n") != 1 || len(s) != len("descriptor:x25519:")+52+1 {
			t.Fatalf("bad line %q", s)
		}
	})
}
