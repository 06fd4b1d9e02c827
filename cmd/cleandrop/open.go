package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"filippo.io/age"

	"cleandrop/vault/bundle"
	"cleandrop/vault/signing"
)

// cmdOpen decrypts an export bundle on the officer's offline machine.
func cmdOpen(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("open", flag.ContinueOnError)
	idPath := fs.String("i", "", "the officer's (or the custodian's) age identity `FILE`")
	out := fs.String("o", "", "write the decrypted thread and files into `DIR` (must not exist or be empty)")
	sig := addSignerFlags(fs)
	lang := addLanguageFlag(fs)
	pos, err := parse(fs, args, stderr)
	if err != nil {
		return err
	}
	if len(pos) != 1 || *idPath == "" || *out == "" {
		return usageErr(fs, stderr, "usage: cleandrop open BUNDLE -i IDENTITY --signer KEY.asc -o DIR [--language CODE]")
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
	if ents, err := os.ReadDir(*out); err == nil && len(ents) > 0 {
		return hint(fmt.Errorf("%s is not empty", *out), "choose a new directory: open never overwrites")
	}
	f, err := os.Open(pos[0])
	if err != nil {
		return err
	}
	defer f.Close()
	opts.Words = w.thread()
	th, err := bundle.OpenWith(f, ids, *out, opts)
	if errors.Is(err, bundle.ErrTampered) {
		return refused(pos[0], err, "nothing was decrypted")
	}
	if err != nil {
		return hint(fmt.Errorf("open %s: %w", pos[0], err), "check that the identity belongs to the case's agency")
	}
	sig.report(stdout, w)
	opened, identities, sealedIDs, sealedOther := 0, 0, 0, 0
	for _, e := range th.Entries {
		switch {
		case e.Sealed && e.Kind == bundle.KindIdentity:
			sealedIDs++
		case e.Sealed:
			sealedOther++
		case e.Kind == bundle.KindIdentity:
			identities++
			opened++
		default:
			opened++
		}
	}
	fmt.Fprint(stdout, w.say("cli.open.done", th.Ref, th.Agency, w.stage(th.Stage), opened, *out))
	if sealedIDs > 0 {
		fmt.Fprint(stdout, w.say("cli.open.identity_sealed", sealedIDs))
	}
	if identities > 0 {
		fmt.Fprint(stdout, w.say("cli.open.identity_opened", identities))
	}
	if sealedOther > 0 {
		fmt.Fprint(stdout, w.say("cli.open.sealed_other", sealedOther))
	}
	fmt.Fprint(stdout, w.say("cli.open.read", *out, *out))
	return nil
}

func readIdentities(path string) ([]age.Identity, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, hint(err, "pass the officer's identity file made by 'cleandrop keygen' or age-keygen")
	}
	defer f.Close()
	ids, err := age.ParseIdentities(f)
	if err != nil {
		return nil, hint(fmt.Errorf("identity %s: %w", path, err), "the file should hold an AGE-SECRET-KEY-... line")
	}
	return ids, nil
}

// signerFlags are the signature options of the commands that read an
// export bundle on the offline machine.
type signerFlags struct {
	path   *string
	none   *bool
	signer *signing.Verifier
}

func addSignerFlags(fs *flag.FlagSet) *signerFlags {
	return &signerFlags{
		path: fs.String("signer", "", "the drop's public signing key `FILE` (public.asc; the desk serves it at /signing-key.asc)"),
		none: fs.Bool("no-signature", false, "do not check the manifest's signature (only for bundles from a drop that did not sign)"),
	}
}

// options turns the flags into the bundle checks: a signature by the
// given key is required unless --no-signature says otherwise.
func (f *signerFlags) options(stderr io.Writer) (bundle.OpenOptions, error) {
	switch {
	case *f.path != "" && *f.none:
		return bundle.OpenOptions{}, hint(errors.New("--signer and --no-signature contradict each other"), "give one of them")
	case *f.none:
		fmt.Fprintln(stderr, "cleandrop: warning: not checking the manifest's signature: a bundle replaced by someone else would not be noticed")
		return bundle.OpenOptions{}, nil
	case *f.path == "":
		return bundle.OpenOptions{}, hint(errors.New("no signing key given"),
			"pass --signer with the drop's public signing key (public.asc, printed by 'cleandrop signing-key', served by the desk at /signing-key.asc); compare its fingerprint once with your administrator")
	}
	v, err := signing.FromFile(*f.path)
	if err != nil {
		return bundle.OpenOptions{}, hint(fmt.Errorf("signing key %s: %w", *f.path, err), "pass the drop's public.asc")
	}
	f.signer = v
	return bundle.OpenOptions{Verify: v.Verify}, nil
}

// report says whose signature was checked.
func (f *signerFlags) report(stdout io.Writer, w words) {
	if f.signer != nil {
		fmt.Fprint(stdout, w.say("cli.signature.good", f.signer.Fingerprint()))
	}
}

// refused explains why a bundle was refused; done says what was not done.
func refused(path string, err error, done string) error {
	err = fmt.Errorf("refusing %s: %w", path, err)
	switch {
	case errors.Is(err, bundle.ErrUnsigned):
		return hint(err, done+"; the drop signs every export: this bundle did not come from it unchanged, or from a drop too old to sign (then, and only then, use --no-signature)")
	case errors.Is(err, signing.ErrOtherKey):
		return hint(err, done+"; check that --signer is your drop's key (compare the fingerprint); if it is, do not trust this bundle")
	case errors.Is(err, signing.ErrBadSignature), errors.Is(err, signing.ErrNoSignature):
		return hint(err, done+"; the manifest was changed after the drop signed it: do not trust this bundle, export the case again")
	}
	return hint(err, done+"; a file was changed, added or removed after export: export the case again and compare")
}

// cmdSigningKey prints the drop's public signing key and its fingerprint,
// for officers' offline machines. It reads the data directory; the server
// need not run.
func cmdSigningKey(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("signing-key", flag.ContinueOnError)
	t := addTarget(fs)
	if _, err := parse(fs, args, stderr); err != nil {
		return err
	}
	dir, err := t.dataDir()
	if err != nil {
		return err
	}
	path := filepath.Join(signingDir(dir), signing.PublicFile)
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return hint(fmt.Errorf("no signing key in %s", dir), "the server makes it on its first start; start it once, or pass --data/--config")
	}
	if err != nil {
		return err
	}
	v, err := signing.ParseVerifier(b)
	if err != nil {
		return hint(fmt.Errorf("%s: %w", path, err), "restore "+signingDir(dir)+" from your backup")
	}
	fmt.Fprintf(stderr, "Fingerprint: %s\nGive officers this key (save it as cleandrop-signing-key.asc) and read them the fingerprint over another channel.\n", v.Fingerprint())
	_, err = stdout.Write(b)
	return err
}
