package main

import (
	"errors"
	"flag"
	"fmt"
	"io"

	"cleandrop/drop/jurisdiction"
)

// cmdPack lists the embedded jurisdiction packs or checks one.
func cmdPack(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("pack", flag.ContinueOnError)
	pos, err := parse(fs, args, stderr)
	if err != nil {
		return err
	}
	switch {
	case len(pos) == 1 && pos[0] == "list":
		for _, code := range jurisdiction.Codes() {
			p, err := jurisdiction.Load(code)
			if err != nil {
				return fmt.Errorf("embedded %w", err)
			}
			fmt.Fprintf(stdout, "%s\t%s\t%v\n", p.Code, p.Name, p.Languages)
		}
		return nil
	case len(pos) == 2 && pos[0] == "check":
		return packCheck(pos[1], stdout, stderr)
	}
	return usageErr(fs, stderr, "use 'cleandrop pack list' or 'cleandrop pack check CODE|DIR'")
}

// packCheck prints every problem of a pack, one error line each.
func packCheck(arg string, stdout, stderr io.Writer) error {
	var p *jurisdiction.Pack
	var err error
	if isPackPath(arg) {
		p, err = jurisdiction.LoadDir(arg)
	} else {
		p, err = jurisdiction.Load(arg)
	}
	if errors.Is(err, jurisdiction.ErrUnknown) {
		return hint(err, "run 'cleandrop pack list' for the built-in packs, or give a folder's path (./mypack)")
	}
	var probs *jurisdiction.Problems
	if errors.As(err, &probs) {
		for _, pr := range probs.List[:len(probs.List)-1] {
			fmt.Fprintf(stderr, "cleandrop: error: pack %s: %s\n", probs.Pack, pr)
		}
		return hint(fmt.Errorf("pack %s: %s", probs.Pack, probs.List[len(probs.List)-1]),
			fmt.Sprintf("%d problem(s); docs/jurisdictions.md describes every field of a pack", len(probs.List)))
	}
	if err != nil {
		return hint(err, "a pack folder holds pack.json, bodies.json, laws.json and pages.json")
	}
	verify := 0
	for _, r := range p.Rules {
		if r.Verify {
			verify++
		}
	}
	for _, l := range p.Laws {
		if l.Verify {
			verify++
		}
	}
	for _, s := range append(p.Protection.Sections, p.Rewards.Sections...) {
		if s.Verify {
			verify++
		}
	}
	fmt.Fprintf(stdout, "%s: ok: %s, languages %v, %d stages, %d deadlines, %d bodies, %d categories; %d facts marked for the operator to verify (checked %s)\n",
		arg, p.Name, p.Languages, len(p.Stages), len(p.Rules), len(p.Bodies), len(p.Laws), verify, p.Checked)
	return nil
}
