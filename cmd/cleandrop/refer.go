package main

import (
	"bufio"
	"crypto/sha256"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"filippo.io/age"

	"cleandrop/vault/bundle"
)

// recipientList collects --to values: age public keys, or files of them.
type recipientList []string

func (l *recipientList) String() string     { return strings.Join(*l, ",") }
func (l *recipientList) Set(v string) error { *l = append(*l, v); return nil }

// cmdRefer re-seals an export bundle for another agency, on the officer's
// offline machine. The desk files the result as the receiving agency's case.
func cmdRefer(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("refer", flag.ContinueOnError)
	idPath := fs.String("i", "", "the officer's age identity `FILE`")
	agency := fs.String("agency", "", "the receiving agency's `ID` (as the desk lists it)")
	out := fs.String("o", "", "write the referral bundle to `FILE` (must not exist)")
	var to recipientList
	fs.Var(&to, "to", "the receiving agency's age public `KEY`, or a FILE of them one per line (repeatable)")
	sig := addSignerFlags(fs)
	lang := addLanguageFlag(fs)
	pos, err := parse(fs, args, stderr)
	if err != nil {
		return err
	}
	if len(pos) != 1 || *idPath == "" || *agency == "" || len(to) == 0 || *out == "" {
		return usageErr(fs, stderr, "usage: cleandrop refer BUNDLE -i IDENTITY --signer KEY.asc --agency ID --to RECIPIENTS -o OUT [--language CODE]")
	}
	w, err := newWords(*lang)
	if err != nil {
		return err
	}
	opts, err := sig.options(stderr)
	if err != nil {
		return err
	}
	ids, err := readIdentities(*idPath)
	if err != nil {
		return err
	}
	recips, err := readRecipients(to)
	if err != nil {
		return err
	}
	in, err := os.Open(pos[0])
	if err != nil {
		return err
	}
	defer in.Close()
	h := sha256.New()
	var info *bundle.ReferralInfo
	opened, err := createNew(*out, ": refer never overwrites", func(w io.Writer) (err error) {
		info, err = bundle.MakeReferral(in, ids, *agency, recips, io.MultiWriter(w, h), opts)
		return err
	})
	if err != nil {
		if !opened {
			return err
		}
		switch {
		case errors.Is(err, bundle.ErrTampered):
			return refused(pos[0], err, "nothing was written")
		case errors.Is(err, bundle.ErrSameAgency):
			return hint(err, "give the ID of the agency the case goes to, not the one it is at")
		}
		return hint(fmt.Errorf("refer %s: %w", pos[0], err), "check that the identity belongs to the case's agency")
	}
	sig.report(stdout, w)
	fmt.Fprint(stdout, w.say("cli.refer.done", info.FromRef, info.FromAgency, info.Items, info.ToAgency, *out))
	if info.Identities > 0 {
		fmt.Fprint(stdout, w.say("cli.refer.identity", info.Identities, info.FromAgency))
	}
	fmt.Fprint(stdout, w.say("cli.refer.sum", h.Sum(nil)))
	fmt.Fprint(stdout, w.say("cli.refer.file", info.FromRef, w.text("desk.case.refer.title")))
	fmt.Fprint(stdout, w.say("cli.refer.keys", info.FromAgency))
	return nil
}

// readRecipients parses --to values: each an age public key, or a file of
// them (one per line; blank lines and # comments skipped).
func readRecipients(vals []string) ([]age.Recipient, error) {
	var keys []string
	for _, v := range vals {
		if strings.HasPrefix(strings.TrimSpace(v), "age1") {
			keys = append(keys, v)
			continue
		}
		f, err := os.Open(v)
		if err != nil {
			return nil, hint(err, "--to takes an age public key (age1...) or a file of them")
		}
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if l := strings.TrimSpace(sc.Text()); l != "" && !strings.HasPrefix(l, "#") {
				keys = append(keys, l)
			}
		}
		f.Close()
		if err := sc.Err(); err != nil {
			return nil, err
		}
	}
	for _, k := range keys {
		if strings.HasPrefix(strings.TrimSpace(k), "AGE-SECRET-KEY-") {
			return nil, hint(errors.New("--to holds a secret key"), "give the receiving agency's public keys (age1...), never a secret key")
		}
	}
	out, _, err := parseRecipients(keys)
	var bad *badRecipient
	switch {
	case errors.As(err, &bad):
		return nil, hint(fmt.Errorf("recipient %q: %w", keys[bad.i], bad.err), "recipients look like age1... (X25519) or age1pq1... (post-quantum)")
	case err != nil:
		return nil, hint(err, "age refuses to mix them in one file")
	case len(out) == 0:
		return nil, hint(errors.New("no recipients"), "the desk's Refer form lists the receiving agency's public keys")
	}
	return out, nil
}
