package main

import (
	"context"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"cleandrop/drop/casework"
	"cleandrop/drop/control"
	"cleandrop/drop/desk"
	"cleandrop/drop/notify"
	"cleandrop/onion"
	"cleandrop/vault/audit"
)

// officers joins the desk's accounts with the onion's client keys for the
// control API.
type officers struct {
	acc      *desk.Accounts
	agencies map[string]bool
	torDir   string // "" when not serving onions
	audit    *audit.Log
	log      *slog.Logger
	dig      *digester // nil when the configuration has no notify block
	langs    []string  // the catalogue's languages, for the digest's

	syncMu sync.Mutex // serializes sync
	mu     sync.Mutex
	svc    clientSetter // nil until tor runs
	// published are the client keys tor was last given, sorted; nil
	// before the first.
	published []onion.ClientKey
}

// clientSetter is what officers needs of the onion service (an
// *onion.Service; a fake in tests).
type clientSetter interface {
	SetClients(ctx context.Context, keys []onion.ClientKey) error
}

// setService records the running onion service and the client keys it
// was started with.
func (o *officers) setService(s clientSetter, started []onion.ClientKey) {
	o.mu.Lock()
	o.svc = s
	o.published = sortedKeys(started)
	o.mu.Unlock()
}

func sortedKeys(keys []onion.ClientKey) []onion.ClientKey {
	out := slices.Clone(keys)
	if out == nil {
		out = []onion.ClientKey{}
	}
	slices.SortFunc(out, func(a, b onion.ClientKey) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// clients lists the client keys of officers who may reach the desk onion.
func (o *officers) clients() ([]onion.ClientKey, error) {
	list, err := o.acc.List()
	if err != nil {
		return nil, err
	}
	var out []onion.ClientKey
	for _, of := range list {
		if of.ClientKey != "" && !of.Revoked {
			out = append(out, onion.ClientKey{Name: clientName(of.Name), Public: of.ClientKey})
		}
	}
	return out, nil
}

// clientName is the officer's name as tor's authorized_clients file name
// allows it ([A-Za-z0-9_-], at most 64): hex, so "a.b" and "a_b" stay
// apart (login names are at most 32 bytes).
func clientName(officer string) string { return hex.EncodeToString([]byte(officer)) }

// record appends an administrator's action to the audit log. A failure is
// logged, not fatal: the account change itself has already been made.
func (o *officers) record(action, name string) {
	if _, err := o.audit.Append(audit.Entry{Actor: "admin", Action: action, Detail: name}); err != nil {
		o.log.Error("audit append failed", "action", action)
	}
}

// userMessages are what the administrator is told for the account errors
// that are theirs to fix, by the desk's sentinel.
var userMessages = []struct {
	err error
	msg string
}{
	{desk.ErrExists, "an officer or token with that name already exists"},
	{desk.ErrBadName, "a login name is 2-32 characters of a-z, 0-9, '.', '_' and '-'"},
	{desk.ErrBadRole, `the role must be "officer", "supervisor", "overseer" or "custodian"`},
	{desk.ErrNoAgencies, "an officer needs at least one agency"},
	{desk.ErrNoOfficer, "no such officer"},
	{desk.ErrBadEmail, "the digest address must be a bare e-mail address, like officer@agency.example"},
	{desk.ErrBadLabel, "a token label is 1-64 printable characters"},
	{desk.ErrNotEnrolled, "the officer has not finished enrolling; an API token acts as its officer, so enrol first"},
}

func userErr(err error) error {
	for _, m := range userMessages {
		if errors.Is(err, m.err) {
			return &control.UserError{Msg: m.msg}
		}
	}
	return err
}

func (o *officers) Add(name, role string, agencies []string) (control.NewOfficer, error) {
	// The audit log names the administrator "admin": no officer may.
	if strings.EqualFold(strings.TrimSpace(name), casework.AdminName) {
		return control.NewOfficer{}, &control.UserError{Msg: fmt.Sprintf("%q is the audit log's name for the administrator", casework.AdminName), Hint: "choose another name"}
	}
	for _, a := range agencies {
		if !o.agencies[a] {
			return control.NewOfficer{}, &control.UserError{Msg: fmt.Sprintf("unknown agency %q", a), Hint: "use an agency id from the configuration"}
		}
	}
	// Everything that can fail before the account exists is done first:
	// once Add has made it, the one-time token must reach the
	// administrator, whatever else goes wrong.
	var pub, priv string
	var addrs onion.Addrs
	if o.torDir != "" {
		var err error
		if pub, priv, err = onion.NewClientKey(); err != nil {
			return control.NewOfficer{}, err
		}
		if addrs, err = onion.Init(o.torDir); err != nil {
			return control.NewOfficer{}, err
		}
	}
	token, err := o.acc.Add(name, role, agencies)
	if err != nil {
		return control.NewOfficer{}, userErr(err)
	}
	n := control.NewOfficer{Name: name, EnrolToken: token, EnrolPath: "/enrol/" + token}
	o.record("officer.add", name)
	if o.torDir == "" {
		n.Note = "the drop runs without Tor: officers reach the desk on its loopback address"
		return n, nil
	}
	if err := o.acc.SetClientKey(name, pub); err != nil {
		o.log.Error("officer onion key not recorded", "err", err)
		n.Note = "the officer's onion key could not be recorded: revoke " + name + " and add them again"
		return n, nil
	}
	n.DeskOnion = addrs.Desk
	n.ClientAuth = onion.ClientAuthLine(addrs.Desk, priv)
	switch err := o.refresh(); {
	case errors.Is(err, onion.ErrDeskOff):
		n.Note = "the officer onion is published at the next start of the server (it had no officers when it started)"
	case err != nil:
		o.log.Error("officer onion not updated", "err", err)
		n.Note = "tor did not take the new key yet: restart the server for the officer onion to admit " + name
	}
	return n, nil
}

func (o *officers) Revoke(name string) error {
	if err := o.acc.Revoke(name); err != nil {
		return userErr(err)
	}
	o.record("officer.revoke", name)
	if err := o.refresh(); err != nil && !errors.Is(err, onion.ErrDeskOff) {
		return err
	}
	return nil
}

func (o *officers) Token(name, label string) (string, error) {
	tok, err := o.acc.NewToken(name, label)
	if err != nil {
		return "", userErr(err)
	}
	o.record("officer.token", name)
	return tok, nil
}

func (o *officers) List() ([]control.OfficerInfo, error) {
	list, err := o.acc.List()
	if err != nil {
		return nil, err
	}
	out := make([]control.OfficerInfo, 0, len(list))
	for _, of := range list {
		out = append(out, control.OfficerInfo{Name: of.Name, Role: of.Role, Agencies: of.Agencies, Revoked: of.Revoked, Onion: of.ClientKey != "" && !of.Revoked, Digest: of.Digest() && !of.Revoked})
	}
	return out, nil
}

// noNotify is the note and hint when the configuration has no notify block.
const noNotify = "the configuration has no notify block: no digest goes out until one is added and the server restarted (docs/operations.md)"

// SetDigest turns an officer's digest on or off. The key is checked here
// and never logged; the audit log records only that the digest changed.
func (o *officers) SetDigest(name string, req control.DigestRequest) (control.DigestReply, error) {
	on := req.Email != ""
	if on {
		if _, err := notify.ParseKey(req.Key); err != nil {
			return control.DigestReply{}, keyErr(err)
		}
	}
	if req.Language != "" && !slices.Contains(o.langs, req.Language) {
		return control.DigestReply{}, &control.UserError{Msg: fmt.Sprintf("digest language %q is not one the drop speaks", req.Language),
			Hint: "use one of " + strings.Join(o.langs, ", ") + ", or leave --language out for the deployment's default"}
	}
	if err := o.acc.SetDigest(name, req.Email, req.Key, req.Language); err != nil {
		return control.DigestReply{}, userErr(err)
	}
	if on {
		o.record("officer.digest_on", name)
	} else {
		o.record("officer.digest_off", name)
	}
	r := control.DigestReply{Name: name, On: on}
	if on && o.dig == nil {
		r.Note = noNotify
	}
	return r, nil
}

// keyErr explains why a digest key was refused.
func keyErr(err error) error {
	msg := "digest key refused: " + strings.TrimPrefix(err.Error(), "parse key: ")
	var h string
	switch {
	case errors.Is(err, notify.ErrSecretKey):
		msg = "digest key refused: that is a secret key (it was not stored)"
		h = "export the public key only: gpg --armor --export ADDRESS > key.asc"
	case errors.Is(err, notify.ErrExpired):
		h = "extend the key (gpg --quick-set-expire FINGERPRINT 1y, and the encryption subkey too) and export it again"
	case errors.Is(err, notify.ErrRevoked):
		h = "the key was revoked: make a new one and export its public key"
	case errors.Is(err, notify.ErrCannotEncrypt):
		h = "the key can only sign: add an encryption subkey (gpg --quick-add-key FINGERPRINT cv25519 encr) and export it again"
	default:
		h = "give one armored OpenPGP public key: gpg --armor --export ADDRESS > key.asc"
	}
	return &control.UserError{Msg: msg, Hint: h}
}

// SendDigest sends one digest to an officer now, once, and reports how the
// mail server answered.
func (o *officers) SendDigest(name string) (control.DigestReply, error) {
	if o.dig == nil {
		return control.DigestReply{}, &control.UserError{Msg: "no digest sent: the server has no notify configuration",
			Hint: "add a notify block to the configuration and restart the server (docs/operations.md)"}
	}
	of, err := o.acc.Officer(name)
	if err != nil {
		return control.DigestReply{}, userErr(err)
	}
	if of.Revoked || !of.Digest() {
		return control.DigestReply{}, &control.UserError{Msg: fmt.Sprintf("officer %s has no digest", name),
			Hint: "turn it on with: cleandrop officer notify " + name + " --email ADDRESS --key FILE.asc"}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*notify.DefaultTimeout)
	defer cancel()
	o.record("officer.digest_send", name)
	if err := o.dig.send(ctx, of, time.Now()); err != nil {
		o.log.Warn("digest not sent", "component", "digest", "officer", name, "err", failure(err))
		return control.DigestReply{}, &control.UserError{Msg: "digest not sent: " + err.Error(),
			Hint: "check the notify block of the configuration (smtp, tls, username, via_tor) and the mail server"}
	}
	return control.DigestReply{Name: name, On: true, Sent: true}, nil
}

// refresh hands tor the current client keys.
func (o *officers) refresh() error {
	_, err := o.sync(true)
	return err
}

// clientSyncEvery is how often a front-end of a shared store looks for
// officers added or revoked on another front-end.
const clientSyncEvery = 30 * time.Second

// sync hands tor the officers' current client keys when they differ from
// what it was last given, or always when force is set, and reports
// whether it did. With several front-ends on one store, an officer added
// or revoked through one front-end's control socket reaches the officer
// onions of the others at their next sync (syncClients). Calls are
// serialized: tor is given one list at a time, and published always
// says what it holds.
func (o *officers) sync(force bool) (bool, error) {
	o.syncMu.Lock()
	defer o.syncMu.Unlock()
	o.mu.Lock()
	svc, published := o.svc, o.published
	o.mu.Unlock()
	if svc == nil {
		return false, nil
	}
	list, err := o.clients()
	if err != nil {
		return false, err
	}
	keys := sortedKeys(list)
	if !force && published != nil && slices.Equal(keys, published) {
		return false, nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	if err := svc.SetClients(ctx, keys); err != nil {
		return false, err
	}
	o.mu.Lock()
	o.published = keys
	o.mu.Unlock()
	return true, nil
}

// syncClients runs sync every clientSyncEvery until ctx ends. A desk
// onion that was not published at start (no officer then) stays off
// until a restart; that is logged once.
func (o *officers) syncClients(ctx context.Context) {
	t := time.NewTicker(clientSyncEvery)
	defer t.Stop()
	warnedOff := false
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		switch changed, err := o.sync(false); {
		case errors.Is(err, onion.ErrDeskOff):
			if !warnedOff {
				o.log.Warn("officers changed on another front-end; the officer onion of this one is published at its next start")
				warnedOff = true
			}
		case err != nil:
			o.log.Error("officer onion not updated from the shared store", "err", err)
		case changed:
			o.log.Info("officer onion updated from the shared store")
		}
	}
}

func cmdOfficer(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprintln(stderr, officerUsage)
		return errUsage
	}
	fs := flag.NewFlagSet("officer "+args[0], flag.ContinueOnError)
	t := addTarget(fs)
	switch args[0] {
	case "add":
		var agencies multi
		fs.Var(&agencies, "agency", "agency `ID` the officer works for, or an overseer oversees (repeat for several)")
		name := fs.String("name", "", "login `NAME` (a-z, 0-9, . _ -)")
		role := fs.String("role", desk.RoleOfficer, "officer, supervisor, overseer or custodian (the agency's protection and rewards officer)")
		if _, err := parse(fs, args[1:], stderr); err != nil {
			return err
		}
		// An overseer without --agency oversees every agency.
		if *name == "" || (len(agencies) == 0 && *role != desk.RoleOverseer) {
			return usageErr(fs, stderr, "--name and --agency are required")
		}
		c, err := t.client()
		if err != nil {
			return err
		}
		n, err := c.AddOfficer(control.OfficerRequest{Name: *name, Role: *role, Agencies: agencies})
		if err != nil {
			return explain(err)
		}
		fmt.Fprintf(stdout, "Officer %s created. Give them these, in person or over a channel you trust; they are shown once.\n\n", n.Name)
		if n.DeskOnion != "" {
			fmt.Fprintf(stdout, "1. Desk address (open in Tor Browser): http://%s%s\n", n.DeskOnion, n.EnrolPath)
			fmt.Fprintf(stdout, "2. Tor Browser client-authorization key (paste when Tor Browser asks, or save as <name>.auth_private in ClientOnionAuthDir):\n   %s\n", n.ClientAuth)
		} else {
			fmt.Fprintf(stdout, "1. Enrolment page on the desk: %s\n", n.EnrolPath)
		}
		fmt.Fprintf(stdout, "\nEnrolment token (valid %d days, once): %s\n", desk.EnrolDays, n.EnrolToken)
		if n.Note != "" {
			fmt.Fprintf(stdout, "Note: %s\n", n.Note)
		}
		return nil
	case "list":
		if _, err := parse(fs, args[1:], stderr); err != nil {
			return err
		}
		c, err := t.client()
		if err != nil {
			return err
		}
		list, err := c.Officers()
		if err != nil {
			return explain(err)
		}
		tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "NAME\tROLE\tAGENCIES\tONION ACCESS\tDIGEST\tREVOKED")
		for _, o := range list {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%v\t%v\t%v\n", o.Name, o.Role, strings.Join(o.Agencies, ","), o.Onion, o.Digest, o.Revoked)
		}
		return tw.Flush()
	case "revoke":
		pos, err := parse(fs, args[1:], stderr)
		if err != nil {
			return err
		}
		if len(pos) != 1 {
			return usageErr(fs, stderr, "give one officer NAME")
		}
		c, err := t.client()
		if err != nil {
			return err
		}
		if err := c.RevokeOfficer(pos[0]); err != nil {
			return explain(err)
		}
		fmt.Fprintf(stdout, "Officer %s revoked: no sign-in, no API token, no onion access.\n", pos[0])
		return nil
	case "notify":
		return cmdOfficerNotify(fs, t, args[1:], stdout, stderr)
	case "token":
		label := fs.String("label", "", "what the token is for, e.g. `offline-client` (shown in the audit log)")
		pos, err := parse(fs, args[1:], stderr)
		if err != nil {
			return err
		}
		if len(pos) != 1 || strings.TrimSpace(*label) == "" {
			return usageErr(fs, stderr, "usage: cleandrop officer token NAME --label LABEL")
		}
		c, err := t.client()
		if err != nil {
			return err
		}
		n, err := c.NewToken(pos[0], *label)
		if err != nil {
			return explain(err)
		}
		fmt.Fprintf(stdout, "API token for %s (%s), shown once; it acts as %s on the desk's JSON API until the officer is revoked:\n%s\n", n.Name, n.Label, n.Name, n.Token)
		return nil
	}
	fmt.Fprintf(stderr, "cleandrop officer: unknown subcommand %q\n", args[0])
	return errUsage
}

