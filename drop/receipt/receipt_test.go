package receipt

import (
	"bytes"
	"errors"
	"math"
	"strings"
	"testing"
)

func TestGenerateNormalizeRoundTrip(t *testing.T) {
	for _, f := range []Format{Words, Digits} {
		seen := map[string]bool{}
		for range 50 {
			r, err := Generate(f)
			if err != nil {
				t.Fatal(err)
			}
			if seen[r] {
				t.Fatalf("format %d: repeated receipt %q", f, r)
			}
			seen[r] = true
			n, err := Normalize(r)
			if err != nil {
				t.Fatalf("Normalize(%q): %v", r, err)
			}
			if n != r {
				t.Fatalf("Normalize(%q) = %q, want itself", r, n)
			}
		}
	}
}

func TestNormalize(t *testing.T) {
	const words = "abacus ability able ablaze abdomen abide abiding"
	const digits = "0123 4567 8901 2345 6789 0123 4567"
	tests := []struct {
		name, in, want string
		err            error
	}{
		{"words as shown", words, words, nil},
		{"upper case and extra spaces", "  ABACUS   Ability\table ablaze\nabdomen abide ABIDING ", words, nil},
		{"hyphens", "abacus-ability-able-ablaze-abdomen-abide-abiding", words, nil},
		{"digits as shown", digits, digits, nil},
		{"digits run together", "0123456789012345678901234567", digits, nil},
		{"digits with hyphens", "0123-4567-8901-2345-6789-0123-4567", digits, nil},
		{"empty", "   ", "", ErrEmpty},
		{"six words", "abacus ability able ablaze abdomen abide", "", ErrWordCount},
		{"eight words", words + " abacus", "", ErrWordCount},
		{"typo", "abacus ability able ablaze abdomen abide abidingg", "", ErrUnknownWord},
		{"too few digits", "0123 4567", "", ErrDigitCount},
		{"mixed", "abacus 1234", "", ErrMixed},
		{"non-latin digits", "١٢٣٤ 4567 8901 2345 6789 0123 4567", "", ErrDigitCount},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Normalize(tc.in)
			if !errors.Is(err, tc.err) {
				t.Fatalf("err = %v, want %v", err, tc.err)
			}
			if got != tc.want {
				t.Fatalf("got %q, want %q", got, tc.want)
			}
		})
	}
}

func TestWordListStrength(t *testing.T) {
	n := len(wordList())
	if len(wordSet()) != n {
		t.Fatal("word list has duplicates")
	}
	// Seven distinct words: log2(n * (n-1) * ... * (n-6)).
	bits := 0.0
	for i := range wordCount {
		bits += math.Log2(float64(n - i))
	}
	t.Logf("%d words, %.2f bits per receipt", n, bits)
	if n < 7700 || bits < 90 {
		t.Fatalf("%d words give %.2f bits, want at least 90", n, bits)
	}
	for _, w := range wordList() {
		if strings.ContainsFunc(w, func(r rune) bool { return r < 'a' || r > 'z' }) {
			t.Fatalf("word %q has a character Normalize treats as a separator", w)
		}
	}
}

// TestManyReceiptsRoundTrip would have caught hyphenated words ("t-shirt")
// being split by Normalize.
func TestManyReceiptsRoundTrip(t *testing.T) {
	for range 5000 {
		r, _ := Generate(Words)
		if n, err := Normalize(strings.ToUpper(strings.ReplaceAll(r, " ", "-"))); err != nil || n != r {
			t.Fatalf("Normalize(%q) = %q, %v", r, n, err)
		}
	}
}

var fast = Params{Time: 1, Memory: 8 * 1024, Threads: 1}

func TestDeriveWrapUnwrap(t *testing.T) {
	pepper := NewPepper()
	for _, pq := range []bool{false, true} {
		r, _ := Generate(Words)
		k, err := Derive(r, pepper, fast)
		if err != nil {
			t.Fatal(err)
		}
		rk, err := NewReplyKey(pq)
		if err != nil {
			t.Fatal(err)
		}
		wrapped, err := k.Wrap(rk)
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(wrapped, []byte(rk.secret)) {
			t.Fatal("wrapped reply key contains the secret")
		}
		k2, _ := Derive(r, pepper, fast)
		if !bytes.Equal(k.Lookup, k2.Lookup) {
			t.Fatal("derivation is not deterministic")
		}
		got, err := k2.Unwrap(wrapped)
		if err != nil {
			t.Fatal(err)
		}
		if got.Recipient != rk.Recipient {
			t.Fatalf("unwrapped recipient %q, want %q", got.Recipient, rk.Recipient)
		}
		// "age1pq1": an X25519 recipient's data may itself begin
		// with "pq" (one key in 1,024), but bech32 data never holds a "1".
		if pq != strings.HasPrefix(got.Recipient, "age1pq1") {
			t.Fatalf("pq=%v but recipient %q", pq, got.Recipient)
		}

		other, _ := Generate(Words)
		k3, _ := Derive(other, pepper, fast)
		if bytes.Equal(k3.Lookup, k.Lookup) {
			t.Fatal("different receipts share a lookup key")
		}
		if _, err := k3.Unwrap(wrapped); !errors.Is(err, ErrUnwrap) {
			t.Fatalf("wrong receipt unwrapped: %v", err)
		}
		k4, _ := Derive(r, NewPepper(), fast)
		if bytes.Equal(k4.Lookup, k.Lookup) {
			t.Fatal("lookup key does not depend on the pepper")
		}
	}
}

func TestParams(t *testing.T) {
	p, err := ParseParams(DefaultParams.String())
	if err != nil || p != DefaultParams {
		t.Fatalf("round trip: %v %v", p, err)
	}
	for _, bad := range []string{"", "scrypt;t=1;m=1;p=1", "argon2id;t=0;m=65536;p=2", "argon2id;t=1;m=16;p=2", "argon2id;t=1;m=65536;p=300", "argon2id;t=1;m=65536"} {
		if _, err := ParseParams(bad); err == nil {
			t.Errorf("ParseParams(%q) accepted", bad)
		}
	}
}

func FuzzNormalize(f *testing.F) {
	f.Add("abacus ability able ablaze abdomen abide abiding")
	f.Add("0123-4567-8901-2345-6789-0123-4567")
	f.Add("  \u00a0ÄBACUS\u200b")
	f.Fuzz(func(t *testing.T, s string) {
		n, err := Normalize(s)
		if err != nil {
			return
		}
		again, err := Normalize(n)
		if err != nil || again != n {
			t.Fatalf("Normalize not idempotent: %q -> %q -> %q (%v)", s, n, again, err)
		}
	})
}

func BenchmarkDerive(b *testing.B) {
	pepper := NewPepper()
	for b.Loop() {
		Derive("abacus ability able ablaze abdomen abide abiding", pepper, DefaultParams)
	}
}
