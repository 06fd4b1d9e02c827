package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"cleandrop/drop/guide"
	"cleandrop/drop/jurisdiction"
)

// maxDraft bounds what 'cleandrop guide' reads: a report's text, not a
// file of any size.
const maxDraft = 1 << 20

// cmdGuide runs the report guide offline on a draft from FILE or standard
// input and prints its result as JSON. The draft is read into memory only.
func cmdGuide(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("guide", flag.ContinueOnError)
	code := fs.String("jurisdiction", "", "the jurisdiction pack `CODE` or folder whose laws and bodies to use")
	lang := fs.String("lang", "", "the draft's language `CODE` ("+strings.Join(guide.Languages, ", ")+"; detected when omitted)")
	pos, err := parse(fs, args, stderr)
	if err != nil {
		return err
	}
	if *code == "" || len(pos) > 1 {
		return usageErr(fs, stderr, "use 'cleandrop guide --jurisdiction CODE [--lang L] [FILE]'")
	}
	if *lang != "" && !slices.Contains(guide.Languages, *lang) {
		return hint(fmt.Errorf("unknown language %q", *lang), "use one of "+strings.Join(guide.Languages, ", ")+", or leave --lang out to detect it")
	}
	var p *jurisdiction.Pack
	if isPackPath(*code) {
		p, err = jurisdiction.LoadDir(*code)
	} else {
		p, err = jurisdiction.Load(*code)
	}
	if errors.Is(err, jurisdiction.ErrUnknown) {
		return hint(err, "run 'cleandrop pack list' for the built-in packs, or give a folder's path (./mypack)")
	}
	if err != nil {
		return hint(err, "run 'cleandrop pack check' on it for every problem")
	}
	g, err := guide.New(p)
	if err != nil {
		return err
	}
	in := io.Reader(os.Stdin)
	if len(pos) == 1 && pos[0] != "-" {
		f, err := os.Open(pos[0])
		if err != nil {
			return hint(err, "give a readable text file, or the draft on standard input")
		}
		defer f.Close()
		in = f
	}
	b, err := io.ReadAll(io.LimitReader(in, maxDraft+1))
	if err != nil {
		return fmt.Errorf("read draft: %w", err)
	}
	if len(b) > maxDraft {
		return hint(errors.New("the draft is longer than 1 MiB"), "the guide reads a report's text, not a document")
	}
	enc := json.NewEncoder(stdout)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(g.Suggest(string(b), *lang))
}
