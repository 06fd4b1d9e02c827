package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/mail"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"filippo.io/age"

	"cleandrop/drop/jurisdiction"
	"cleandrop/drop/notify"
	"cleandrop/drop/receipt"
	"cleandrop/drop/source"
	"cleandrop/drop/stage"
	"cleandrop/drop/web"
	"cleandrop/vault"
)

// Config is the server's configuration file (JSON). Unknown fields are an
// error, so a typo never silently turns a setting off.
type Config struct {
	DataDir      string `json:"data_dir"`
	Listen       string `json:"listen,omitempty"`   // loopback address used with --no-tor
	Language     string `json:"language,omitempty"` // default language of the reporter pages
	Receipts     string `json:"receipts,omitempty"` // "words" (default) or "digits"
	MaxUploadMiB int64  `json:"max_upload_mib,omitempty"`
	// MinFreeMiB is the free space the data directory's file system
	// keeps: below it new uploads are refused, and an upload that
	// crosses it is cut. Absent: [defaultMinFreeMiB]; 0 disables.
	MinFreeMiB *int64 `json:"min_free_mib,omitempty"`
	// MaxUploads bounds the uploads each interface streams in at once;
	// UploadIdleSeconds cuts a request body that sends nothing for that
	// long; MaxFiles bounds the files of one report or answer.
	MaxUploads int `json:"max_uploads,omitempty"`
	// MaxUploadsPerCircuit bounds the uploads one Tor circuit streams in
	// at once, within max_uploads.
	MaxUploadsPerCircuit int      `json:"max_uploads_per_circuit,omitempty"`
	UploadIdleSeconds    int      `json:"upload_idle_seconds,omitempty"`
	MaxFiles             int      `json:"max_files,omitempty"`
	PepperFile           string   `json:"pepper_file,omitempty"` // default <data_dir>/pepper
	Stages               []string `json:"stages,omitempty"`
	// Jurisdiction names the jurisdiction pack (drop/jurisdiction): an
	// embedded pack's code ("mn") or the path of a pack folder of the
	// operator's own. Its stages and deadlines become the policy, its
	// default language the reporter pages' (unless language is set), and
	// its bodies fill in the agencies' fields the configuration leaves out.
	Jurisdiction string `json:"jurisdiction,omitempty"`
	// Deadlines is the old way to choose a deadline profile ("eu" or
	// "kr"); it still works, with a warning.
	Deadlines  string `json:"deadlines,omitempty"`
	DeskListen string `json:"desk_listen,omitempty"` // loopback address of the desk without Tor
	Tor        string `json:"tor,omitempty"`         // tor binary, default "tor"
	// LoopbackProxyProtocol makes the loopback listeners (--no-tor, demo)
	// expect a PROXY protocol v1 line at the start of every connection, as
	// the onion listeners always do, so that clients are told apart by it
	// (for tests, or a relay in front); without it all loopback clients
	// are one circuit.
	LoopbackProxyProtocol bool `json:"loopback_proxy_protocol,omitempty"`
	// MemoryLimitMiB is the most the process's soft memory limit (Go's
	// runtime/debug.SetMemoryLimit) may reach: the limit follows the live
	// heap and the argon2 derivations running (memory.go), and two of
	// those take 128 MiB.
	MemoryLimitMiB int64 `json:"memory_limit_mib,omitempty"`
	// TorrcExtra adds lines to tor's configuration (a private test network's
	// DirAuthority lines); PublishTimeoutSeconds bounds the wait for the
	// onion descriptors.
	TorrcExtra            []string `json:"torrc_extra,omitempty"`
	PublishTimeoutSeconds int      `json:"publish_timeout_seconds,omitempty"`
	// Onionbalance, when set, publishes the reporter onion as an instance
	// of an Onionbalance master (docs/operations.md, National deployment).
	Onionbalance *OnionbalanceConfig `json:"onionbalance,omitempty"`
	Agencies     []AgencyConfig      `json:"agencies"`
	// Notify, when set, sends officers who opted in a daily digest.
	Notify *NotifyConfig `json:"notify,omitempty"`
	// WriteInterval is the period of the vault's write schedule, a Go
	// duration ("1s", default): commits wait for the next multiple of it,
	// and the vault and audit log write and set their file times at every
	// one, so that file times say nothing of when anyone reported.
	WriteInterval string `json:"write_interval,omitempty"`
	// PublicStats serves reporters a statistics page (/stats): reports per
	// agency and complete month, counts below 5 hidden, computed at most
	// once a day. Off by default (docs/threat-model.md says what it shows).
	PublicStats bool `json:"public_stats,omitempty"`
	// BackupRecipients are the age recipients 'cleandrop backup' seals the
	// whole data directory to (pepper and signing key included): keys held
	// offline by whoever may restore the drop, never an officer's.
	BackupRecipients []string `json:"backup_recipients,omitempty"`
	// Store, when set, keeps the vault in PostgreSQL and an S3 object
	// store that several front-ends share (docs/operations.md, national
	// deployment); absent, the vault is embedded in data_dir.
	Store *StoreConfig `json:"store,omitempty"`

	// Filled in by load.
	path     string
	tick     time.Duration
	format   receipt.Format
	policy   stage.Policy
	pack     *jurisdiction.Pack
	agencies []agency
	backup   []age.Recipient
	warnings []string // printed by the commands that load a configuration
}