const officerUsage = `usage: cleandrop officer add --agency ID --name NAME [--role supervisor|custodian]
       cleandrop officer add --name NAME --role overseer [--agency ID]...
       cleandrop officer list
       cleandrop officer revoke NAME
       cleandrop officer token NAME --label LABEL
       cleandrop officer notify NAME --email ADDRESS --key FILE.asc [--language CODE] | --off | --send-now`

// cmdOfficerNotify turns an officer's daily digest on or off, or sends one
// now, through the running server.
func cmdOfficerNotify(fs *flag.FlagSet, t target, args []string, stdout, stderr io.Writer) error {
	email := fs.String("email", "", "send the digest to this bare e-mail `ADDRESS`")
	keyFile := fs.String("key", "", "encrypt it to the armored OpenPGP public key in `FILE` (gpg --armor --export ADDRESS)")
	off := fs.Bool("off", false, "turn the digest off")
	now := fs.Bool("send-now", false, "send one digest now, to check the setup")
	lang := fs.String("language", "", "write the digest in this language `CODE` (en, ko, mn, ru, sq, sr, uz; default: the deployment's)")
	pos, err := parse(fs, args, stderr)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usageErr(fs, stderr, "give one officer NAME")
	}
	name := pos[0]
	on := *email != "" || *keyFile != ""
	switch {
	case on && (*email == "" || *keyFile == ""):
		return usageErr(fs, stderr, "--email and --key go together")
	case btoi(on)+btoi(*off)+btoi(*now) != 1:
		return usageErr(fs, stderr, "give one of --email with --key, --off or --send-now")
	}
	var key []byte
	if on {
		if key, err = os.ReadFile(*keyFile); err != nil {
			return hint(err, "export the officer's public key with: gpg --armor --export "+*email+" > key.asc")
		}
		if len(key) > 200<<10 {
			return hint(fmt.Errorf("%s is %d KiB: too big for one public key", *keyFile, len(key)>>10),
				"export a minimal key: gpg --armor --export-options export-minimal --export "+*email)
		}
	}
	c, err := t.client()
	if err != nil {
		return err
	}
	switch {
	case on:
		r, err := c.SetDigest(name, *email, string(key), *lang)
		if err != nil {
			return explain(err)
		}
		fmt.Fprintf(stdout, "Digest on for officer %s: every day at the configured hour, encrypted to their key.\n", r.Name)
		if r.Note != "" {
			fmt.Fprintf(stdout, "Note: %s\n", r.Note)
		} else {
			fmt.Fprintf(stdout, "Check it with: cleandrop officer notify %s --send-now\n", r.Name)
		}
	case *off:
		r, err := c.DigestOff(name)
		if err != nil {
			return explain(err)
		}
		fmt.Fprintf(stdout, "Digest off for officer %s; their address and key were removed.\n", r.Name)
	default:
		r, err := c.SendDigest(name)
		if err != nil {
			return explain(err)
		}
		fmt.Fprintf(stdout, "Digest sent to officer %s: the mail server accepted it.\n", r.Name)
	}
	return nil
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

