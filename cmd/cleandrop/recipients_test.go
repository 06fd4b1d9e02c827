package main

import (
	"errors"
	"testing"

	"filippo.io/age"
)

func TestParseRecipients(t *testing.T) {
	x, _ := age.GenerateX25519Identity()
	pq, _ := age.GenerateHybridIdentity()
	xs, pqs := x.Recipient().String(), pq.Recipient().String()
	if rs, isPQ, err := parseRecipients([]string{xs, " " + xs + " "}); err != nil || isPQ || len(rs) != 2 {
		t.Errorf("two X25519 keys: %v %v %v", rs, isPQ, err)
	}
	if rs, isPQ, err := parseRecipients([]string{pqs}); err != nil || !isPQ || len(rs) != 1 {
		t.Errorf("a post-quantum key: %v %v %v", rs, isPQ, err)
	}
	if _, _, err := parseRecipients([]string{xs, pqs}); !errors.Is(err, errMixedKinds) {
		t.Errorf("mixed kinds: %v", err)
	}
	var bad *badRecipient
	if _, _, err := parseRecipients([]string{xs, "age1nope"}); !errors.As(err, &bad) || bad.i != 1 {
		t.Errorf("a bad second key: %v", err)
	}
}