// AgencyConfig names one receiving agency and the age recipients (public
// keys) its items are sealed to, and how reporters find it in the
// directory (/agencies).
type AgencyConfig struct {
	ID   string `json:"id"`
	Name string `json:"name"` // in English
	// Names are its names in other languages, by language code; Translit
	// writes the local name in Latin letters (optional: the directory
	// transliterates Cyrillic and Hangul itself).
	Names    map[string]string `json:"names,omitempty"`
	Translit string            `json:"translit,omitempty"`
	// Sector is one of source.Sectors (default "other"); Region is
	// "national" (the default) or a region id of the jurisdiction.
	Sector string `json:"sector,omitempty"`
	Region string `json:"region,omitempty"`
	// Keywords are search words by language code.
	Keywords map[string][]string `json:"keywords,omitempty"`
	// Central marks the central anti-corruption body, offered first as "I
	// don't know who is competent"; at most one agency has it. An agency
	// whose id is one of the jurisdiction pack's bodies takes each of these
	// directory fields it leaves unset from the pack.
	Central    bool     `json:"central,omitempty"`
	Recipients []string `json:"recipients"`
	// Custodian are the age recipients of the agency's protection and
	// rewards officer: a reporter's identity is sealed to them only. None:
	// the agency takes no identity.
	Custodian []string `json:"custodian,omitempty"`
}

// NotifyConfig is the mail account and hour of the officers' daily
// notification digest (drop/notify). Officers opt in one by one with
// 'cleandrop officer notify'.
type NotifyConfig struct {
	SMTP         string `json:"smtp"`                    // host:port of the mail submission server
	TLS          string `json:"tls,omitempty"`           // "starttls" (default), "tls" (port 465) or "none" (loopback only)
	From         string `json:"from"`                    // sender address, e.g. "drop@agency.example"
	Hour         *int   `json:"hour"`                    // 0-23: the digest goes out at this hour every day
	Zone         string `json:"zone,omitempty"`          // IANA time zone of hour, default UTC
	Username     string `json:"username,omitempty"`      // SMTP AUTH PLAIN, with password_file
	PasswordFile string `json:"password_file,omitempty"` // file holding the SMTP password (mode 0600)
	// ViaTor sends the mail through a Tor client's SOCKS5 port, so the mail
	// server does not learn the drop's address. Unset: on when the drop
	// runs with Tor and the mail server is not on loopback.
	ViaTor *bool  `json:"via_tor,omitempty"`
	Socks  string `json:"socks,omitempty"` // that SOCKS5 port, default 127.0.0.1:9050

	// Filled in by check.
	loc      *time.Location
	loopback bool // the mail server is on a loopback IP
	onion    bool // the mail server is an onion service
}

