package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"filippo.io/age"

	"cleandrop/vault"
)

// cmdOpen decrypts an export bundle on the officer's offline machine.
func cmdOpen(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("open", flag.ContinueOnError)
	idPath := fs.String("i", "", "the officer's age identity `FILE`")
	out := fs.String("o", "", "write the decrypted thread and files into `DIR` (must not exist or be empty)")
	pos, err := parse(fs, args, stderr)
	if err != nil {
		return err
	}
	if len(pos) != 1 || *idPath == "" || *out == "" {
		return usageErr(fs, stderr, "usage: cleandrop open BUNDLE -i IDENTITY -o DIR")
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
	th, err := vault.OpenBundle(f, ids, *out)
	if errors.Is(err, vault.ErrTampered) {
		return hint(fmt.Errorf("refusing %s: %w", pos[0], err), "nothing was decrypted; export the case again and compare")
	}
	if err != nil {
		return hint(fmt.Errorf("open %s: %w", pos[0], err), "check that the identity belongs to the case's agency")
	}
	fmt.Fprintf(stdout, "Case %s (%s, stage %s): %d items decrypted into %s\n", th.Ref, th.Agency, th.Stage, len(th.Entries), *out)
	fmt.Fprintf(stdout, "Read %s/thread.html or %s/thread.txt.\n", *out, *out)
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
