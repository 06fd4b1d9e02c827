package notify

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/armor"
	"github.com/ProtonMail/go-crypto/openpgp/packet"

	"cleandrop/drop/notify/notifytest"
)

func TestParseKeyGPG(t *testing.T) {
	g := notifytest.NewGPG(t)
	good := g.GenKey("good@example.org", "future-default", "default", "never")
	signOnly := g.GenKey("sign@example.org", "ed25519", "sign", "never")
	expired := g.GenKey("expired@example.org", "future-default", "default", "1d",
		"--faked-system-time", "20200101T000000")
	revoked := g.GenKey("revoked@example.org", "future-default", "default", "never")
	g.Revoke(revoked)
	subExpired := g.GenKey("subexp@example.org", "ed25519", "sign", "never")
	g.Run(nil, "--quick-add-key", subExpired, "cv25519", "encr", "seconds=1")
	time.Sleep(2100 * time.Millisecond) // let the one-second subkey expire

	both := g.ExportPublic(good, expired) // one armor block, two keys
	tests := []struct {
		name    string
		armored string
		want    error // nil: accepted
	}{
		{"good cv25519", g.ExportPublic(good), nil},
		{"empty", "", ErrNoKey},
		{"garbage", "this is not a key\n", ErrNoKey},
		{"armor around junk", "-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nAAAA\n-----END PGP PUBLIC KEY BLOCK-----\n", ErrNoKey},
		{"two keys", both, ErrNoKey},
		{"secret key", g.ExportSecret(good), ErrSecretKey},
		{"signing only", g.ExportPublic(signOnly), ErrCannotEncrypt},
		{"expired", g.ExportPublic(expired), ErrExpired},
		{"revoked", g.ExportPublic(revoked), ErrRevoked},
		{"encryption subkey expired", g.ExportPublic(subExpired), ErrExpired},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			el, err := ParseKey(tt.armored)
			if tt.want == nil {
				if err != nil {
					t.Fatalf("ParseKey: %v", err)
				}
				if len(el) != 1 {
					t.Fatalf("got %d entities", len(el))
				}
				return
			}
			if !errors.Is(err, tt.want) {
				t.Fatalf("ParseKey error = %v, want %v", err, tt.want)
			}
			if el != nil {
				t.Fatal("refused key still returned")
			}
			if !strings.HasPrefix(err.Error(), "parse key: ") {
				t.Errorf("error %q lacks context", err)
			}
			t.Logf("refused: %v", err)
		})
	}
}

// goKey makes a public key with go-crypto, armored, for tests that do not
// need gpg.
func goKey(t testing.TB, algo packet.PublicKeyAlgorithm) string {
	t.Helper()
	cfg := &packet.Config{Algorithm: algo, RSABits: 2048}
	e, err := openpgp.NewEntity("Test Officer", "", "officer@example.org", cfg)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	w, err := armor.Encode(&buf, openpgp.PublicKeyType, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Serialize(w); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.String()
}

func FuzzParseKey(f *testing.F) {
	f.Add("")
	f.Add("not a key")
	f.Add("-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nmQENBF\n=abcd\n-----END PGP PUBLIC KEY BLOCK-----\n")
	f.Add(goKey(f, packet.PubKeyAlgoEdDSA))
	f.Fuzz(func(t *testing.T, s string) {
		el, err := ParseKey(s)
		if err != nil {
			return
		}
		if len(el) != 1 {
			t.Fatalf("accepted %d entities", len(el))
		}
		if _, ok := el[0].EncryptionKey(time.Now()); !ok {
			t.Fatal("accepted a key that cannot encrypt")
		}
		if el[0].PrivateKey != nil {
			t.Fatal("accepted a secret key")
		}
	})
}
