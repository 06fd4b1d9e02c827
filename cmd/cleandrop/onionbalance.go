package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"path/filepath"
	"slices"
	"strings"

	"cleandrop/onion"
)

// OnionbalanceConfig makes this front-end's reporter onion an instance of
// an Onionbalance master: several front-ends, each with its own tor and
// onion key, are reached under the master's one address.
type OnionbalanceConfig struct {
	Master string `json:"master"` // the master onion address ("<56 chars>.onion")
}

// maxInstances is how many front-ends one master can carry: Onionbalance
// takes two introduction points from each, and a descriptor holds 20.
const maxInstances = 10

func (o *OnionbalanceConfig) check() error {
	addr, err := onion.CheckAddress(o.Master)
	if err != nil {
		return hint(fmt.Errorf("config: onionbalance: master: %w", err),
			"give the address 'cleandrop onionbalance-config' printed for the master key, e.g. \"master\": \"<56 characters>.onion\"")
	}
	o.Master = addr
	return nil
}

// instances is a repeatable --instance flag.
type instances []string

func (i *instances) String() string { return strings.Join(*i, ",") }
func (i *instances) Set(s string) error {
	addr, err := onion.CheckAddress(s)
	if err != nil {
		return err
	}
	if slices.Contains(*i, addr) {
		return fmt.Errorf("instance %s given twice", addr)
	}
	*i = append(*i, addr)
	return nil
}

// cmdOnionbalanceConfig makes the master onion's key if it is missing and
// prints the Onionbalance configuration (YAML) that publishes the master
// with the front-ends' reporter onions as its instances.
func cmdOnionbalanceConfig(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("onionbalance-config", flag.ContinueOnError)
	keyPath := fs.String("key", "", "the master onion's key `FILE` (PEM); made, mode 0600, if it does not exist")
	var inst instances
	fs.Var(&inst, "instance", "a front-end's reporter onion `ADDRESS` ('cleandrop check' prints it); repeat for each front-end")
	pos, err := parse(fs, args, stderr)
	if err != nil {
		return err
	}
	switch {
	case len(pos) > 0:
		return usageErr(fs, stderr, "unexpected argument "+pos[0])
	case *keyPath == "":
		return usageErr(fs, stderr, "--key is required")
	}
	abs, err := filepath.Abs(*keyPath)
	if err != nil {
		return err
	}
	master, made, err := masterKey(abs)
	if err != nil {
		return err
	}
	if made {
		fmt.Fprintf(stderr, "cleandrop: made the master key %s: keep it on the Onionbalance machine and in the offline backup\n", abs)
	}
	if len(inst) == 0 {
		// First step: the address goes into the front-ends' configurations.
		fmt.Fprintln(stdout, master)
		fmt.Fprintln(stderr, "cleandrop: put the master onion above in each front-end's configuration, \"onionbalance\": {\"master\": \"...\"}; then run this again with each front-end's --instance for Onionbalance's configuration")
		return nil
	}
	fmt.Fprintf(stderr, "cleandrop: master onion: %s\n", master)
	if len(inst) > maxInstances {
		return hint(fmt.Errorf("onionbalance-config: %d instances, at most %d", len(inst), maxInstances),
			"a descriptor holds 20 introduction points and Onionbalance takes two from each front-end: use a second master for more")
	}
	if slices.Contains(inst, master) {
		return errors.New("onionbalance-config: the master's own address is given as an instance")
	}
	fmt.Fprint(stdout, onionbalanceYAML(abs, master, inst))
	return nil
}

// masterKey reads the master key at path, or makes it when there is none.
func masterKey(path string) (addr string, made bool, err error) {
	b, err := readPrivate(path)
	if err == nil {
		addr, err = onion.MasterAddress(b)
		if err != nil {
			return "", false, hint(fmt.Errorf("%s: %w", path, err), "the master key is the PEM file this command made; give its path")
		}
		return addr, false, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return "", false, err
	}
	key, addr, err := onion.NewMasterKey()
	if err != nil {
		return "", false, err
	}
	if err := writeNew(path, key); err != nil {
		return "", false, err
	}
	return addr, true, nil
}

// onionbalanceYAML is Onionbalance's configuration for one master. The
// instances are written without ".onion", as Onionbalance compares them with
// the addresses in tor's events. Strings are JSON-quoted, which YAML reads.
func onionbalanceYAML(keyPath, master string, inst []string) string {
	q := func(s string) string { b, _ := json.Marshal(s); return string(b) }
	var b strings.Builder
	fmt.Fprintf(&b, "# Onionbalance configuration of the cleandrop master onion\n# %s\n", master)
	b.WriteString("# written by 'cleandrop onionbalance-config'; run: onionbalance -c THIS_FILE\n")
	b.WriteString("services:\n")
	fmt.Fprintf(&b, "  - key: %s\n", q(keyPath))
	b.WriteString("    instances:\n")
	for _, a := range inst {
		fmt.Fprintf(&b, "      - address: %s\n", q(strings.TrimSuffix(a, ".onion")))
	}
	return b.String()
}