// defaultSocks is the SOCKS port of Debian's tor service.
const defaultSocks = "127.0.0.1:9050"

type agency struct {
	AgencyConfig
	recipients []age.Recipient
	pq         bool
	custodian  []age.Recipient
}

// source is the agency as the reporter interface sees it.
func (a agency) source() source.Agency {
	return source.Agency{
		ID: a.ID, Name: a.Name, PQ: a.pq, Names: a.Names, Translit: a.Translit,
		Sector: a.Sector, Region: a.Region, Keywords: a.Keywords, Central: a.Central,
		Custodian: len(a.custodian) > 0,
	}
}

const (
	defaultListen     = "127.0.0.1:8080"
	defaultDeskListen = "127.0.0.1:8081"
	// defaultMemoryLimitMiB leaves ~96 MiB beside two argon2 derivations
	// for Badger's caches and memtables (8 + 4 + 2 x 4 MiB) and the rest;
	// the limit is usually well below it (memory.go).
	defaultMemoryLimitMiB = 224
	defaultData           = "cleandrop-data"
)

// maxConfig bounds the configuration file: room for thousands of agencies.
const maxConfig = 16 << 20

var agencyID = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,31}$`)

// parseConfig reads and checks a configuration. Relative paths in it are
// relative to the file's directory.
func parseConfig(r io.Reader, path string) (*Config, error) {
	data, err := io.ReadAll(io.LimitReader(r, maxConfig+1))
	if err != nil {
		return nil, err
	}
	if len(data) > maxConfig {
		return nil, hint(fmt.Errorf("config %s: larger than %d MiB", path, maxConfig>>20), "a thousand agencies with names and keywords in several languages take about 1 MiB")
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

// bodyIdle is how long a request body may send nothing.
func (c *Config) bodyIdle() time.Duration { return time.Duration(c.UploadIdleSeconds) * time.Second }

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
	f, err := receipt.ParseFormat(c.Receipts)
	if err != nil {
		return fmt.Errorf("config: %w", err)
	}
	c.format = f
	if c.MemoryLimitMiB == 0 {
		c.MemoryLimitMiB = defaultMemoryLimitMiB
	}
	if c.MemoryLimitMiB < 192 || c.MemoryLimitMiB > 1<<20 {
		return fmt.Errorf("config: memory_limit_mib %d is out of range (192 to 1048576; two receipt derivations alone take 128)", c.MemoryLimitMiB)
	}
	if c.MaxUploadMiB == 0 {
		c.MaxUploadMiB = 2048
	}
	if c.MinFreeMiB != nil && (*c.MinFreeMiB < 0 || *c.MinFreeMiB > 1<<30) {
		return fmt.Errorf("config: min_free_mib %d is out of range (0 to 1073741824)", *c.MinFreeMiB)
	}
	if c.MaxUploadMiB < 1 || c.MaxUploadMiB > 64<<10 {
		return fmt.Errorf("config: max_upload_mib %d is out of range (1 to 65536)", c.MaxUploadMiB)
	}
	if c.MaxUploads == 0 {
		c.MaxUploads = web.DefaultMaxUploads
	}
	if c.MaxUploads < 1 || c.MaxUploads > 4096 {
		return fmt.Errorf("config: max_uploads %d is out of range (1 to 4096)", c.MaxUploads)
	}
	if c.MaxUploadsPerCircuit == 0 {
		c.MaxUploadsPerCircuit = web.DefaultUploadsPerCircuit
	}
	if c.MaxUploadsPerCircuit < 1 || c.MaxUploadsPerCircuit > c.MaxUploads {
		return fmt.Errorf("config: max_uploads_per_circuit %d is out of range (1 to max_uploads, %d)", c.MaxUploadsPerCircuit, c.MaxUploads)
	}
	if c.UploadIdleSeconds == 0 {
		c.UploadIdleSeconds = int(web.DefaultBodyIdle / time.Second)
	}
	if c.UploadIdleSeconds < 5 || c.UploadIdleSeconds > 3600 {
		return hint(fmt.Errorf("config: upload_idle_seconds %d is out of range (5 to 3600)", c.UploadIdleSeconds),
			"Tor is slow, not silent: a minute without a single byte is generous")
	}
	if c.MaxFiles == 0 {
		c.MaxFiles = web.DefaultMaxFiles
	}
	if c.MaxFiles < 1 || c.MaxFiles > 1000 {
		return fmt.Errorf("config: max_files %d is out of range (1 to 1000)", c.MaxFiles)
	}
	if err := c.checkJurisdiction(base); err != nil {
		return err
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
	if c.Onionbalance != nil {
		if err := c.Onionbalance.check(); err != nil {
			return err
		}
		if c.Store == nil {
			c.warnings = append(c.warnings, `config: "onionbalance" with the embedded vault: each front-end keeps its own cases, so a receipt opens its case only on the front-end that took the report; give every front-end the same "store"`)
		}
	}
	if err := c.checkWriteInterval(); err != nil {
		return err
	}
	if len(c.Agencies) == 0 {
		return hint(errors.New("config: no agencies"), "add at least one agency with its age recipients")
	}
	seen := map[string]bool{}
	central := ""
	for i, a := range c.Agencies {
		if !agencyID.MatchString(a.ID) {
			return hint(fmt.Errorf("config: agency %d: id %q is not valid", i+1, a.ID), "use 1-32 lower-case letters, digits and hyphens")
		}
		if seen[a.ID] {
			return fmt.Errorf("config: agency %q is listed twice", a.ID)
		}
		seen[a.ID] = true
		c.Agencies[i] = c.fromPack(a)
		if err := checkDirectory(&c.Agencies[i]); err != nil {
			return err
		}
		a = c.Agencies[i]
		if strings.TrimSpace(a.Name) == "" {
			return fmt.Errorf("config: agency %q has no name", a.ID)
		}
		if a.Central {
			if central != "" {
				return hint(fmt.Errorf("config: agencies %q and %q are both central", central, a.ID), "mark only the central anti-corruption body \"central\": true")
			}
			central = a.ID
		}
		ag := agency{AgencyConfig: a}
		if len(a.Recipients) == 0 {
			return hint(fmt.Errorf("config: agency %q has no recipients", a.ID), "generate an officer key on the offline machine with 'cleandrop keygen' and add its public key")
		}
		var err error
		ag.recipients, ag.pq, err = parseRecipients(a.Recipients)
		var bad *badRecipient
		switch {
		case errors.As(err, &bad):
			return hint(fmt.Errorf("config: agency %q: recipient %d is not a valid age public key: %w", a.ID, bad.i+1, bad.err),
				"recipients look like age1... (X25519) or age1pq1... (post-quantum); never put a secret key (AGE-SECRET-KEY-...) on the server")
		case err != nil:
			return hint(fmt.Errorf("config: agency %q: %w", a.ID, err), "age refuses to mix them in one file: give each agency one kind")
		}
		if ag.custodian, err = checkCustodian(a); err != nil {
			return err
		}
		c.agencies = append(c.agencies, ag)
	}
	if err := c.checkBackup(); err != nil {
		return err
	}
	if c.Store != nil {
		if err := c.Store.check(base); err != nil {
			return err
		}
	}
	if c.Notify != nil {
		return c.Notify.check(base)
	}
	return nil
}

// checkJurisdiction loads the jurisdiction pack and sets the policy and
// the default language from it. An old configuration with "deadlines" and
// no "jurisdiction" keeps its profile, its stages and English, with a
// warning.
func (c *Config) checkJurisdiction(base string) error {
	const see = "see docs/jurisdictions.md; 'cleandrop pack list' shows the built-in packs"
	if c.Jurisdiction != "" && c.Deadlines != "" {
		return hint(errors.New(`config: both "jurisdiction" and "deadlines" are set`), `remove "deadlines": the jurisdiction pack sets the deadlines`)
	}
	if c.Jurisdiction != "" && len(c.Stages) > 0 {
		return hint(errors.New(`config: both "jurisdiction" and "stages" are set`), "the pack sets the stages: remove \"stages\", or copy the pack into a folder of your own and change them there")
	}
	code, old := c.Jurisdiction, false
	switch {
	case code == "" && c.Deadlines != "":
		code, old = c.Deadlines, true
		if _, ok := stage.Profiles[code]; !ok {
			return hint(fmt.Errorf("config: unknown deadlines profile %q", code), `replace "deadlines" with "jurisdiction": one of `+strings.Join(jurisdiction.Codes(), ", "))
		}
		c.warnings = append(c.warnings, fmt.Sprintf(`config: "deadlines" is deprecated; use "jurisdiction": %q instead (its default language, %s, then applies unless "language" is set)`, code, mustDefault(code)))
	case code == "":
		code, old = "eu", true // the drop's default before packs: the EU profile, English
	}
	var err error
	if isPackPath(code) {
		dir := code
		if !filepath.IsAbs(dir) {
			dir = filepath.Join(base, dir)
		}
		c.pack, err = jurisdiction.LoadDir(dir)
	} else {
		c.pack, err = jurisdiction.Load(code)
	}
	if errors.Is(err, jurisdiction.ErrUnknown) {
		return hint(fmt.Errorf("config: unknown jurisdiction %q", code), "use one of "+strings.Join(jurisdiction.Codes(), ", ")+", or the path of a pack folder (./mypack)")
	}
	if err != nil {
		return hint(fmt.Errorf("config: jurisdiction: %w", err), "run 'cleandrop pack check "+code+"' for every problem; "+see)
	}
	if old {
		prof := stage.Profiles[code]
		if len(c.Stages) == 0 {
			c.Stages = stage.Default
		}
		c.policy = stage.Policy{Name: prof.Name, Stages: c.Stages, Rules: prof.Rules}
		if c.Language == "" {
			c.Language = web.DefaultLanguage
		}
	} else {
		c.policy = c.pack.Policy()
		c.Stages = c.policy.Stages
		if c.Language == "" {
			c.Language = c.pack.Default()
		}
	}
	if c.Stages[0] != vault.InitialStage {
		return hint(fmt.Errorf("config: the first stage must be %q", vault.InitialStage), "new cases start there")
	}
	if err := c.policy.Check(); err != nil {
		return hint(fmt.Errorf("config: stages and deadlines: %w", err), "the deadlines need their stages in the list")
	}
	return nil
}

var (
	langCode = regexp.MustCompile(`^[a-z]{2,3}$`)
	regionID = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,31}$`)
)

