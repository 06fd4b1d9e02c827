package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"filippo.io/age"

	"cleandrop/drop/receipt"
	"cleandrop/drop/stage"
	"cleandrop/drop/web"
)

// Config is the server's configuration file (JSON). Unknown fields are an
// error, so a typo never silently turns a setting off.
type Config struct {
	DataDir      string   `json:"data_dir"`
	Listen       string   `json:"listen,omitempty"`   // loopback address used with --no-tor
	Language     string   `json:"language,omitempty"` // default language of the reporter pages
	Receipts     string   `json:"receipts,omitempty"` // "words" (default) or "digits"
	MaxUploadMiB int64    `json:"max_upload_mib,omitempty"`
	PepperFile   string   `json:"pepper_file,omitempty"` // default <data_dir>/pepper
	Stages       []string `json:"stages,omitempty"`
	Deadlines    string   `json:"deadlines,omitempty"`   // "eu" (default) or "kr"
	DeskListen   string   `json:"desk_listen,omitempty"` // loopback address of the desk without Tor
	Tor          string   `json:"tor,omitempty"`         // tor binary, default "tor"
	// TorrcExtra adds lines to tor's configuration (a private test network's
	// DirAuthority lines); PublishTimeoutSeconds bounds the wait for the
	// onion descriptors.
	TorrcExtra            []string       `json:"torrc_extra,omitempty"`
	PublishTimeoutSeconds int            `json:"publish_timeout_seconds,omitempty"`
	Agencies              []AgencyConfig `json:"agencies"`

	// Filled in by load.
	path     string
	format   receipt.Format
	policy   stage.Policy
	agencies []agency
}

// AgencyConfig names one receiving agency and the age recipients (public
// keys) its items are sealed to.
type AgencyConfig struct {
	ID         string   `json:"id"`
	Name       string   `json:"name"`
	Recipients []string `json:"recipients"`
}

type agency struct {
	AgencyConfig
	recipients []age.Recipient
	pq         bool
}

const (
	defaultListen     = "127.0.0.1:8080"
	defaultDeskListen = "127.0.0.1:8081"
	defaultData       = "cleandrop-data"
)