type multi []string

func (m *multi) String() string { return strings.Join(*m, ",") }
func (m *multi) Set(s string) error {
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" && !slices.Contains(*m, p) {
			*m = append(*m, p)
		}
	}
	return nil
}

// cmdAudit checks the audit log's hash chain, or prints its entries.
func cmdAudit(args []string, stdout, stderr io.Writer) error {
	if len(args) > 0 && args[0] == "show" {
		return cmdAuditShow(args[1:], stdout, stderr)
	}
	if len(args) == 0 || args[0] != "verify" {
		fmt.Fprintln(stderr, "usage: cleandrop audit verify [--data DIR | --config FILE]")
		fmt.Fprintln(stderr, "       cleandrop audit show [--case REF] [--limit N] [--data DIR | --config FILE]")
		return errUsage
	}
	fs := flag.NewFlagSet("audit verify", flag.ContinueOnError)
	t := addTarget(fs)
	if _, err := parse(fs, args[1:], stderr); err != nil {
		return err
	}
	cfg, err := t.sharedConfig()
	if err != nil {
		return err
	}
	var n int64
	where := ""
	switch {
	case cfg != nil:
		n, err = verifySharedAudit(cfg)
		where = " (the shared store's one chain)"
	default:
		// A running server checks its own log, wherever it keeps it;
		// else the log's files are read here.
		var c *control.Client
		if c, err = t.client(); err != nil {
			return err
		}
		n, err = c.VerifyAudit()
		if !errors.Is(err, control.ErrNotRunning) {
			if err != nil {
				return explain(err)
			}
			break
		}
		var dir string
		if dir, err = t.dataDir(); err != nil {
			return err
		}
		n, err = audit.Verify(auditDir(dir))
		if errors.Is(err, os.ErrNotExist) {
			return hint(err, "a front-end of shared stores keeps its audit log in the database: pass --config FILE, its configuration with the \"store\" section")
		}
	}
	if err != nil {
		var p *audit.Problem
		if errors.As(err, &p) && p.Hint != "" {
			return hint(err, p.Hint)
		}
		return err
	}
	fmt.Fprintf(stdout, "audit log ok: %d entries, chain and MACs intact%s\n", n, where)
	return nil
}

