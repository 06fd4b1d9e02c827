package vault

import (
	"bufio"
	"bytes"
	"errors"
	"strings"
	"testing"

	"filippo.io/age"
)

// FuzzReadAgeHeader reads the age header of arbitrary bytes, as the vault
// does for a sealed item arriving in a referral bundle or stored before.
// An accepted header is a prefix of the input, starts with age's version
// line, ends with its MAC line and is bounded; the reader stops right
// after it; anything else is [ErrNotAge] (or the reader's own error).
func FuzzReadAgeHeader(f *testing.F) {
	id, _ := age.GenerateX25519Identity()
	pq, _ := age.GenerateHybridIdentity()
	for _, r := range []age.Recipient{id.Recipient(), pq.Recipient()} {
		var b bytes.Buffer
		w, _ := age.Encrypt(&b, r)
		w.Write([]byte("sealed"))
		w.Close()
		f.Add(b.Bytes())
	}
	f.Add([]byte(ageIntro + "--- \n"))
	f.Add([]byte(ageIntro))
	f.Add([]byte("age-encryption.org/v1\r\n-> X25519 x\n--- y\n"))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		br := bufio.NewReaderSize(bytes.NewReader(data), 64<<10)
		hdr, err := readAgeHeader(br)
		if err != nil {
			if !errors.Is(err, ErrNotAge) {
				t.Fatalf("error %v is not ErrNotAge", err)
			}
			return
		}
		if !bytes.HasPrefix(data, hdr) || !bytes.HasPrefix(hdr, []byte(ageIntro)) || len(hdr) > 64<<10+64<<10 {
			t.Fatalf("header %q of %q", hdr, data)
		}
		if hdr[len(hdr)-1] != '\n' {
			t.Fatalf("header %q does not end a line", hdr)
		}
		lines := strings.Split(string(hdr[:len(hdr)-1]), "\n")
		for i, l := range lines {
			if strings.HasPrefix(l, "--- ") != (i == len(lines)-1) {
				t.Fatalf("header %q: line %d %q (the MAC line must be the last and only)", hdr, i, l)
			}
		}
		rest := make([]byte, len(data))
		n, _ := br.Read(rest)
		if len(data) > len(hdr) && (n == 0 || !bytes.Equal(rest[:n], data[len(hdr):len(hdr)+n])) {
			t.Fatal("the reader did not stop right after the header")
		}
	})
}

// FuzzParseRecipient parses arbitrary reply recipients, as a case's
// Access carries them: an accepted one is exactly age's encoding of
// itself, and anything that is not an age public key is refused.
func FuzzParseRecipient(f *testing.F) {
	id, _ := age.GenerateX25519Identity()
	pq, _ := age.GenerateHybridIdentity()
	for _, s := range []string{id.Recipient().String(), pq.Recipient().String(), id.String(), "age1", "age1pq1x", " " + id.Recipient().String(), ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := parseRecipient(s)
		if err != nil {
			return
		}
		str := r.(interface{ String() string }).String()
		if !strings.EqualFold(str, s) || !strings.HasPrefix(str, "age1") {
			t.Fatalf("%q parsed as %q", s, str)
		}
		if _, err := parseRecipient(str); err != nil {
			t.Fatalf("%q does not parse again: %v", str, err)
		}
	})
}
