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
)

// cmdDemo runs the drop with demo agencies, making them on first start.
func cmdDemo(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	data := fs.String("data", defaultData, "data `DIR` (made 0700 on first start)")
	listen := fs.String("listen", defaultListen, "loopback `ADDR` for the reporter interface")
	deskListen := fs.String("desk-listen", defaultDeskListen, "loopback `ADDR` for the officer desk")
	noTor := fs.Bool("no-tor", false, "do not start tor even if it is installed")
	proxy := fs.Bool("loopback-proxy-protocol", false, "the loopback listeners expect a PROXY protocol v1 line per connection (testing)")
	if _, err := parse(fs, args, stderr); err != nil {
		return err
	}
	if err := checkLoopback(*listen); err != nil {
		return err
	}
	cfgPath, keys, err := demoSetup(*data)
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
	fmt.Fprintf(stdout, "cleandrop demo: data in %s, configuration %s\n", cfg.DataDir, cfgPath)
	for _, k := range keys {
		fmt.Fprintf(stdout, "cleandrop demo: %s key of %q: %s\n", k.role(), k.agency, k.path)
	}
	fmt.Fprintln(stdout, "cleandrop demo: DEMO ONLY: these officer keys sit beside the server; a real agency keeps them offline")
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
	{ID: "acc", Name: "Anti-Corruption Commission (demo)"},
	{ID: "ppo", Name: "Public Procurement Oversight Office (demo)"},
}

// demoSetup makes the demo configuration and officer keys on first run and
// returns the configuration's path and the keys' paths.
func demoSetup(data string) (string, []demoKey, error) {
	if err := checkPrivateDir(data); err != nil {
		return "", nil, err
	}
	dir := filepath.Join(data, "demo")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", nil, err
	}
	cfgPath := filepath.Join(dir, "config.json")
	var keys []demoKey
	for _, a := range demoAgencies {
		keys = append(keys, demoKey{agency: a.ID, path: filepath.Join(dir, "officer-"+a.ID+".key")})
	}
	keys = append(keys, demoKey{agency: demoCustodian, path: filepath.Join(dir, "custodian-"+demoCustodian+".key"), custodian: true})
	if _, err := os.Stat(cfgPath); err == nil {
		return cfgPath, keys, nil
	} else if !errors.Is(err, os.ErrNotExist) {
		return "", nil, err
	}
	cfg := Config{DataDir: "..", Agencies: slices.Clone(demoAgencies)}
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
	b, err := json.MarshalIndent(cfg, "", "  ")
	if err != nil {
		return "", nil, err
	}
	if err := writeNew(cfgPath, append(b, '\n')); err != nil {
		return "", nil, fmt.Errorf("demo config: %w", err)
	}
	return cfgPath, keys, nil
}
