package desk

import (
	"strings"
	"testing"
	"time"
)

// RFC 6238 Appendix B, SHA-1 rows: the seed is the ASCII string
// "12345678901234567890" and the codes have 8 digits.
func TestTOTPRFC6238(t *testing.T) {
	key := []byte("12345678901234567890")
	tests := []struct {
		unix int64
		code string
	}{
		{59, "94287082"},
		{1111111109, "07081804"},
		{1111111111, "14050471"},
		{1234567890, "89005924"},
		{2000000000, "69279037"},
		{20000000000, "65353130"},
	}
	for _, tc := range tests {
		t.Run(tc.code, func(t *testing.T) {
			at := time.Unix(tc.unix, 0)
			if got := hotp(key, uint64(totpStep(at)), 8); got != tc.code {
				t.Fatalf("8 digits at %d: %s, want %s", tc.unix, got, tc.code)
			}
			// Six digits are the last six of the eight.
			if got := totpCode(key, at); got != tc.code[2:] {
				t.Fatalf("6 digits at %d: %s, want %s", tc.unix, got, tc.code[2:])
			}
		})
	}
}

// RFC 4226 Appendix D: HOTP values for counters 0-9.
func TestHOTPRFC4226(t *testing.T) {
	key := []byte("12345678901234567890")
	want := []string{"755224", "287082", "359152", "969429", "338314", "254676", "287922", "162583", "399871", "520489"}
	for i, w := range want {
		if got := hotp(key, uint64(i), 6); got != w {
			t.Errorf("counter %d: %s, want %s", i, got, w)
		}
	}
}

func TestCheckTOTP(t *testing.T) {
	key := []byte("12345678901234567890")
	now := time.Unix(1111111111, 0)
	step := totpStep(now)
	tests := []struct {
		name string
		code string
		last int64
		ok   bool
		step int64
	}{
		{"current", totpCode(key, now), 0, true, step},
		{"one step early", totpCode(key, now.Add(-30*time.Second)), 0, true, step - 1},
		{"one step late", totpCode(key, now.Add(30*time.Second)), 0, true, step + 1},
		{"two steps early", totpCode(key, now.Add(-60*time.Second)), 0, false, 0},
		{"two steps late", totpCode(key, now.Add(60*time.Second)), 0, false, 0},
		{"replayed", totpCode(key, now), step, false, 0},
		{"older than the last used", totpCode(key, now.Add(-30*time.Second)), step, false, 0},
		{"newer than the last used", totpCode(key, now.Add(30*time.Second)), step, true, step + 1},
		{"empty", "", 0, false, 0},
		{"too short", totpCode(key, now)[:5], 0, false, 0},
		{"not digits", "abcdef", 0, false, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, ok := checkTOTP(key, tc.code, now, tc.last)
			if ok != tc.ok || s != tc.step {
				t.Fatalf("checkTOTP = %d, %v; want %d, %v", s, ok, tc.step, tc.ok)
			}
		})
	}
}

func TestOTPAuthURI(t *testing.T) {
	key := []byte("12345678901234567890")
	got := otpauthURI("alice", key)
	want := "otpauth://totp/cleandrop:alice?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=cleandrop"
	if got != want {
		t.Fatalf("%s\nwant %s", got, want)
	}
	if strings.ContainsAny(b32.EncodeToString(key), "=") {
		t.Fatal("secret is padded")
	}
}
