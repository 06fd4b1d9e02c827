package main

import (
	"flag"
	"fmt"
	"io"
	"time"

	"filippo.io/age"
)

// cmdKeygen makes an officer's age identity. It belongs on the offline
// machine; only the printed public key goes into the server's config.
func cmdKeygen(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("keygen", flag.ContinueOnError)
	pq := fs.Bool("pq", false, "make a hybrid post-quantum (ML-KEM-768 + X25519) key")
	out := fs.String("o", "", "write the identity to `FILE` (mode 0600) instead of standard output")
	if _, err := parse(fs, args, stderr); err != nil {
		return err
	}
	text, pub, err := newIdentity(*pq)
	if err != nil {
		return err
	}
	if *out == "" {
		fmt.Fprint(stdout, text)
		return nil
	}
	if err := writeNew(*out, []byte(text)); err != nil {
		return err
	}
	fmt.Fprintf(stderr, "Public key: %s\n", pub)
	return nil
}

// newIdentity returns an identity file's text and its public key.
func newIdentity(pq bool) (text, public string, err error) {
	var secret string
	if pq {
		id, err := age.GenerateHybridIdentity()
		if err != nil {
			return "", "", err
		}
		secret, public = id.String(), id.Recipient().String()
	} else {
		id, err := age.GenerateX25519Identity()
		if err != nil {
			return "", "", err
		}
		secret, public = id.String(), id.Recipient().String()
	}
	text = fmt.Sprintf("# created: %s\n# public key: %s\n%s\n", time.Now().UTC().Format(time.DateOnly), public, secret)
	return text, public, nil
}

// writeNew writes a new file with mode 0600, refusing to overwrite.
func writeNew(path string, data []byte) error {
	_, err := createNew(path, "; existing keys are never overwritten", func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	})
	return err
}
