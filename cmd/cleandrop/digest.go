package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/mail"
	"net/textproto"
	"time"

	"golang.org/x/net/proxy"

	"cleandrop/drop/desk"
	"cleandrop/drop/notify"
	"cleandrop/drop/stage"
	"cleandrop/drop/web"
	"cleandrop/vault"
)

// A run tries each digest once, then the failed ones again after a pause,
// in rounds: every mail goes out within the same few minutes after the
// configured hour, whatever happens to the others.
const (
	digestAttempts = 3
	digestRetry    = 2 * time.Minute
)

// digester sends the officers' daily notification digest: for each officer
// who opted in, the counts of what waits for them (desk.CountWaiting),
// composed into a fixed-size encrypted mail (notify.Compose). It logs no
// counts and no addresses.
type digester struct {
	acc    *desk.Accounts
	store  desk.Store
	policy stage.Policy
	smtp   notify.SMTP
	from   string // From header; smtp.From is the bare envelope address
	cat    *web.Catalog
	lang   string // the deployment's default language
	log    *slog.Logger
}

// newDigester sets up the digest of cfg; via says whether it goes out
// through Tor's SOCKS port.
// The body is in each officer's digest language, else in lang.
func newDigester(n *NotifyConfig, via bool, acc *desk.Accounts, st desk.Store, p stage.Policy, cat *web.Catalog, lang string, log *slog.Logger) (*digester, error) {
	for _, k := range notify.Keys {
		if !cat.HasKey(k) {
			return nil, fmt.Errorf("notify: the catalogue lacks %s", k)
		}
	}
	from, err := mail.ParseAddress(n.From)
	if err != nil {
		return nil, fmt.Errorf("notify: from: %w", err)
	}
	password, err := n.password()
	if err != nil {
		return nil, err
	}
	d := &digester{
		acc: acc, store: st, policy: p, from: n.From, cat: cat, lang: lang,
		log: log.With("component", "digest"),
		smtp: notify.SMTP{
			Addr: n.SMTP, From: from.Address, TLS: n.TLS,
			Username: n.Username, Password: password,
		},
	}
	if via {
		d.smtp.Dial = socksDial(n.Socks)
	}
	return d, nil
}

// socksDial dials through the SOCKS5 port at addr. Host names go to Tor
// unresolved (no DNS query leaves this machine), and every connection gets
// its own SOCKS credentials, which Tor's IsolateSOCKSAuth (on by default)
// turns into a circuit of its own.
func socksDial(addr string) func(ctx context.Context, network, target string) (net.Conn, error) {
	return func(ctx context.Context, network, target string) (net.Conn, error) {
		pw := make([]byte, 16)
		rand.Read(pw)
		d, err := proxy.SOCKS5("tcp", addr, &proxy.Auth{User: "cleandrop-digest", Password: hex.EncodeToString(pw)}, proxy.Direct)
		if err != nil {
			return nil, err
		}
		cd, ok := d.(proxy.ContextDialer)
		if !ok {
			return nil, errors.New("socks dialer cannot take a context")
		}
		c, err := cd.DialContext(ctx, network, target)
		if err != nil {
			return nil, fmt.Errorf("through tor's socks port %s: %w", addr, err)
		}
		return c, nil
	}
}

// scheduler runs the digest every day at hour in loc.
func (d *digester) scheduler(hour int, loc *time.Location) *notify.Scheduler {
	return &notify.Scheduler{
		Hour: hour, Loc: loc, Run: d.runAll,
		OnError: func(_ time.Time, err error) {
			d.log.Warn("digest run incomplete", "err", err)
		},
	}
}

// runAll sends every opted-in officer their digest for the run at at,
// every day, also when all counts are 0: a digest that came only on busy
// days would tell that reports arrived.
func (d *digester) runAll(ctx context.Context, at time.Time) error {
	list, err := d.acc.List()
	if err != nil {
		return err
	}
	cases, err := d.store.Cases()
	if err != nil {
		return err
	}
	type digest struct {
		o   desk.Officer
		msg []byte
		err error
	}
	var todo []*digest
	failed := 0
	for _, o := range list {
		if o.Revoked || !o.Digest() {
			continue
		}
		msg, err := d.compose(cases, o, at)
		if err != nil {
			failed++
			d.log.Warn("digest not composed", "officer", o.Name, "err", failure(err))
			continue
		}
		todo = append(todo, &digest{o: o, msg: msg})
	}
	sent := 0
	for i := 0; i < digestAttempts && len(todo) > 0; i++ {
		if i > 0 {
			t := time.NewTimer(digestRetry)
			select {
			case <-ctx.Done():
				t.Stop()
				failed += len(todo)
				d.log.Info("digest run", "sent", sent, "failed", failed)
				return ctx.Err()
			case <-t.C:
			}
		}
		var again []*digest
		for _, g := range todo {
			if g.err = d.smtp.Send(ctx, g.o.DigestEmail, g.msg); g.err != nil {
				again = append(again, g)
				continue
			}
			sent++
		}
		todo = again
	}
	for _, g := range todo {
		failed++
		d.log.Warn("digest not sent", "officer", g.o.Name, "err", failure(g.err))
	}
	d.log.Info("digest run", "sent", sent, "failed", failed)
	if failed > 0 {
		return fmt.Errorf("%d of %d digests not sent", failed, sent+failed)
	}
	return nil
}

// compose counts what waits for o among cases on at's day and builds the
// digest, dated at.
func (d *digester) compose(cases []vault.Case, o desk.Officer, at time.Time) ([]byte, error) {
	key, err := notify.ParseKey(o.DigestKey)
	if err != nil {
		return nil, &composeError{err}
	}
	w, err := desk.CountWaiting(d.store, cases, d.policy, o, stage.Today(at))
	if err != nil {
		return nil, err
	}
	lang := o.DigestLanguage
	if !d.cat.Has(lang) {
		lang = d.lang
	}
	words := func(k string, a ...any) string { return d.cat.T(lang, k, a...) }
	msg, err := notify.Compose(notify.Recipient{Name: o.Name, Address: o.DigestEmail, Key: key, Words: words},
		notify.Counts{New: w.New, Overdue: w.Overdue, Unread: w.Unread}, d.from, at)
	if err != nil {
		return nil, &composeError{err}
	}
	return msg, nil
}

// send sends o one digest now, once: the administrator's check.
func (d *digester) send(ctx context.Context, o desk.Officer, at time.Time) error {
	cases, err := d.store.Cases()
	if err != nil {
		return err
	}
	msg, err := d.compose(cases, o, at)
	if err != nil {
		return err
	}
	return d.smtp.Send(ctx, o.DigestEmail, msg)
}

// failure is what the log keeps of a failed send: the step and, for a
// mail server's refusal, its reply code; never the server's text, which
// may quote the officer's address.
func failure(err error) string {
	step := "digest"
	var se *notify.StepError
	var ce *composeError
	switch {
	case errors.As(err, &se):
		step = se.Step
	case errors.As(err, &ce):
		step = "digest not composed"
	}
	var tp *textproto.Error
	if errors.As(err, &tp) {
		return fmt.Sprintf("%s: reply %d", step, tp.Code)
	}
	return step
}

// composeError is a digest that could not be composed.
type composeError struct{ err error }

func (e *composeError) Error() string { return "digest not composed: " + e.err.Error() }
func (e *composeError) Unwrap() error { return e.err }
