package notify

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/mail"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/armor"
	"github.com/ProtonMail/go-crypto/openpgp/packet"
)

// PlaintextSize is the exact size in bytes of every digest's plaintext (an
// inner MIME entity) before encryption.
const PlaintextSize = 2048

// Subject is the Subject header of every digest.
const Subject = "cleandrop digest"

// maxNameRunes caps the officer name used in the greeting inside the
// encrypted body; longer names are cut.
const maxNameRunes = 64

// Counts are the only facts a digest carries, summed over the officer's
// agencies.
type Counts struct {
	New     int // new cases
	Overdue int // cases past a deadline
	Unread  int // reporter messages the officer has not opened on the desk
}

// Recipient is an officer who opted in to the digest.
type Recipient struct {
	// Name is used only in the greeting inside the encrypted body.
	Name string
	// Address is the bare e-mail address, e.g. "officer@example.org".
	Address string
	// Key is the officer's public key, as returned by [ParseKey].
	Key openpgp.EntityList
	// Words writes the body in the officer's language: the text of one of
	// [Keys] with its arguments, as the drop's catalogue bound to that
	// language gives it.
	Words func(key string, args ...any) string
}

// Keys are the message keys of the digest's body; the drop's catalogue has
// each in every language.
var Keys = []string{
	"digest.greeting", "digest.greeting.name", "digest.waiting",
	"digest.new", "digest.overdue", "digest.unread", "digest.footer",
}

// Compose builds a complete RFC 5322 message (CRLF line ends, PGP/MIME,
// RFC 3156) for r with counts c. from is the From address (it may carry a
// display name). at is the scheduled send time; the Date header is at
// truncated to the whole hour in at's location and written in UTC.
//
// For a given recipient and from, the message has the same length whatever
// the counts and the day.
func Compose(r Recipient, c Counts, from string, at time.Time) ([]byte, error) {
	if c.New < 0 || c.Overdue < 0 || c.Unread < 0 {
		return nil, errors.New("compose digest: negative count")
	}
	fromAddr, err := mail.ParseAddress(from)
	if err != nil {
		return nil, fmt.Errorf("compose digest: from address: %w", err)
	}
	toAddr, err := mail.ParseAddress(r.Address)
	if err != nil {
		return nil, fmt.Errorf("compose digest: recipient address: %w", err)
	}
	if len(r.Key) != 1 {
		return nil, fmt.Errorf("compose digest: %w", ErrNoKey)
	}
	if err := checkEntity(r.Key[0], time.Now()); err != nil {
		return nil, fmt.Errorf("compose digest: %w", err)
	}

	if r.Words == nil {
		return nil, errors.New("compose digest: no words for the body")
	}
	plain, err := plaintext(r.Words, r.Name, c)
	if err != nil {
		return nil, fmt.Errorf("compose digest: %w", err)
	}
	armored, err := encrypt(r.Key[0], plain)
	clear(plain)
	if err != nil {
		return nil, fmt.Errorf("compose digest: %w", err)
	}

	msgID, err := randomHex(16)
	if err != nil {
		return nil, fmt.Errorf("compose digest: %w", err)
	}
	boundary, err := randomHex(12)
	if err != nil {
		return nil, fmt.Errorf("compose digest: %w", err)
	}
	boundary = "cleandrop-" + boundary
	domain := fromAddr.Address[strings.LastIndexByte(fromAddr.Address, '@')+1:]
	hour := time.Date(at.Year(), at.Month(), at.Day(), at.Hour(), 0, 0, 0, at.Location())

	var b bytes.Buffer
	hdr := func(k, v string) { b.WriteString(k + ": " + v + "\r\n") }
	hdr("From", fromAddr.String())
	hdr("To", (&mail.Address{Address: toAddr.Address}).String())
	hdr("Subject", Subject)
	hdr("Date", hour.UTC().Format("Mon, 02 Jan 2006 15:04:05 -0700"))
	hdr("Message-ID", "<"+msgID+"@"+domain+">")
	hdr("MIME-Version", "1.0")
	hdr("Content-Type", `multipart/encrypted; protocol="application/pgp-encrypted";`+
		"\r\n boundary=\""+boundary+`"`)
	b.WriteString("\r\nThis is an OpenPGP/MIME encrypted message (RFC 4880 and 3156)\r\n")
	b.WriteString("--" + boundary + "\r\n")
	hdr("Content-Type", "application/pgp-encrypted")
	hdr("Content-Description", "PGP/MIME version identification")
	b.WriteString("\r\nVersion: 1\r\n\r\n")
	b.WriteString("--" + boundary + "\r\n")
	hdr("Content-Type", `application/octet-stream; name="encrypted.asc"`)
	hdr("Content-Description", "OpenPGP encrypted message")
	hdr("Content-Disposition", `inline; filename="encrypted.asc"`)
	b.WriteString("\r\n")
	b.Write(armored)
	b.WriteString("\r\n--" + boundary + "--\r\n")
	return b.Bytes(), nil
}

// plaintext renders the inner MIME entity, padded to exactly PlaintextSize
// bytes with a header that mail clients do not show.
func plaintext(words func(string, ...any) string, name string, c Counts) ([]byte, error) {
	name = cleanName(name)
	greeting := words("digest.greeting")
	if name != "" {
		greeting = words("digest.greeting.name", name)
	}
	body := line(greeting) + "\r\n" +
		line(words("digest.waiting")) + "\r\n" +
		"  " + line(words("digest.new", c.New)) +
		"  " + line(words("digest.overdue", c.Overdue)) +
		"  " + line(words("digest.unread", c.Unread)) +
		"\r\n" + line(words("digest.footer"))
	head := "Content-Type: text/plain; charset=utf-8\r\n" +
		"Content-Transfer-Encoding: 8bit\r\n"
	const tail = "\r\n"
	pad, err := padHeader(PlaintextSize - len(head) - len(tail) - len(body))
	if err != nil {
		return nil, err
	}
	out := make([]byte, 0, PlaintextSize)
	out = append(out, head...)
	out = append(out, pad...)
	out = append(out, tail...)
	out = append(out, body...)
	if len(out) != PlaintextSize {
		return nil, fmt.Errorf("plaintext is %d bytes, want %d", len(out), PlaintextSize)
	}
	return out, nil
}

