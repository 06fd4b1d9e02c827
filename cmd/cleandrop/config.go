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
	"strings"
	"time"

	"filippo.io/age"

	"cleandrop/drop/notify"
	"cleandrop/drop/receipt"
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
	Deadlines            string   `json:"deadlines,omitempty"`   // "eu" (default) or "kr"
	DeskListen           string   `json:"desk_listen,omitempty"` // loopback address of the desk without Tor
	Tor                  string   `json:"tor,omitempty"`         // tor binary, default "tor"
	// LoopbackProxyProtocol makes the loopback listeners (--no-tor, demo)
	// expect a PROXY protocol v1 line at the start of every connection, as
	// the onion listeners always do, so that clients are told apart by it
	// (for tests, or a relay in front); without it all loopback clients
	// are one circuit.
	LoopbackProxyProtocol bool `json:"loopback_proxy_protocol,omitempty"`
	// MemoryLimitMiB is the process's soft memory limit (Go's
	// runtime/debug.SetMemoryLimit): two argon2 derivations take 128 MiB,
	// and without a limit freed 64 MiB blocks pile up under load.
	MemoryLimitMiB int64 `json:"memory_limit_mib,omitempty"`
	// TorrcExtra adds lines to tor's configuration (a private test network's
	// DirAuthority lines); PublishTimeoutSeconds bounds the wait for the
	// onion descriptors.
	TorrcExtra            []string       `json:"torrc_extra,omitempty"`
	PublishTimeoutSeconds int            `json:"publish_timeout_seconds,omitempty"`
	Agencies              []AgencyConfig `json:"agencies"`
	// Notify, when set, sends officers who opted in a daily digest.
	Notify *NotifyConfig `json:"notify,omitempty"`
	// WriteInterval is the period of the vault's write schedule, a Go
	// duration ("1s", default): commits wait for the next multiple of it,
	// and the vault and audit log write and set their file times at every
	// one, so that file times say nothing of when anyone reported.
	WriteInterval string `json:"write_interval,omitempty"`

	// Filled in by load.
	path     string
	tick     time.Duration
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

const (
	defaultListen     = "127.0.0.1:8080"
	defaultDeskListen = "127.0.0.1:8081"
	// defaultMemoryLimitMiB leaves ~96 MiB beside two argon2 derivations
	// for Badger's caches and memtables (~44 MiB) and the rest.
	defaultMemoryLimitMiB = 224
	defaultData           = "cleandrop-data"
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
	if c.Language == "" {
		c.Language = web.DefaultLanguage
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
	if err := c.checkWriteInterval(); err != nil {
		return err
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
	if c.Notify != nil {
		return c.Notify.check(base)
	}
	return nil
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
