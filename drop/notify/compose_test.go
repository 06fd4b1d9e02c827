package notify

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math"
	"mime"
	"mime/multipart"
	"net/mail"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp/packet"

	"cleandrop/drop/notify/notifytest"
	"cleandrop/drop/web"
)

const testName = "Ada Lovelace-Officer"

// TestDigestEndToEnd composes two digests with different counts, sends them
// over a real SMTP conversation (STARTTLS, AUTH PLAIN) on 127.0.0.1, and
// decrypts what arrived with gpg.
func TestDigestEndToEnd(t *testing.T) {
	for _, algo := range []string{"rsa3072", "future-default"} {
		t.Run(algo, func(t *testing.T) {
			g := notifytest.NewGPG(t)
			addr := "officer-" + strings.ReplaceAll(algo, "-", "") + "@example.org"
			start := time.Now()
			fpr := g.GenKey(addr, algo, "default", "never")
			if algo == "rsa3072" {
				// Like gpg --gen-key: an RSA primary key plus an RSA
				// encryption subkey (quick-gen-key alone makes sign+cert).
				g.Run(nil, "--quick-add-key", fpr, "rsa3072", "encr", "never")
			}
			t.Logf("gpg key generation (%s): %v", algo, time.Since(start).Round(time.Millisecond))
			key, err := ParseKey(g.ExportPublic(fpr))
			if err != nil {
				t.Fatal(err)
			}
			srvTLS, cliTLS := testCerts(t)
			srv := notifytest.StartServer(t, srvTLS, false)
			acct := SMTP{Addr: srv.Addr(), From: "digest@drop.example", Username: "drop", Password: "s3cret",
				TLS: TLSStart, TLSConfig: cliTLS, Timeout: 10 * time.Second}

			berlin := mustLoc(t, "Europe/Berlin")
			at := time.Date(2026, 11, 26, 7, 23, 45, 0, berlin) // rounded down to 07:00
			r := Recipient{Name: testName, Address: addr, Key: key, Words: words(t, "en")}
			counts := []Counts{{0, 0, 0}, {57, 3, 12}}
			var sent [][]byte
			for _, c := range counts {
				start := time.Now()
				msg, err := Compose(r, c, "cleandrop <digest@drop.example>", at)
				if err != nil {
					t.Fatal(err)
				}
				t.Logf("Compose %+v: %d bytes in %v", c, len(msg), time.Since(start).Round(time.Microsecond))
				if err := acct.Send(context.Background(), addr, msg); err != nil {
					t.Fatal(err)
				}
				sent = append(sent, msg)
			}

			got := srv.Mail()
			if len(got) != 2 {
				t.Fatalf("server received %d messages, want 2", len(got))
			}
			if len(got[0].Data) != len(got[1].Data) {
				t.Errorf("sizes differ: %d vs %d bytes", len(got[0].Data), len(got[1].Data))
			}
			var msgIDs []string
			for i, m := range got {
				if !bytes.Equal(m.Data, sent[i]) {
					t.Errorf("message %d changed in transit", i)
				}
				if !m.TLS || m.Auth != "drop:s3cret" || m.From != "digest@drop.example" ||
					len(m.To) != 1 || m.To[0] != addr {
					t.Errorf("envelope %d: TLS=%v auth=%q from=%q to=%q", i, m.TLS, m.Auth, m.From, m.To)
				}
				hdr, armored := checkClear(t, m.Data, counts[i])
				msgIDs = append(msgIDs, hdr.Get("Message-Id"))
				if want := "Thu, 26 Nov 2026 06:00:00 +0000"; hdr.Get("Date") != want {
					t.Errorf("Date = %q, want %q", hdr.Get("Date"), want)
				}
				if hdr.Get("To") != "<"+addr+">" {
					t.Errorf("To = %q, want the bare address", hdr.Get("To"))
				}

				start := time.Now()
				plain := g.Decrypt(armored)
				t.Logf("gpg --decrypt: %v", time.Since(start).Round(time.Millisecond))
				if len(plain) != PlaintextSize {
					t.Errorf("plaintext is %d bytes, want %d", len(plain), PlaintextSize)
				}
				inner, err := mail.ReadMessage(bytes.NewReader(plain))
				if err != nil {
					t.Fatalf("inner entity: %v", err)
				}
				if ct := inner.Header.Get("Content-Type"); ct != "text/plain; charset=utf-8" {
					t.Errorf("inner Content-Type = %q", ct)
				}
				body, _ := io.ReadAll(inner.Body)
				c := counts[i]
				for _, want := range []string{
					"Hello " + testName + ",",
					fmt.Sprintf("  %d new cases\r\n", c.New),
					fmt.Sprintf("  %d overdue\r\n", c.Overdue),
					fmt.Sprintf("  %d unread reporter messages\r\n", c.Unread),
				} {
					if !bytes.Contains(body, []byte(want)) {
						t.Errorf("decrypted body lacks %q:\n%s", want, body)
					}
				}
			}
			if msgIDs[0] == msgIDs[1] || !regexp.MustCompile(`^<[0-9a-f]{32}@drop\.example>$`).MatchString(msgIDs[0]) {
				t.Errorf("Message-IDs %q", msgIDs)
			}
		})
	}
}

