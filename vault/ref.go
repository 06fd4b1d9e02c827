package vault

import (
	"crypto/rand"
	"strings"
)

// crockford is Crockford's base32 alphabet: no I, L, O or U.
const crockford = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

// newRef makes a random case reference like CD-7K3M-Q9XW (40 bits). It is a
// designation, not a secret; uniqueness is checked at commit.
func newRef() string {
	var b [8]byte
	rand.Read(b[:])
	var r [12]byte
	copy(r[:], "CD-")
	j := 3
	for i, c := range b {
		if i == 4 {
			r[j] = '-'
			j++
		}
		r[j] = crockford[c&31]
		j++
	}
	return string(r[:])
}

// normalizeRef forgives case and the letters Crockford's alphabet reads as
// digits, so that a reference typed by a person still finds its case.
func normalizeRef(ref string) string {
	ref = strings.ToUpper(strings.TrimSpace(ref))
	body, ok := strings.CutPrefix(ref, "CD-")
	if !ok {
		return ref
	}
	return "CD-" + strings.NewReplacer("I", "1", "L", "1", "O", "0").Replace(body)
}