// cmdAuditShow prints audit entries, oldest first: through the running
// server's control socket, or, when no server runs, from the log itself
// (verified as it is read).
func cmdAuditShow(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("audit show", flag.ContinueOnError)
	t := addTarget(fs)
	ref := fs.String("case", "", "only the entries of case `REF`")
	limit := fs.Int("limit", 0, "at most the newest `N` entries (default: all, up to "+strconv.Itoa(control.MaxAudit)+" through a running server)")
	pos, err := parse(fs, args, stderr)
	if err != nil {
		return err
	}
	if len(pos) != 0 || *limit < 0 {
		return usageErr(fs, stderr, "no arguments besides the flags; --limit is positive")
	}
	c, err := t.client()
	if err != nil {
		return err
	}
	es, err := c.Audit(trimRef(*ref), *limit)
	if errors.Is(err, control.ErrNotRunning) {
		es, err = readAudit(t, trimRef(*ref), *limit)
	}
	if err != nil {
		return explain(err)
	}
	if len(es) == 0 {
		fmt.Fprintln(stdout, "No audit entries.")
		return nil
	}
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "SEQ\tDAY\tACTOR\tACTION\tCASE\tDETAIL")
	for i := len(es) - 1; i >= 0; i-- {
		e := es[i]
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\n", e.Seq, e.Day, e.Actor, e.Action, dash(e.Case), dash(e.Detail))
	}
	return tw.Flush()
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// readAudit reads the audit log directly, for when no server holds it.
func readAudit(t target, ref string, limit int) ([]control.AuditEntry, error) {
	var filter func(audit.Entry) bool
	if ref != "" {
		filter = func(e audit.Entry) bool { return e.Case == ref }
	}
	cfg, err := t.sharedConfig()
	if err != nil {
		return nil, err
	}
	var es []audit.Entry
	if cfg != nil {
		es, err = readSharedAudit(cfg, filter, limit)
	} else {
		es, err = readAuditFiles(t, filter, limit)
	}
	if err != nil {
		var p *audit.Problem
		if errors.As(err, &p) && p.Hint != "" {
			return nil, hint(err, p.Hint)
		}
		return nil, err
	}
	out := make([]control.AuditEntry, 0, len(es))
	for _, e := range es {
		out = append(out, control.AuditEntry(e))
	}
	return out, nil
}

// readAuditFiles reads the audit log in the data directory's files.
func readAuditFiles(t target, filter func(audit.Entry) bool, limit int) ([]audit.Entry, error) {
	data, err := t.dataDir()
	if err != nil {
		return nil, err
	}
	dir := auditDir(data)
	if _, err := os.Stat(filepath.Join(dir, "audit.log")); err != nil {
		return nil, hint(fmt.Errorf("no audit log in %s", data), "point at the server's data with --data DIR or --config FILE (a front-end of shared stores: its configuration with the \"store\" section)")
	}
	l, err := audit.Open(dir, nil)
	if err != nil {
		return nil, err
	}
	defer l.Close()
	return l.Entries(filter, limit)
}