// checkClear checks everything outside the armored ciphertext: headers,
// MIME structure and the text around it. It returns the headers and the
// armored block.
func checkClear(t *testing.T, raw []byte, c Counts) (mail.Header, []byte) {
	t.Helper()
	m, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	if s := m.Header.Get("Subject"); s != Subject {
		t.Errorf("Subject = %q", s)
	}
	mt, params, err := mime.ParseMediaType(m.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/encrypted" || params["protocol"] != "application/pgp-encrypted" {
		t.Fatalf("Content-Type %q: %v", m.Header.Get("Content-Type"), err)
	}
	mr := multipart.NewReader(m.Body, params["boundary"])
	var parts [][]byte
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(p)
		parts = append(parts, b)
	}
	if len(parts) != 2 || strings.TrimSpace(string(parts[0])) != "Version: 1" {
		t.Fatalf("PGP/MIME parts: %q", parts)
	}
	armored := parts[1]
	// The clear text is the message minus the base64 lines of the armor.
	lines := strings.Split(string(raw), "\r\n")
	var clearText []string
	inArmor := false
	for _, l := range lines {
		switch {
		case l == "-----BEGIN PGP MESSAGE-----":
			inArmor = true
		case l == "-----END PGP MESSAGE-----":
			inArmor = false
		case inArmor:
			if l != "" && !regexp.MustCompile(`^=?[A-Za-z0-9+/=]+$`).MatchString(l) {
				t.Errorf("armor line is not base64: %q", l)
			}
			continue
		}
		clearText = append(clearText, l)
	}
	ct := strings.Join(clearText, "\n")
	for _, leak := range []string{"Lovelace", "new cases", "overdue", "unread", "Hello"} {
		if strings.Contains(string(raw), leak) {
			t.Errorf("raw message contains %q", leak)
		}
	}
	for _, n := range []int{c.New, c.Overdue, c.Unread} {
		if n != 0 && regexp.MustCompile(fmt.Sprintf(`\b%d\b`, n)).MatchString(ct) {
			t.Errorf("count %d appears in clear text:\n%s", n, ct)
		}
	}
	return m.Header, armored
}

// TestComposeFixedSize composes many digests with random counts and names of
// the same recipient: every message has the same length. With RSA about one
// session-key packet in 256 is a byte short by chance, so 300 tries would
// almost surely catch a missing re-draw.
func TestComposeFixedSize(t *testing.T) {
	tests := []struct {
		name  string
		algo  packet.PublicKeyAlgorithm
		tries int
	}{
		{"rsa2048", packet.PubKeyAlgoRSA, 300},
		{"ed25519+cv25519", packet.PubKeyAlgoEdDSA, 50},
	}
	at := time.Date(2026, 1, 2, 7, 0, 0, 0, time.UTC)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			key, err := ParseKey(goKey(t, tt.algo))
			if err != nil {
				t.Fatal(err)
			}
			r := Recipient{Name: "X", Address: "o@example.org", Key: key, Words: words(t, "en")}
			size := -1
			start := time.Now()
			for i := range tt.tries {
				c := Counts{i * 7919 % 100000, i % 10, i * i}
				if i == 0 {
					c = Counts{math.MaxInt, math.MaxInt, math.MaxInt}
				}
				r.Name = strings.Repeat("ä", i%80) // 0 to 79 runes, cut at 64
				msg, err := Compose(r, c, "digest@drop.example", at.AddDate(0, 0, i))
				if err != nil {
					t.Fatal(err)
				}
				if size < 0 {
					size = len(msg)
				}
				if len(msg) != size {
					t.Fatalf("try %d (%+v): %d bytes, want %d", i, c, len(msg), size)
				}
			}
			t.Logf("%d digests of %d bytes, %v each", tt.tries, size, (time.Since(start) / time.Duration(tt.tries)).Round(time.Microsecond))
		})
	}
}

