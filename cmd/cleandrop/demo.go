package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"cleandrop/drop/jurisdiction"
)

// cmdDemo runs the drop with demo agencies, making them on first start.
func cmdDemo(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	data := fs.String("data", defaultData, "data `DIR` (made 0700 on first start)")
	listen := fs.String("listen", defaultListen, "loopback `ADDR` for the reporter interface")
	deskListen := fs.String("desk-listen", defaultDeskListen, "loopback `ADDR` for the officer desk")
	noTor := fs.Bool("no-tor", false, "do not start tor even if it is installed")
	proxy := fs.Bool("loopback-proxy-protocol", false, "the loopback listeners expect a PROXY protocol v1 line per connection (testing)")
	juris := fs.String("jurisdiction", "", "jurisdiction pack `CODE` (see 'cleandrop pack list'): its bodies, language and deadlines, with training cases")
	storeFile := fs.String("store", "", "keep the vault in PostgreSQL and an S3 bucket: a JSON `FILE` holding a configuration's \"store\" section")
	if _, err := parse(fs, args, stderr); err != nil {
		return err
	}
	if err := checkLoopback(*listen); err != nil {
		return err
	}
	cfgPath, keys, err := demoSetup(*data, *juris)
	if err != nil {
		return err
	}
	cfg, err := loadConfig(cfgPath)
	if err != nil {
		return err
	}
	cfg.Listen = *listen
	if err := checkLoopback(*deskListen); err != nil {
		return err
	}
	cfg.DeskListen = *deskListen
	cfg.LoopbackProxyProtocol = *proxy
	if *storeFile != "" {
		if cfg.Store, err = loadStoreFile(*storeFile); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "cleandrop demo: vault in PostgreSQL and bucket %q at %s\n", cfg.Store.S3.Bucket, cfg.Store.S3.Endpoint)
	}
	fmt.Fprintf(stdout, "cleandrop demo: data in %s, configuration %s\n", cfg.DataDir, cfgPath)
	for _, k := range keys {
		fmt.Fprintf(stdout, "cleandrop demo: %s key of %q: %s\n", k.role(), k.agency, k.path)
	}
	if bk := demoBackupKey(*data); len(cfg.backup) > 0 {
		fmt.Fprintf(stdout, "cleandrop demo: backup key: %s (try: cleandrop backup --data %s -o FILE)\n", bk, *data)
	}
	fmt.Fprintln(stdout, "cleandrop demo: DEMO ONLY: these officer and backup keys sit beside the server; a real agency keeps them offline")
	if *juris != "" {
		n, file, err := seedTraining(cfg)
		if err != nil {
			return fmt.Errorf("demo training cases: %w", err)
		}
		if n > 0 {
			fmt.Fprintf(stdout, "cleandrop demo: %d training cases (jurisdiction %s, language %s); their receipts: %s\n", n, cfg.pack.Code, cfg.Language, file)
		}
	}
	return serve(cfg, serveOpts{demo: true, noTor: *noTor, stdout: stdout, stderr: stderr})
}

type demoKey struct {
	agency, path string
	custodian    bool // the agency's protection and rewards officer's key
}

func (k demoKey) role() string {
	if k.custodian {
		return "custodian"
	}
	return "officer"
}

// demoCustodian is the demo agency with a custodian, to whom reporters can
// seal their identity; the other shows an agency without one.
const demoCustodian = "acc"

var demoAgencies = []AgencyConfig{
	{ID: "acc", Name: "Anti-Corruption Commission (demo)", Sector: "anti_corruption", Central: true},
	{ID: "ppo", Name: "Public Procurement Oversight Office (demo)", Sector: "procurement"},
}

// demoSetup makes the demo configuration and officer keys on first run and
// returns the configuration's path and the keys' paths. With a
// jurisdiction, the agencies are the pack's bodies; a data directory
// keeps the jurisdiction it was made with.
func demoSetup(data, juris string) (string, []demoKey, error) {
	if err := checkPrivateDir(data); err != nil {
		return "", nil, err
	}
	dir := filepath.Join(data, "demo")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", nil, err
	}
	cfgPath := filepath.Join(dir, "config.json")
	agencies := slices.Clone(demoAgencies)
	if juris != "" {
		p, err := jurisdiction.Load(juris)
		if errors.Is(err, jurisdiction.ErrUnknown) {
			return "", nil, hint(err, "use one of "+strings.Join(jurisdiction.Codes(), ", "))
		}
		if err != nil {
			return "", nil, err
		}
		agencies = nil
		for _, b := range p.Bodies { // every body: the demo lists the pack's bodies
			agencies = append(agencies, AgencyConfig{ID: b.ID}) // the rest comes from the pack
		}
	}
	var keys []demoKey
	for _, a := range agencies {
		keys = append(keys, demoKey{agency: a.ID, path: filepath.Join(dir, "officer-"+a.ID+".key")})
	}
	// One agency has a custodian: "acc", or the pack's central body.
	custodian := demoCustodian
	if juris != "" {
		custodian = agencies[0].ID
	}
	keys = append(keys, demoKey{agency: custodian, path: filepath.Join(dir, "custodian-"+custodian+".key"), custodian: true})
	if b, err := os.ReadFile(cfgPath); err == nil {
		var old Config
		if err := json.Unmarshal(b, &old); err != nil {
			return "", nil, fmt.Errorf("demo config: %w", err)
		}
		if old.Jurisdiction != juris {
			return "", nil, hint(fmt.Errorf("the demo data in %s was made for jurisdiction %q, not %q", data, old.Jurisdiction, juris),
				"pass another --data directory for each jurisdiction")
		}
		return cfgPath, keys, nil
	} else if !errors.Is(err, os.ErrNotExist) {
		return "", nil, err
	}
	cfg := Config{DataDir: "..", Jurisdiction: juris, Agencies: agencies}
	for i := range cfg.Agencies {
		text, pub, err := newIdentity(false)
		if err != nil {
			return "", nil, err
		}
		if err := writeNew(keys[i].path, []byte(text)); err != nil {
			return "", nil, err
		}
		cfg.Agencies[i].Recipients = []string{pub}
	}
	for _, k := range keys {
		if !k.custodian {
			continue
		}
		text, pub, err := newIdentity(false)
		if err != nil {
			return "", nil, err
		}
		if err := writeNew(k.path, []byte(text)); err != nil {
			return "", nil, err
		}
		i := slices.IndexFunc(cfg.Agencies, func(a AgencyConfig) bool { return a.ID == k.agency })
		cfg.Agencies[i].Custodian = []string{pub}
	}
	// The backup key, to which 'cleandrop backup' seals: an officer's
	// key must never open a backup (it holds the pepper).
	text, pub, err := newIdentity(false)
	if err != nil {
		return "", nil, err
	}
	if err := writeNew(demoBackupKey(data), []byte(text)); err != nil {
		return "", nil, err
	}
	cfg.BackupRecipients = []string{pub}
	b, err := json.MarshalIndent(cfg, "", "  ")
	if err != nil {
		return "", nil, err
	}
	if err := writeNew(cfgPath, append(b, '\n')); err != nil {
		return "", nil, fmt.Errorf("demo config: %w", err)
	}
	return cfgPath, keys, nil
}

// demoBackupKey is the demo's backup identity file.
func demoBackupKey(data string) string { return filepath.Join(data, "demo", "backup.key") }
