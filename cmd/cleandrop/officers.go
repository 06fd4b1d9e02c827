package main

import (
	"context"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"cleandrop/drop/control"
	"cleandrop/drop/desk"
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

	mu  sync.Mutex
	svc *onion.Service // nil until tor runs
}

func (o *officers) setService(s *onion.Service) {
	o.mu.Lock()
	o.svc = s
	o.mu.Unlock()
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

func userErr(err error) error {
	for _, e := range []error{desk.ErrExists, desk.ErrBadName, desk.ErrBadRole, desk.ErrNoAgencies, desk.ErrNoOfficer} {
		if errors.Is(err, e) {
			return &control.UserError{Msg: strings.TrimPrefix(err.Error(), "desk: ")}
		}
	}
	return err
}

func (o *officers) Add(name, role string, agencies []string) (control.NewOfficer, error) {
	for _, a := range agencies {
		if !o.agencies[a] {
			return control.NewOfficer{}, &control.UserError{Msg: fmt.Sprintf("unknown agency %q", a), Hint: "use an agency id from the configuration"}
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
	pub, priv, err := onion.NewClientKey()
	if err != nil {
		return n, err
	}
	if err := o.acc.SetClientKey(name, pub); err != nil {
		return n, err
	}
	addrs, err := onion.Init(o.torDir)
	if err != nil {
		return n, err
	}
	n.DeskOnion = addrs.Desk
	n.ClientAuth = onion.ClientAuthLine(addrs.Desk, priv)
	if err := o.refresh(); errors.Is(err, onion.ErrDeskOff) {
		n.Note = "the officer onion is published at the next start of the server (it had no officers when it started)"
	} else if err != nil {
		return n, err
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

func (o *officers) List() ([]control.OfficerInfo, error) {
	list, err := o.acc.List()
	if err != nil {
		return nil, err
	}
	out := make([]control.OfficerInfo, 0, len(list))
	for _, of := range list {
		out = append(out, control.OfficerInfo{Name: of.Name, Role: of.Role, Agencies: of.Agencies, Revoked: of.Revoked, Onion: of.ClientKey != "" && !of.Revoked})
	}
	return out, nil
}

// refresh hands tor the current client keys.
func (o *officers) refresh() error {
	o.mu.Lock()
	svc := o.svc
	o.mu.Unlock()
	if svc == nil {
		return nil
	}
	keys, err := o.clients()
	if err != nil {
		return err
	}
	if svc.Desk == nil && len(keys) > 0 {
		return onion.ErrDeskOff
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	return svc.SetClients(ctx, keys)
}

func cmdOfficer(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprintln(stderr, "usage: cleandrop officer add --agency ID --name NAME [--role supervisor] | list | revoke NAME")
		return errUsage
	}
	fs := flag.NewFlagSet("officer "+args[0], flag.ContinueOnError)
	t := addTarget(fs)
	switch args[0] {
	case "add":
		var agencies multi
		fs.Var(&agencies, "agency", "agency `ID` the officer works for (repeat for several)")
		name := fs.String("name", "", "login `NAME` (a-z, 0-9, . _ -)")
		role := fs.String("role", desk.RoleOfficer, "officer or supervisor")
		if _, err := parse(fs, args[1:], stderr); err != nil {
			return err
		}
		if *name == "" || len(agencies) == 0 {
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
		fmt.Fprintln(tw, "NAME\tROLE\tAGENCIES\tONION ACCESS\tREVOKED")
		for _, o := range list {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%v\t%v\n", o.Name, o.Role, strings.Join(o.Agencies, ","), o.Onion, o.Revoked)
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
	}
	fmt.Fprintf(stderr, "cleandrop officer: unknown subcommand %q\n", args[0])
	return errUsage
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

// cmdAudit verifies the audit log's hash chain.
func cmdAudit(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "verify" {
		fmt.Fprintln(stderr, "usage: cleandrop audit verify [--data DIR | --config FILE]")
		return errUsage
	}
	fs := flag.NewFlagSet("audit verify", flag.ContinueOnError)
	t := addTarget(fs)
	if _, err := parse(fs, args[1:], stderr); err != nil {
		return err
	}
	dir, err := t.dataDir()
	if err != nil {
		return err
	}
	n, err := audit.Verify(auditDir(dir))
	if err != nil {
		var p *audit.Problem
		if errors.As(err, &p) && p.Hint != "" {
			return hint(err, p.Hint)
		}
		return err
	}
	fmt.Fprintf(stdout, "audit log ok: %d entries, chain and MACs intact\n", n)
	return nil
}