func TestComposeRefuses(t *testing.T) {
	key, err := ParseKey(goKey(t, packet.PubKeyAlgoEdDSA))
	if err != nil {
		t.Fatal(err)
	}
	at := time.Now()
	tests := []struct {
		name string
		r    Recipient
		c    Counts
		from string
	}{
		{"negative count", Recipient{Address: "o@example.org", Key: key, Words: words(t, "en")}, Counts{New: -1}, "d@example.org"},
		{"bad from", Recipient{Address: "o@example.org", Key: key, Words: words(t, "en")}, Counts{}, "not an address"},
		{"header injection", Recipient{Address: "o@example.org\r\nBcc: x@evil.example", Key: key, Words: words(t, "en")}, Counts{}, "d@example.org"},
		{"no key", Recipient{Address: "o@example.org"}, Counts{}, "d@example.org"},
		{"no words", Recipient{Address: "o@example.org", Key: key}, Counts{}, "d@example.org"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			msg, err := Compose(tt.r, tt.c, tt.from, at)
			if err == nil || msg != nil {
				t.Fatalf("Compose accepted it: %q", msg)
			}
			t.Logf("refused: %v", err)
		})
	}
}

func TestPadHeader(t *testing.T) {
	for n := 14; n < 700; n++ {
		b, err := padHeader(n)
		if err != nil {
			t.Fatalf("n=%d: %v", n, err)
		}
		if len(b) != n {
			t.Fatalf("n=%d: got %d bytes", n, len(b))
		}
		for _, l := range strings.Split(strings.TrimSuffix(string(b), "\r\n"), "\r\n") {
			if len(l) > 80 || strings.TrimSpace(l) == "" {
				t.Fatalf("n=%d: bad line %q", n, l)
			}
		}
		h, err := mail.ReadMessage(strings.NewReader(string(b) + "\r\n"))
		if err != nil || h.Header.Get("X-Padding") == "" {
			t.Fatalf("n=%d: not a header field: %v", n, err)
		}
	}
	if _, err := padHeader(13); err == nil {
		t.Fatal("padHeader(13) should fail")
	}
}

func mustLoc(t *testing.T, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Skipf("skipping: time zone %s not available: %v", name, err)
	}
	return loc
}

// words is the drop's catalogue bound to lang, as the digester binds it.
func words(t *testing.T, lang string) func(string, ...any) string {
	t.Helper()
	cat, err := web.LoadCatalog()
	if err != nil {
		t.Fatal(err)
	}
	if !cat.Has(lang) {
		t.Fatalf("no language %s", lang)
	}
	return func(k string, a ...any) string { return cat.T(lang, k, a...) }
}

// TestDigestInEveryLanguage: the body is in the officer's language, every
// catalogue language fits the fixed size with the longest name and the
// largest counts, and the size does not depend on the counts.
func TestDigestInEveryLanguage(t *testing.T) {
	cat, err := web.LoadCatalog()
	if err != nil {
		t.Fatal(err)
	}
	for _, lang := range cat.Languages() {
		t.Run(lang, func(t *testing.T) {
			w := words(t, lang)
			for _, k := range Keys {
				if !cat.HasKey(k) {
					t.Fatalf("catalogue lacks %s", k)
				}
			}
			long := strings.Repeat("\U0001D538", maxNameRunes) // 4 bytes each
			for _, c := range []Counts{{}, {math.MaxInt, math.MaxInt, math.MaxInt}} {
				plain, err := plaintext(w, long, c)
				if err != nil {
					t.Fatalf("%+v: %v", c, err)
				}
				if len(plain) != PlaintextSize {
					t.Fatalf("plaintext %d bytes", len(plain))
				}
				plain, err = plaintext(w, "Ada", Counts{New: 57, Overdue: 3, Unread: 12})
				if err != nil {
					t.Fatal(err)
				}
				for _, want := range []string{
					cat.T(lang, "digest.greeting.name", "Ada"),
					"  " + cat.T(lang, "digest.new", 57) + "\r\n",
					"  " + cat.T(lang, "digest.overdue", 3) + "\r\n",
				} {
					if !bytes.Contains(plain, []byte(want)) {
						t.Errorf("body lacks %q:\n%s", want, plain)
					}
				}
				if lang != "en" && bytes.Contains(plain, []byte(cat.T("en", "digest.waiting"))) {
					t.Errorf("%s body is in English:\n%s", lang, plain)
				}
			}
		})
	}
}
