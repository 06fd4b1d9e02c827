package desk

import (
	"crypto/hmac"
	"crypto/sha1"
	"crypto/subtle"
	"encoding/base32"
	"encoding/binary"
	"fmt"
	"net/url"
	"time"
)

// TOTP as RFC 6238 with the defaults every authenticator app uses:
// HMAC-SHA1, 6 digits, 30-second steps. A code is accepted one step early
// or late to allow for clock drift.
const (
	totpDigits = 6
	totpPeriod = 30
	totpSkew   = 1
	totpSecret = 20 // bytes, as RFC 4226 recommends
)

var b32 = base32.StdEncoding.WithPadding(base32.NoPadding)

// hotp is RFC 4226's HOTP value of counter under key, as digits decimal
// digits with leading zeros.
func hotp(key []byte, counter uint64, digits int) string {
	m := hmac.New(sha1.New, key)
	var c [8]byte
	binary.BigEndian.PutUint64(c[:], counter)
	m.Write(c[:])
	sum := m.Sum(nil)
	off := sum[len(sum)-1] & 0x0f
	bin := binary.BigEndian.Uint32(sum[off:off+4]) & 0x7fffffff
	mod := uint32(1)
	for range digits {
		mod *= 10
	}
	return fmt.Sprintf("%0*d", digits, bin%mod)
}

// totpStep is the RFC 6238 time step of t.
func totpStep(t time.Time) int64 { return t.Unix() / totpPeriod }

// totpCode is the code for t.
func totpCode(key []byte, t time.Time) string {
	return hotp(key, uint64(totpStep(t)), totpDigits)
}

// checkTOTP reports the step that code matches at t (within the allowed
// skew), comparing every candidate in constant time. A step not after
// last is refused, so a code once used cannot be used again.
func checkTOTP(key []byte, code string, t time.Time, last int64) (int64, bool) {
	now := totpStep(t)
	var found int64
	ok := 0
	for d := int64(-totpSkew); d <= totpSkew; d++ {
		s := now + d
		if s < 0 {
			continue
		}
		match := subtle.ConstantTimeCompare([]byte(hotp(key, uint64(s), totpDigits)), []byte(code))
		if match == 1 && ok == 0 {
			found = s
		}
		ok |= match
	}
	if ok == 0 || found <= last {
		return 0, false
	}
	return found, true
}

// otpauthURI is the enrolment URI authenticator apps read from a QR code.
func otpauthURI(name string, secret []byte) string {
	return "otpauth://totp/cleandrop:" + url.PathEscape(name) +
		"?secret=" + b32.EncodeToString(secret) + "&issuer=cleandrop"
}