// Bounds of an agency's directory fields, so that one entry cannot make the
// directory's pages heavy.
const (
	maxAgencyName = 200
	maxKeywords   = 50 // per language
	maxKeyword    = 64
)

// checkDirectory checks and completes the directory fields of an agency:
// its names, transliteration, sector, region and keywords.
func checkDirectory(a *AgencyConfig) error {
	if utf8.RuneCountInString(a.Name) > maxAgencyName {
		return fmt.Errorf("config: agency %q: name is longer than %d characters", a.ID, maxAgencyName)
	}
	for l, n := range a.Names {
		if !langCode.MatchString(l) {
			return hint(fmt.Errorf("config: agency %q: names: %q is not a language code", a.ID, l), `use two- or three-letter codes, e.g. "names": {"mn": "..."}`)
		}
		if strings.TrimSpace(n) == "" || utf8.RuneCountInString(n) > maxAgencyName || !utf8.ValidString(n) {
			return fmt.Errorf("config: agency %q: the %s name is empty or longer than %d characters", a.ID, l, maxAgencyName)
		}
	}
	if utf8.RuneCountInString(a.Translit) > maxAgencyName {
		return fmt.Errorf("config: agency %q: translit is longer than %d characters", a.ID, maxAgencyName)
	}
	if a.Sector == "" {
		a.Sector = "other"
	}
	if !source.KnownSector(a.Sector) {
		return hint(fmt.Errorf("config: agency %q: unknown sector %q", a.ID, a.Sector), "use one of: "+strings.Join(source.Sectors(), ", "))
	}
	if a.Region == "" {
		a.Region = source.National
	}
	if !regionID.MatchString(a.Region) {
		return hint(fmt.Errorf("config: agency %q: region %q is not valid", a.ID, a.Region), `use "national" or a region id of 1-32 lower-case letters, digits, "-" and "_"`)
	}
	for l, ks := range a.Keywords {
		if !langCode.MatchString(l) {
			return hint(fmt.Errorf("config: agency %q: keywords: %q is not a language code", a.ID, l), `e.g. "keywords": {"en": ["bribe"], "mn": ["авлига"]}`)
		}
		if len(ks) > maxKeywords {
			return fmt.Errorf("config: agency %q: more than %d %s keywords", a.ID, maxKeywords, l)
		}
		for _, k := range ks {
			if strings.TrimSpace(k) == "" || utf8.RuneCountInString(k) > maxKeyword || !utf8.ValidString(k) {
				return fmt.Errorf("config: agency %q: a %s keyword is empty or longer than %d characters", a.ID, l, maxKeyword)
			}
		}
	}
	return nil
}

