package onion

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// layout is where things live inside Config.Dir.
type layout struct {
	dir        string // Config.Dir, absolute
	data       string // tor's DataDirectory
	torrc      string
	log        string // tor's stdout and stderr
	sourceHS   string // HiddenServiceDir of the source onion
	deskHS     string // HiddenServiceDir of the officer onion
	sourceSock string
	deskSock   string
}

func newLayout(dir string) (layout, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return layout{}, fmt.Errorf("onion dir: %w", err)
	}
	// torrc values are written unquoted: refuse anything that would need quoting.
	if strings.ContainsAny(abs, " \t\r\n\"'\\#") {
		return layout{}, fmt.Errorf("onion dir %q: spaces, quotes, '#' and backslashes are not supported", abs)
	}
	l := layout{
		dir:        abs,
		data:       filepath.Join(abs, "tor"),
		torrc:      filepath.Join(abs, "torrc"),
		log:        filepath.Join(abs, "tor.log"),
		sourceHS:   filepath.Join(abs, "hs", "source"),
		deskHS:     filepath.Join(abs, "hs", "desk"),
		sourceSock: filepath.Join(abs, "source.sock"),
		deskSock:   filepath.Join(abs, "desk.sock"),
	}
	// sun_path holds 108 bytes with the terminating NUL.
	if len(l.sourceSock) > 107 {
		return layout{}, fmt.Errorf("onion dir %q: path too long for a unix socket (%d bytes, at most 96)", abs, len(abs))
	}
	return l, nil
}

// torrcConfig is what the generated torrc depends on.
type torrcConfig struct {
	network bool     // false writes DisableNetwork 1
	desk    bool     // publish the officer onion (only ever with clients)
	ob      bool     // the source onion is an Onionbalance instance (ob_config in its dir)
	extra   []string // Config.ExtraTorrc
}

// render renders the torrc. Command-line options from bine
// (DataDirectory, ControlPort, CookieAuthentication) override it; everything
// that must survive a reload is here, DisableNetwork included, because a
// reload re-reads this file and forgets SETCONF.
func (l layout) render(c torrcConfig) ([]byte, error) {
	var b strings.Builder
	b.WriteString("# Written by cleandrop at every start and client change; edits are lost.\n")
	b.WriteString("SocksPort 0\n")
	if c.network {
		b.WriteString("DisableNetwork 0\n")
	} else {
		b.WriteString("DisableNetwork 1\n")
	}
	b.WriteString("SafeLogging 1\n")
	b.WriteString("Log notice stdout\n")
	// Extra lines first: a HiddenService* option after a HiddenServiceDir
	// would attach to that onion.
	for _, line := range c.extra {
		if strings.ContainsAny(line, "\r\n") {
			return nil, errors.New("extra torrc line contains a line break")
		}
		b.WriteString(line)
		b.WriteByte('\n')
	}
	service := func(hsDir, sock string) {
		fmt.Fprintf(&b, "HiddenServiceDir %s\n", hsDir)
		fmt.Fprintf(&b, "HiddenServicePort 80 unix:%s\n", sock)
		b.WriteString("HiddenServicePoWDefensesEnabled 1\n")
		// Every connection starts with a PROXY protocol v1 line whose
		// source address is the global id of the client's circuit: limits
		// per circuit without learning anything about the person.
		b.WriteString("HiddenServiceExportCircuitID haproxy\n")
	}
	service(l.sourceHS, l.sourceSock)
	if c.ob {
		// tor reads the master's address from ob_config in the
		// HiddenServiceDir (written by prepare).
		b.WriteString("HiddenServiceOnionbalanceInstance 1\n")
	}
	if c.desk {
		service(l.deskHS, l.deskSock)
	}
	return []byte(b.String()), nil
}

// writeHS prepares a HiddenServiceDir: 0700, tor's secret key written from
// seed so the address is the one the seed gives, and the derived files tor
// writes itself (hostname, public key) removed so they are made afresh.
func writeHS(hsDir string, seed []byte) error {
	if err := os.MkdirAll(hsDir, 0o700); err != nil {
		return fmt.Errorf("onion service dir: %w", err)
	}
	if err := os.Chmod(hsDir, 0o700); err != nil {
		return fmt.Errorf("onion service dir: %w", err)
	}
	for _, f := range []string{"hostname", "hs_ed25519_public_key"} {
		if err := os.Remove(filepath.Join(hsDir, f)); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("onion service dir: %w", err)
		}
	}
	if err := writeFileAtomic(filepath.Join(hsDir, "hs_ed25519_secret_key"), torSecretKeyFile(seed)); err != nil {
		return fmt.Errorf("onion service key: %w", err)
	}
	return nil
}

// writeClients makes authorized_clients in hsDir hold exactly clients, one
// "<name>.auth" file each.
func writeClients(hsDir string, clients []ClientKey) error {
	ac := filepath.Join(hsDir, "authorized_clients")
	if err := os.MkdirAll(ac, 0o700); err != nil {
		return fmt.Errorf("authorized clients: %w", err)
	}
	want := map[string]bool{}
	for _, c := range clients {
		name := c.Name + ".auth"
		want[name] = true
		line := "descriptor:x25519:" + strings.ToUpper(strings.TrimSpace(c.Public)) + "\n"
		if err := writeFileAtomic(filepath.Join(ac, name), []byte(line)); err != nil {
			return fmt.Errorf("authorized client %s: %w", c.Name, err)
		}
	}
	ents, err := os.ReadDir(ac)
	if err != nil {
		return fmt.Errorf("authorized clients: %w", err)
	}
	for _, e := range ents {
		if !want[e.Name()] {
			if err := os.RemoveAll(filepath.Join(ac, e.Name())); err != nil {
				return fmt.Errorf("revoke authorized client: %w", err)
			}
		}
	}
	return nil
}

// checkClients validates clients and rejects duplicate names.
func checkClients(clients []ClientKey) error {
	seen := map[string]bool{}
	for _, c := range clients {
		if err := c.check(); err != nil {
			return err
		}
		if seen[c.Name] {
			return fmt.Errorf("client name %q given twice", c.Name)
		}
		seen[c.Name] = true
	}
	return nil
}