// line is s as one line of the body, without control characters, folded
// before 76 characters where it has spaces, with CRLF line ends.
func line(s string) string {
	var out strings.Builder
	n := 0
	for _, w := range strings.Fields(strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, s)) {
		l := utf8.RuneCountInString(w)
		if n > 0 && n+1+l > 76 {
			out.WriteString("\r\n")
			n = 0
		}
		if n > 0 {
			out.WriteByte(' ')
			n++
		}
		out.WriteString(w)
		n += l
	}
	out.WriteString("\r\n")
	return out.String()
}

// padHeader returns an "X-Padding" header field of exactly n bytes
// including its CRLF, folded so no line passes 80 characters.
func padHeader(n int) ([]byte, error) {
	const name = "X-Padding: "
	rem := n - len(name) - 2
	if rem < 1 {
		return nil, fmt.Errorf("digest text too long for %d-byte plaintext", PlaintextSize)
	}
	b := make([]byte, 0, n)
	b = append(b, name...)
	line := len(name)
	for rem > 0 {
		if line >= 76 && rem >= 4 {
			b = append(b, "\r\n "...)
			rem -= 3
			line = 1
			continue
		}
		b = append(b, 'x')
		rem--
		line++
	}
	return append(b, "\r\n"...), nil
}

// cleanName keeps printable runes of s, collapses it to one line and cuts it
// at maxNameRunes.
func cleanName(s string) string {
	var b strings.Builder
	n := 0
	for _, r := range s {
		if n == maxNameRunes {
			break
		}
		if !unicode.IsPrint(r) {
			r = ' '
		}
		b.WriteRune(r)
		n++
	}
	return strings.TrimSpace(b.String())
}

// encrypt encrypts plain to e, uncompressed and without a file name or
// time, and returns the armored message with CRLF line ends.
//
// RSA and ElGamal session-key packets are integers written without leading
// zero bytes, so about one message in 256 would come out a byte shorter by
// chance. Such an encryption is discarded and re-drawn, so the length
// depends on the key alone.
func encrypt(e *openpgp.Entity, plain []byte) ([]byte, error) {
	cfg := &packet.Config{
		DefaultCipher:          packet.CipherAES256,
		DefaultCompressionAlgo: packet.CompressionNone,
	}
	ek, ok := e.EncryptionKey(cfg.Now())
	if !ok {
		return nil, ErrCannotEncrypt
	}
	want := fullSessionKeyLen(ek.PublicKey)
	for range 64 {
		var keyPart, dataPart bytes.Buffer
		// Binary literal data: the MIME entity's CRLFs must reach the
		// reader unchanged (a text literal lets gpg rewrite line ends).
		hints := &openpgp.FileHints{IsBinary: true}
		w, err := openpgp.EncryptSplit(&keyPart, &dataPart, []*openpgp.Entity{e}, nil, hints, cfg)
		if err != nil {
			return nil, fmt.Errorf("encrypt: %w", err)
		}
		if _, err := w.Write(plain); err != nil {
			return nil, fmt.Errorf("encrypt: %w", err)
		}
		if err := w.Close(); err != nil {
			return nil, fmt.Errorf("encrypt: %w", err)
		}
		if want > 0 && keyPart.Len() != want {
			continue
		}
		var out bytes.Buffer
		aw, err := armor.Encode(&out, "PGP MESSAGE", nil)
		if err != nil {
			return nil, fmt.Errorf("armor: %w", err)
		}
		if _, err := aw.Write(keyPart.Bytes()); err != nil {
			return nil, fmt.Errorf("armor: %w", err)
		}
		if _, err := aw.Write(dataPart.Bytes()); err != nil {
			return nil, fmt.Errorf("armor: %w", err)
		}
		if err := aw.Close(); err != nil {
			return nil, fmt.Errorf("armor: %w", err)
		}
		return crlf(out.Bytes()), nil
	}
	return nil, errors.New("encrypt: no full-length session key packet in 64 tries")
}

// fullSessionKeyLen is the length of a v3 session-key packet to pk whose
// integers take their full width, or 0 when the size cannot vary.
func fullSessionKeyLen(pk *packet.PublicKey) int {
	bits, err := pk.BitLength()
	if err != nil {
		return 0
	}
	k := (int(bits) + 7) / 8
	body := 1 + 8 + 1 // version, key ID, algorithm
	switch pk.PubKeyAlgo {
	case packet.PubKeyAlgoRSA, packet.PubKeyAlgoRSAEncryptOnly:
		body += 2 + k
	case packet.PubKeyAlgoElGamal:
		body += 2 * (2 + k)
	default:
		return 0
	}
	// New-format packet header: tag octet plus length octets.
	switch {
	case body < 192:
		return 2 + body
	case body < 8384:
		return 3 + body
	default:
		return 6 + body
	}
}

// crlf turns bare LF line ends into CRLF.
func crlf(b []byte) []byte {
	b = bytes.ReplaceAll(b, []byte("\r\n"), []byte("\n"))
	return bytes.ReplaceAll(b, []byte("\n"), []byte("\r\n"))
}

func randomHex(n int) (string, error) {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return hex.EncodeToString(b), nil
}