// isPackPath tells a pack folder's path from an embedded pack's code.
func isPackPath(s string) bool {
	return strings.ContainsAny(s, `/\`) || strings.HasPrefix(s, ".")
}

func mustDefault(code string) string {
	if p, err := jurisdiction.Load(code); err == nil {
		return p.Default()
	}
	return "?"
}

// fromPack fills the fields a configured agency leaves unset from the
// pack's body with the same id: the configuration wins for what it sets.
func (c *Config) fromPack(a AgencyConfig) AgencyConfig {
	if c.pack == nil {
		return a
	}
	b, ok := c.pack.Body(a.ID)
	if !ok {
		return a
	}
	if strings.TrimSpace(a.Name) == "" {
		a.Name = b.Name
	}
	if a.Names == nil {
		a.Names = b.Names
	}
	if a.Translit == "" {
		a.Translit = b.Translit
	}
	if a.Sector == "" {
		a.Sector = b.Sector
	}
	if a.Region == "" {
		a.Region = b.Region
	}
	if a.Keywords == nil {
		a.Keywords = b.Keywords
	}
	if !a.Central {
		a.Central = b.Central
	}
	return a
}

// checkWriteInterval parses write_interval: between 10ms and 1h, and a
// divisor of a day, so that a tick falls on every midnight.
func (c *Config) checkWriteInterval() error {
	c.tick = vault.DefaultTick
	if c.WriteInterval == "" {
		return nil
	}
	d, err := time.ParseDuration(c.WriteInterval)
	const day = 24 * time.Hour
	if err != nil || d < 10*time.Millisecond || d > time.Hour || day%d != 0 {
		return hint(fmt.Errorf("config: write_interval %q is not a period from 10ms to 1h that divides a day", c.WriteInterval),
			`e.g. "write_interval": "1s" (the default) or "2s"`)
	}
	c.tick = d
	return nil
}

func (n *NotifyConfig) check(base string) error {
	const docs = "see \"Officer digest\" in docs/operations.md"
	host, _, err := net.SplitHostPort(n.SMTP)
	if err != nil || host == "" {
		return hint(fmt.Errorf("config: notify: smtp %q is not host:port", n.SMTP), `e.g. "smtp": "mail.agency.example:587"`)
	}
	ip, err := netip.ParseAddr(host)
	n.loopback = err == nil && ip.IsLoopback()
	switch n.TLS {
	case "":
		n.TLS = notify.TLSStart
	case notify.TLSStart, notify.TLSImplicit:
	case notify.TLSNone:
		if !n.loopback {
			return hint(fmt.Errorf("config: notify: tls \"none\" to %s", host),
				`mail leaves the machine only over TLS: use "starttls" (port 587) or "tls" (port 465); "none" is for a relay on 127.0.0.1`)
		}
	default:
		return hint(fmt.Errorf("config: notify: unknown tls mode %q", n.TLS), `use "starttls", "tls" or "none"`)
	}
	if a, err := mail.ParseAddress(n.From); err != nil || !strings.Contains(a.Address, "@") {
		return hint(fmt.Errorf("config: notify: from %q is not an e-mail address", n.From), `e.g. "from": "drop@agency.example"`)
	}
	if n.Hour == nil {
		return hint(errors.New("config: notify: hour is not set"), `add e.g. "hour": 7; the digest goes out every day at that hour`)
	}
	if *n.Hour < 0 || *n.Hour > 23 {
		return fmt.Errorf("config: notify: hour %d is out of range (0 to 23)", *n.Hour)
	}
	n.loc = time.UTC
	if n.Zone != "" {
		if n.loc, err = time.LoadLocation(n.Zone); err != nil {
			return hint(fmt.Errorf("config: notify: zone %q: %w", n.Zone, err), `use an IANA zone name such as "Europe/Berlin", or leave it out for UTC`)
		}
	}
	if (n.Username == "") != (n.PasswordFile == "") {
		return hint(errors.New("config: notify: username and password_file go together"), docs)
	}
	if n.PasswordFile != "" {
		if !filepath.IsAbs(n.PasswordFile) {
			n.PasswordFile = filepath.Join(base, n.PasswordFile)
		}
	}
	if n.Socks == "" {
		n.Socks = defaultSocks
	}
	if err := checkLoopback(n.Socks); err != nil {
		return hint(fmt.Errorf("config: notify: socks %q must be a Tor SOCKS5 port on this machine", n.Socks), "use 127.0.0.1:9050 (the tor service's SocksPort)")
	}
	if n.ViaTor != nil && *n.ViaTor && n.loopback {
		return hint(fmt.Errorf("config: notify: via_tor with a mail server on %s", host),
			"Tor does not connect to loopback addresses: set \"via_tor\": false for a relay on this machine")
	}
	n.onion = strings.HasSuffix(strings.ToLower(host), ".onion")
	if n.onion && n.ViaTor != nil && !*n.ViaTor {
		return hint(fmt.Errorf("config: notify: %s is an onion address but via_tor is false", host), "remove \"via_tor\": false")
	}
	return nil
}

// viaTor reports whether the digest goes out through Tor's SOCKS port
// when the drop runs with or without Tor.
func (n *NotifyConfig) viaTor(torOn bool) bool {
	if n.ViaTor != nil {
		return *n.ViaTor
	}
	return n.onion || torOn && !n.loopback
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

// checkCustodian parses an agency's custodian recipients: valid age keys
// of one kind, none of them also a case officer's key (which would let the
// case officers open the identities).
func checkCustodian(a AgencyConfig) ([]age.Recipient, error) {
	if len(a.Custodian) == 0 {
		return nil, nil
	}
	rs, _, err := parseRecipients(a.Custodian)
	var bad *badRecipient
	switch {
	case errors.As(err, &bad):
		return nil, hint(fmt.Errorf("config: agency %q: custodian recipient %d is not a valid age public key: %w", a.ID, bad.i+1, bad.err),
			"the custodian makes a key on their own offline machine with 'cleandrop keygen' and gives you its public half (age1...)")
	case err != nil:
		return nil, hint(fmt.Errorf("config: agency %q: custodian: %w", a.ID, err), "age refuses to mix them in one file: give the custodian one kind")
	}
	for _, k := range a.Custodian {
		for _, o := range a.Recipients {
			if strings.TrimSpace(k) == strings.TrimSpace(o) {
				return nil, hint(fmt.Errorf("config: agency %q: custodian key %s is also a case officer's key", a.ID, strings.TrimSpace(k)),
					"the custodian needs a key of their own: the case officers must not be able to open a reporter's identity")
			}
		}
	}
	return rs, nil
}

// checkBackup parses the backup recipients: valid age keys of one kind,
// none of them an officer's or a custodian's (a backup holds the pepper,
// which opens every case's follow-up to whoever also has a receipt).
func (c *Config) checkBackup() error {
	if len(c.BackupRecipients) == 0 {
		return nil
	}
	rs, _, err := parseRecipients(c.BackupRecipients)
	var bad *badRecipient
	switch {
	case errors.As(err, &bad):
		return hint(fmt.Errorf("config: backup recipient %d is not a valid age public key: %w", bad.i+1, bad.err),
			"make the backup key offline with 'cleandrop keygen' and put its public half (age1...) here")
	case err != nil:
		return hint(fmt.Errorf("config: backup_recipients: %w", err), "age refuses to mix them in one file: use one kind")
	}
	for _, k := range c.BackupRecipients {
		for _, a := range c.Agencies {
			if slices.ContainsFunc(append(slices.Clone(a.Recipients), a.Custodian...), func(o string) bool { return strings.TrimSpace(o) == strings.TrimSpace(k) }) {
				return hint(fmt.Errorf("config: backup key %s is also a key of agency %q", strings.TrimSpace(k), a.ID),
					"the backup holds the pepper and the signing key: give it a key of its own, kept offline")
			}
		}
	}
	c.backup = rs
	return nil
}

// errMixedKinds: age refuses to seal to post-quantum and classic keys at once.
var errMixedKinds = errors.New("the recipients mix post-quantum and classic keys")

// badRecipient names the key of a list that did not parse.
type badRecipient struct {
	i   int
	err error
}

func (b *badRecipient) Error() string { return b.err.Error() }

// parseRecipients parses a list of age public keys, all of one kind; pq
// says which.
func parseRecipients(keys []string) (rs []age.Recipient, pq bool, err error) {
	for i, k := range keys {
		r, isPQ, err := parseRecipient(k)
		if err != nil {
			return nil, false, &badRecipient{i: i, err: err}
		}
		if i > 0 && isPQ != pq {
			return nil, false, errMixedKinds
		}
		rs, pq = append(rs, r), isPQ
	}
	return rs, pq, nil
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

// password reads the SMTP password from PasswordFile ("" without one). Only
// the server and 'cleandrop check' read it; other commands never do.
func (n *NotifyConfig) password() (string, error) {
	if n.PasswordFile == "" {
		return "", nil
	}
	b, err := readPrivate(n.PasswordFile)
	if err != nil {
		return "", fmt.Errorf("config: notify: password file: %w", err)
	}
	pw := strings.TrimRight(string(b), "\r\n")
	if pw == "" {
		return "", hint(fmt.Errorf("config: notify: password file %s is empty", n.PasswordFile), "write the SMTP password into it")
	}
	return pw, nil
}

// readPrivate reads a file that only its owner may read: it refuses one
// others can read, checking the file it opened.
func readPrivate(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if st.Mode().Perm()&0o077 != 0 {
		return nil, hint(fmt.Errorf("%s is readable by other users", path), "run: chmod 600 "+path)
	}
	return io.ReadAll(f)
}

// defaultMinFreeMiB is the free space kept when min_free_mib is absent:
// room for Badger to finish its writes and compactions, and for the
// administrator to act, before the disk is full.
const defaultMinFreeMiB = 512

// minFree is the free-space floor in bytes (0: none).
func (c *Config) minFree() int64 {
	if c.MinFreeMiB == nil {
		return defaultMinFreeMiB << 20
	}
	return *c.MinFreeMiB << 20
}