var agencyID = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,31}$`)

// parseConfig reads and checks a configuration. Relative paths in it are
// relative to the file's directory.
func parseConfig(r io.Reader, path string) (*Config, error) {
	data, err := io.ReadAll(io.LimitReader(r, 1<<20))
	if err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var c Config
	if err := dec.Decode(&c); err != nil {
		return nil, hint(fmt.Errorf("config %s: %w", path, err), "the configuration is JSON; see docs/operations.md for every field")
	}
	if dec.More() {
		return nil, fmt.Errorf("config %s: trailing data after the JSON object", path)
	}
	c.path = path
	return &c, c.check()
}

func loadConfig(path string) (*Config, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, hint(fmt.Errorf("config: %w", err), "pass the file with --config, or run 'cleandrop demo' to try the drop")
	}
	defer f.Close()
	return parseConfig(f, path)
}

func (c *Config) check() error {
	base := filepath.Dir(c.path)
	if c.DataDir == "" {
		return hint(errors.New("config: data_dir is not set"), `add "data_dir": "/var/lib/cleandrop"`)
	}
	if !filepath.IsAbs(c.DataDir) {
		c.DataDir = filepath.Join(base, c.DataDir)
	}
	if c.PepperFile == "" {
		c.PepperFile = filepath.Join(c.DataDir, "pepper")
	} else if !filepath.IsAbs(c.PepperFile) {
		c.PepperFile = filepath.Join(base, c.PepperFile)
	}
	if c.Listen == "" {
		c.Listen = defaultListen
	}
	if err := checkLoopback(c.Listen); err != nil {
		return err
	}
	if c.Language == "" {
		c.Language = web.DefaultLanguage
	}
	f, err := receipt.ParseFormat(c.Receipts)
	if err != nil {
		return fmt.Errorf("config: %w", err)
	}
	c.format = f
	if c.MaxUploadMiB == 0 {
		c.MaxUploadMiB = 2048
	}
	if c.MaxUploadMiB < 1 || c.MaxUploadMiB > 64<<10 {
		return fmt.Errorf("config: max_upload_mib %d is out of range (1 to 65536)", c.MaxUploadMiB)
	}
	if len(c.Stages) == 0 {
		c.Stages = stage.Default
	}
	if c.Stages[0] != "received" {
		return hint(errors.New("config: the first stage must be \"received\""), "new cases start there")
	}
	if c.Deadlines == "" {
		c.Deadlines = "eu"
	}
	prof, ok := stage.Profiles[c.Deadlines]
	if !ok {
		return hint(fmt.Errorf("config: unknown deadlines profile %q", c.Deadlines), `use "eu" (Directive 2019/1937) or "kr" (60 days)`)
	}
	c.policy = stage.Policy{Name: prof.Name, Stages: c.Stages, Rules: prof.Rules}
	if err := c.policy.Check(); err != nil {
		return hint(fmt.Errorf("config: stages and deadlines: %w", err), "the deadlines profile needs its stages in the list")
	}
	if c.DeskListen == "" {
		c.DeskListen = defaultDeskListen
	}
	if err := checkLoopback(c.DeskListen); err != nil {
		return err
	}
	if c.Tor == "" {
		c.Tor = "tor"
	}
	if len(c.Agencies) == 0 {
		return hint(errors.New("config: no agencies"), "add at least one agency with its age recipients")
	}
	seen := map[string]bool{}
	for i, a := range c.Agencies {
		if !agencyID.MatchString(a.ID) {
			return hint(fmt.Errorf("config: agency %d: id %q is not valid", i+1, a.ID), "use 1-32 lower-case letters, digits and hyphens")
		}
		if seen[a.ID] {
			return fmt.Errorf("config: agency %q is listed twice", a.ID)
		}
		seen[a.ID] = true
		if strings.TrimSpace(a.Name) == "" {
			return fmt.Errorf("config: agency %q has no name", a.ID)
		}
		ag := agency{AgencyConfig: a}
		if len(a.Recipients) == 0 {
			return hint(fmt.Errorf("config: agency %q has no recipients", a.ID), "generate an officer key on the offline machine with 'cleandrop keygen' and add its public key")
		}
		for j, s := range a.Recipients {
			r, pq, err := parseRecipient(s)
			if err != nil {
				return hint(fmt.Errorf("config: agency %q: recipient %d is not a valid age public key: %w", a.ID, j+1, err),
					"recipients look like age1... (X25519) or age1pq1... (post-quantum); never put a secret key (AGE-SECRET-KEY-...) on the server")
			}
			if j > 0 && pq != ag.pq {
				return hint(fmt.Errorf("config: agency %q mixes post-quantum and classic recipients", a.ID), "age refuses to mix them in one file: give each agency one kind")
			}
			ag.pq = pq
			ag.recipients = append(ag.recipients, r)
		}
		c.agencies = append(c.agencies, ag)
	}
	return nil
}

func checkLoopback(addr string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return hint(fmt.Errorf("listen address %q: %w", addr, err), "use 127.0.0.1:PORT")
	}
	if host == "localhost" {
		return nil
	}
	ip, err := netip.ParseAddr(host)
	if err != nil || !ip.IsLoopback() {
		return hint(fmt.Errorf("listen address %q is not a loopback address", addr),
			"the drop is reached through Tor; it never listens on a public address (use 127.0.0.1:PORT)")
	}
	return nil
}

// checkPrivateDir refuses a data directory that others can read or enter.
func checkPrivateDir(dir string) error {
	st, err := os.Stat(dir)
	if errors.Is(err, os.ErrNotExist) {
		return os.MkdirAll(dir, 0o700)
	}
	if err != nil {
		return err
	}
	if !st.IsDir() {
		return fmt.Errorf("data directory %s is not a directory", dir)
	}
	if st.Mode().Perm()&0o077 != 0 {
		return hint(fmt.Errorf("data directory %s is open to other users (mode %04o)", dir, st.Mode().Perm()),
			"run: chmod 700 "+dir)
	}
	return nil
}

// parseRecipient parses one age public key: X25519 ("age1...") or hybrid
// post-quantum ("age1pq1..."), which pq reports.
func parseRecipient(s string) (r age.Recipient, pq bool, err error) {
	s = strings.TrimSpace(s)
	if strings.HasPrefix(s, "age1pq1") {
		r, err = age.ParseHybridRecipient(s)
		return r, true, err
	}
	r, err = age.ParseX25519Recipient(s)
	return r, false, err
}
