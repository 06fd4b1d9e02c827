package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"text/tabwriter"

	"cleandrop/drop/control"
	"cleandrop/vault/durable"
)

// target adds the flags that find a running server's control socket.
type target struct {
	data, config *string
}

func addTarget(fs *flag.FlagSet) target {
	return target{
		data:   fs.String("data", "", "the server's data `DIR` (default ./"+defaultData+")"),
		config: fs.String("config", "", "the server's configuration `FILE` (to find its data directory)"),
	}
}

func (t target) dataDir() (string, error) {
	if *t.config != "" {
		cfg, err := loadConfig(*t.config)
		if err != nil {
			return "", err
		}
		return cfg.DataDir, nil
	}
	if *t.data != "" {
		return *t.data, nil
	}
	if env := os.Getenv("CLEANDROP_DATA"); env != "" {
		return env, nil
	}
	return defaultData, nil
}

func (t target) client() (*control.Client, error) {
	dir, err := t.dataDir()
	if err != nil {
		return nil, err
	}
	return control.NewClient(filepath.Join(dir, "control.sock")), nil
}

func auditDir(data string) string { return filepath.Join(data, "audit") }

// explain adds hints to errors from the control API.
func explain(err error) error {
	var ce *control.Error
	switch {
	case errors.Is(err, control.ErrNotRunning):
		return hint(err, "start it with 'cleandrop serve --config FILE' (or 'make run'), or point at its data with --data DIR")
	case errors.As(err, &ce):
		return hint(err, ce.Hint)
	}
	return err
}

func cmdCases(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("cases", flag.ContinueOnError)
	t := addTarget(fs)
	if _, err := parse(fs, args, stderr); err != nil {
		return err
	}
	c, err := t.client()
	if err != nil {
		return err
	}
	cases, err := c.Cases()
	if err != nil {
		return explain(err)
	}
	if len(cases) == 0 {
		fmt.Fprintln(stdout, "No cases yet.")
		return nil
	}
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "CASE\tAGENCY\tSTAGE\tRECEIVED\tUPDATED\tITEMS")
	for _, k := range cases {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%d\n", k.Ref, k.Agency, k.Stage, k.Opened, k.Updated, k.Items)
	}
	return tw.Flush()
}

func cmdExport(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("export", flag.ContinueOnError)
	t := addTarget(fs)
	ref := fs.String("case", "", "the case `REF`, e.g. CD-7K3M-Q9XW")
	out := fs.String("o", "", "write the bundle to `FILE` (a tar of ciphertext and a manifest)")
	if _, err := parse(fs, args, stderr); err != nil {
		return err
	}
	if *ref == "" || *out == "" {
		return usageErr(fs, stderr, "--case and -o are required")
	}
	c, err := t.client()
	if err != nil {
		return err
	}
	if _, err := c.Case(trimRef(*ref)); err != nil {
		return explain(err)
	}
	// The server writes the bundle into the file itself.
	if opened, err := createFile(*out, "", func(f *os.File) error { return c.ExportFile(trimRef(*ref), f) }); err != nil {
		if !opened {
			return err
		}
		return explain(err)
	}
	fmt.Fprintf(stderr, "Wrote %s. Take it to the offline machine and run: cleandrop open %s -i KEY --signer cleandrop-signing-key.asc -o DIR\n", *out, filepath.Base(*out))
	return nil
}

// createNew creates path (mode 0600, never over an existing file), lets
// write fill it, then syncs and closes it; if anything fails the file is
// removed. opened says whether the file was created, so that the caller
// words a failure of write its own way; an existing path is refused with
// a hint, followed by why (e.g. ": refer never overwrites").
func createNew(path, why string, write func(io.Writer) error) (opened bool, err error) {
	// The kernel writes a large bundle out while it arrives, so the
	// closing sync waits for its last megabytes only.
	return createFile(path, why, func(f *os.File) error { return write(durable.NewWriter(f)) })
}

// createFile is [createNew] for a write that takes the file itself, open
// for reading and writing.
func createFile(path, why string, write func(*os.File) error) (opened bool, err error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, os.ErrExist) {
		return false, hint(fmt.Errorf("%s already exists", path), "choose a new file name"+why)
	}
	if err != nil {
		return false, err
	}
	err = write(f)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(path)
	}
	return true, err
}

func readText(path string, stdin io.Reader) ([]byte, error) {
	if path == "-" {
		return io.ReadAll(io.LimitReader(stdin, control.MaxMessage+1))
	}
	return os.ReadFile(path)
}

func cmdReply(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("reply", flag.ContinueOnError)
	t := addTarget(fs)
	ref := fs.String("case", "", "the case `REF`")
	file := fs.String("text-file", "", "the question, as UTF-8 text in `FILE` (- for standard input)")
	if _, err := parse(fs, args, stderr); err != nil {
		return err
	}
	if *ref == "" || *file == "" {
		return usageErr(fs, stderr, "--case and --text-file are required")
	}
	text, err := readText(*file, os.Stdin)
	if err != nil {
		return err
	}
	if len(text) == 0 {
		return hint(errors.New("the question is empty"), "write it into the file first")
	}
	c, err := t.client()
	if err != nil {
		return err
	}
	if err := c.Ask(trimRef(*ref), text); err != nil {
		return explain(err)
	}
	fmt.Fprintf(stdout, "Question sealed into case %s. The reporter sees it at their next follow-up.\n", trimRef(*ref))
	return nil
}

func cmdStage(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("stage", flag.ContinueOnError)
	t := addTarget(fs)
	ref := fs.String("case", "", "the case `REF`")
	note := fs.String("note-file", "", "an optional note to the reporter in `FILE` (- for standard input)")
	pos, err := parse(fs, args, stderr)
	if err != nil {
		return err
	}
	if *ref == "" || len(pos) != 1 {
		return usageErr(fs, stderr, "--case and one STAGE are required, e.g. cleandrop stage --case REF acknowledged")
	}
	sc := control.StageChange{Stage: pos[0]}
	if *note != "" {
		b, err := readText(*note, os.Stdin)
		if err != nil {
			return err
		}
		sc.Note = string(b)
	}
	c, err := t.client()
	if err != nil {
		return err
	}
	if err := c.SetStage(trimRef(*ref), sc); err != nil {
		return explain(err)
	}
	fmt.Fprintf(stdout, "Case %s is now at stage %s.\n", trimRef(*ref), sc.Stage)
	return nil
}
