package main

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"

	"cleandrop/onion"
	"cleandrop/vault"

	"filippo.io/age"
	"github.com/rogpeppe/go-internal/txtar"
)

// FuzzConfig parses arbitrary configuration files. None panics, and one
// that is accepted keeps the promises the server relies on: loopback
// listeners, an absolute data directory, bounded limits, valid unique
// agency ids, each agency sealing to at least one parsed recipient, a
// stage list that starts where new cases start, and an Onionbalance master
// that is a canonical v3 onion address. The seeds are every
// configuration of the CLI scripts (testdata/script/*.txtar).
func FuzzConfig(f *testing.F) {
	scripts, _ := filepath.Glob(filepath.Join("testdata", "script", "*.txtar"))
	for _, s := range scripts {
		a, err := txtar.ParseFile(s)
		if err != nil {
			f.Fatal(err)
		}
		for _, file := range a.Files {
			if strings.HasSuffix(file.Name, ".json") {
				f.Add(file.Data)
			}
		}
	}
	path := filepath.Join(f.TempDir(), "c.json")
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := parseConfig(bytes.NewReader(data), path)
		if err != nil {
			return
		}
		if checkLoopback(c.Listen) != nil || checkLoopback(c.DeskListen) != nil {
			t.Fatalf("accepted listeners %q, %q", c.Listen, c.DeskListen)
		}
		if !filepath.IsAbs(c.DataDir) || !filepath.IsAbs(c.PepperFile) {
			t.Fatalf("relative paths left: %q, %q", c.DataDir, c.PepperFile)
		}
		if c.MemoryLimitMiB < 192 || c.MaxUploadMiB < 1 || c.MaxUploadMiB > 64<<10 || c.MaxFiles < 1 || c.MaxFiles > 1000 ||
			c.MaxUploads < 1 || c.MaxUploadsPerCircuit < 1 || c.MaxUploadsPerCircuit > c.MaxUploads ||
			c.UploadIdleSeconds < 5 || c.UploadIdleSeconds > 3600 {
			t.Fatalf("a limit out of range: %+v", c)
		}
		if len(c.Stages) == 0 || c.Stages[0] != vault.InitialStage || c.pack == nil {
			t.Fatalf("stages %q, pack %v", c.Stages, c.pack)
		}
		if len(c.agencies) == 0 || len(c.agencies) != len(c.Agencies) {
			t.Fatalf("%d agencies configured, %d kept", len(c.Agencies), len(c.agencies))
		}
		seen := map[string]bool{}
		for _, a := range c.agencies {
			if !agencyID.MatchString(a.ID) || seen[a.ID] || strings.TrimSpace(a.Name) == "" {
				t.Fatalf("agency %q (%q) accepted", a.ID, a.Name)
			}
			seen[a.ID] = true
			if len(a.recipients) == 0 || len(a.recipients) != len(a.Recipients) || len(a.custodian) != len(a.Custodian) {
				t.Fatalf("agency %q: %d recipients of %d, %d custodians of %d", a.ID, len(a.recipients), len(a.Recipients), len(a.custodian), len(a.Custodian))
			}
		}
		if c.Notify != nil && (c.Notify.Hour == nil || *c.Notify.Hour < 0 || *c.Notify.Hour > 23 || c.Notify.loc == nil) {
			t.Fatalf("notify accepted: %+v", c.Notify)
		}
		// An accepted master is a canonical v3 address: it goes into tor's
		// ob_config as it is.
		if ob := c.Onionbalance; ob != nil {
			if m, err := onion.CheckAddress(ob.Master); err != nil || m != ob.Master {
				t.Fatalf("onionbalance master %q accepted (%v)", ob.Master, err)
			}
		}
	})
}

// FuzzParseRecipient parses arbitrary age recipient strings, as the
// configuration's recipients and custodians: an accepted one prints back
// as the key given (age's own encoding, so it seals to that key), its kind
// is what its prefix says, and a secret key is never taken for one.
func FuzzParseRecipient(f *testing.F) {
	x, _ := age.GenerateX25519Identity()
	pq, _ := age.GenerateHybridIdentity()
	for _, s := range []string{
		x.Recipient().String(), " " + x.Recipient().String() + "\n", pq.Recipient().String(),
		strings.ToUpper(x.Recipient().String()), x.String(), pq.String(),
		"age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p", "age1notakey", "age1pq1", "",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, isPQ, err := parseRecipient(s)
		if err != nil {
			return
		}
		if strings.HasPrefix(strings.ToUpper(strings.TrimSpace(s)), "AGE-SECRET-KEY-") {
			t.Fatalf("a secret key taken for a recipient: %q", s)
		}
		str, ok := r.(interface{ String() string })
		if !ok {
			t.Fatalf("recipient %T does not print", r)
		}
		if !strings.EqualFold(str.String(), strings.TrimSpace(s)) {
			t.Fatalf("%q parsed as %q", s, str.String())
		}
		if isPQ != strings.HasPrefix(str.String(), "age1pq1") {
			t.Fatalf("%q: pq %v", s, isPQ)
		}
		if _, pq2, err := parseRecipient(str.String()); err != nil || pq2 != isPQ {
			t.Fatalf("%q does not parse again: %v", str.String(), err)
		}
	})
}
