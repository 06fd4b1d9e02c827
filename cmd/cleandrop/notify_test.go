package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"mime/multipart"
	"net"
	"net/mail"
	"net/textproto"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"filippo.io/age"

	"cleandrop/drop/desk"
	"cleandrop/drop/notify"
	"cleandrop/drop/notify/notifytest"
	"cleandrop/drop/web"
	"cleandrop/vault"
)

// digestConfig writes a server configuration with a notify block for the
// SMTP server at smtpAddr (plain SMTP: it is on 127.0.0.1) and returns its
// path and data directory.
func digestConfig(t *testing.T, smtpAddr string, hour int) (cfgPath, data string) {
	t.Helper()
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	data = filepath.Join(dir, "data")
	cfg := map[string]any{
		"data_dir": data, "listen": "127.0.0.1:0", "desk_listen": "127.0.0.1:0",
		"agencies": []map[string]any{{"id": "acc", "name": "Anti-Corruption", "recipients": []string{id.Recipient().String()}}},
		"notify":   map[string]any{"smtp": smtpAddr, "tls": "none", "from": "cleandrop <drop@agency.example>", "hour": hour},
	}
	b, _ := json.Marshal(cfg)
	cfgPath = filepath.Join(dir, "config.json")
	if err := os.WriteFile(cfgPath, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return cfgPath, data
}

// decryptDigest checks a received digest's envelope and PGP/MIME shape,
// decrypts it with gpg and returns the body.
func decryptDigest(t *testing.T, g *notifytest.GPG, m notifytest.Message, to string) string {
	t.Helper()
	if m.From != "drop@agency.example" || len(m.To) != 1 || m.To[0] != to {
		t.Fatalf("envelope %q -> %q, want drop@agency.example -> %s", m.From, m.To, to)
	}
	msg, err := mail.ReadMessage(bytes.NewReader(m.Data))
	if err != nil {
		t.Fatal(err)
	}
	if s := msg.Header.Get("Subject"); s != "cleandrop digest" {
		t.Errorf("Subject = %q", s)
	}
	_, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if err != nil {
		t.Fatal(err)
	}
	mr := multipart.NewReader(msg.Body, params["boundary"])
	var parts [][]byte
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(p)
		parts = append(parts, b)
	}
	if len(parts) != 2 || !bytes.HasPrefix(parts[1], []byte("-----BEGIN PGP MESSAGE-----")) {
		t.Fatalf("not a PGP/MIME message:\n%s", m.Data)
	}
	return string(g.Decrypt(parts[1]))
}

func wantCounts(t *testing.T, body string, newCases, overdue int) {
	t.Helper()
	for _, want := range []string{fmt.Sprintf("  %d new cases\r\n", newCases), fmt.Sprintf("  %d overdue\r\n", overdue)} {
		if !strings.Contains(body, want) {
			t.Errorf("digest lacks %q:\n%s", want, body)
		}
	}
}

// TestOfficerNotifyDigest: an administrator turns on an officer's digest
// while the server runs, sends one now, and the officer decrypts it with
// gpg; a second digest after another report says more but has the same
// size. Refused keys get clear messages, and the log holds no address.
func TestOfficerNotifyDigest(t *testing.T) {
	g := notifytest.NewGPG(t)
	const addr = "alice@agency.example"
	fpr := g.GenKey(addr, "future-default", "default", "never")
	keys := t.TempDir()
	writeKey := func(name, text string) string {
		p := filepath.Join(keys, name)
		if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	pubFile := writeKey("alice.asc", g.ExportPublic(fpr))

	smtp := notifytest.StartServer(t, nil, false, "bob@agency.example")
	// The scheduled hour is half a day away: only --send-now mails here.
	cfgPath, data := digestConfig(t, smtp.Addr(), (time.Now().UTC().Hour()+12)%24)
	s := startServer(t, data, readyURL, "serve", "--config", cfgPath, "--no-tor")
	// The log line comes before the ready lines, but on stderr, which
	// the harness copies apart from stdout: it may arrive after them.
	waitFor(t, "the digest's schedule in the server's log", func() bool {
		return strings.Contains(s.stderr.String(), "digest scheduled")
	})

	r := newReporter(t, s.url)
	r.report("acc", "first report", nil)
	s.cli(t, "officer", "add", "--agency", "acc", "--name", "alice")
	out := s.cli(t, "officer", "notify", "alice", "--email", addr, "--key", pubFile)
	if !strings.Contains(out, "Digest on for officer alice") {
		t.Fatalf("notify on: %s", out)
	}
	if out := s.cli(t, "officer", "list"); !regexp.MustCompile(`(?m)^alice\s+officer\s+acc\s+false\s+true\s+false\s*$`).MatchString(out) {
		t.Fatalf("officer list does not show the digest on:\n%s", out)
	}

	out = s.cli(t, "officer", "notify", "alice", "--send-now")
	if !strings.Contains(out, "Digest sent to officer alice") {
		t.Fatalf("send-now: %s", out)
	}
	got := smtp.Mail()
	if len(got) != 1 {
		t.Fatalf("SMTP server received %d messages, want 1", len(got))
	}
	body := decryptDigest(t, g, got[0], addr)
	wantCounts(t, body, 1, 0)

	r.report("acc", "second report", nil)
	s.cli(t, "officer", "notify", "alice", "--send-now")
	got = smtp.Mail()
	if len(got) != 2 {
		t.Fatalf("SMTP server received %d messages, want 2", len(got))
	}
	wantCounts(t, decryptDigest(t, g, got[1], addr), 2, 0)
	if len(got[0].Data) != len(got[1].Data) {
		t.Errorf("digests of different counts differ in size: %d and %d bytes", len(got[0].Data), len(got[1].Data))
	}
	t.Logf("two digests of %d bytes each", len(got[0].Data))

	// The digest in the officer's language.
	if _, stderr, code := runCLI(t, "officer", "notify", "alice", "--email", addr, "--key", pubFile, "--language", "xx", "--data", data); code != 1 ||
		!strings.Contains(stderr, `cleandrop: error: digest language "xx" is not one the drop speaks`) || !strings.Contains(stderr, "cleandrop: hint: use one of en, ko, mn") {
		t.Errorf("unknown --language: exit %d\n%s", code, stderr)
	}
	s.cli(t, "officer", "notify", "alice", "--email", addr, "--key", pubFile, "--language", "mn")
	s.cli(t, "officer", "notify", "alice", "--send-now")
	got = smtp.Mail()
	if len(got) != 3 {
		t.Fatalf("SMTP server received %d messages, want 3", len(got))
	}
	mnBody := decryptDigest(t, g, got[2], addr)
	for _, want := range []string{"Сайн байна уу, alice,", "  Шинэ хэрэг: 2\r\n", "  Хугацаа хэтэрсэн: 0\r\n"} {
		if !strings.Contains(mnBody, want) {
			t.Errorf("Mongolian digest lacks %q:\n%s", want, mnBody)
		}
	}
	if strings.Contains(mnBody, "new cases") || strings.Contains(mnBody, "Hello") {
		t.Errorf("Mongolian digest has English in it:\n%s", mnBody)
	}

	// Keys an officer might hand over by mistake.
	signOnly := g.GenKey("sign@agency.example", "ed25519", "sign", "never")
	expired := g.GenKey("old@agency.example", "future-default", "default", "1d", "--faked-system-time", "20200101T000000")
	refusals := []struct {
		name, key, msg, hint string
	}{
		{"secret key", g.ExportSecret(fpr), "that is a secret key (it was not stored)", "gpg --armor --export ADDRESS"},
		{"signing only", g.ExportPublic(signOnly), "key cannot encrypt", "add an encryption subkey"},
		{"expired", g.ExportPublic(expired), "key has expired", "gpg --quick-set-expire"},
		{"not a key", "hello\n", "no single OpenPGP public key", "give one armored OpenPGP public key"},
	}
	for _, tc := range refusals {
		t.Run(tc.name, func(t *testing.T) {
			f := writeKey(strings.ReplaceAll(tc.name, " ", "-")+".asc", tc.key)
			stdout, stderr, code := runCLI(t, "officer", "notify", "alice", "--email", addr, "--key", f, "--data", data)
			if code != 1 || !strings.Contains(stderr, "cleandrop: error: digest key refused: "+tc.msg) ||
				!strings.Contains(stderr, "cleandrop: hint: ") || !strings.Contains(stderr, tc.hint) {
				t.Fatalf("exit %d\n%s%s", code, stdout, stderr)
			}
		})
	}
	if _, stderr, code := runCLI(t, "officer", "notify", "alice", "--email", "Alice <"+addr+">", "--key", pubFile, "--data", data); code != 1 ||
		!strings.Contains(stderr, "must be a bare e-mail address") {
		t.Errorf("display name in --email: exit %d\n%s", code, stderr)
	}

	// A mail server that refuses: the administrator hears why.
	s.cli(t, "officer", "add", "--agency", "acc", "--name", "bob")
	s.cli(t, "officer", "notify", "bob", "--email", "bob@agency.example", "--key", pubFile)
	if _, stderr, code := runCLI(t, "officer", "notify", "bob", "--send-now", "--data", data); code != 1 ||
		!strings.Contains(stderr, "cleandrop: error: digest not sent: smtp RCPT TO: 550") || !strings.Contains(stderr, "cleandrop: hint: check the notify block") {
		t.Errorf("refused recipient: exit %d\n%s", code, stderr)
	}

	out = s.cli(t, "officer", "notify", "alice", "--off")
	if !strings.Contains(out, "Digest off for officer alice") {
		t.Fatalf("notify off: %s", out)
	}
	if _, stderr, code := runCLI(t, "officer", "notify", "alice", "--send-now", "--data", data); code != 1 || !strings.Contains(stderr, "officer alice has no digest") {
		t.Errorf("send-now after --off: exit %d\n%s", code, stderr)
	}
	if n := len(smtp.Mail()); n != 3 {
		t.Errorf("SMTP server received %d messages in all, want 3", n)
	}
	if out := s.cli(t, "audit", "verify"); !strings.Contains(out, "audit log ok") {
		t.Fatalf("audit verify: %s", out)
	}
	// Through the server: the log may be in its files or a shared store.
	auditLog := s.cli(t, "audit", "show")
	for _, a := range []string{"officer.digest_on", "officer.digest_send", "officer.digest_off"} {
		if !strings.Contains(string(auditLog), a) {
			t.Errorf("audit log lacks %s", a)
		}
	}
	for what, text := range map[string]string{"server log": s.stderr.String(), "audit log": string(auditLog)} {
		for _, leak := range []string{addr, "bob@agency.example", "PGP", "first report"} {
			if strings.Contains(text, leak) {
				t.Errorf("%s contains %q:\n%s", what, leak, text)
			}
		}
	}
}

// TestOfficerNotifyUsage: the command line says what is missing, and a
// server without a notify block says so.
func TestOfficerNotifyUsage(t *testing.T) {
	s := startDemo(t)
	s.cli(t, "officer", "add", "--agency", "acc", "--name", "alice")
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"alice"}, "give one of --email with --key, --off or --send-now"},
		{[]string{"alice", "--email", "a@b.example"}, "--email and --key go together"},
		{[]string{"alice", "--off", "--send-now"}, "give one of --email with --key, --off or --send-now"},
		{[]string{"--off"}, "give one officer NAME"},
	} {
		_, stderr, code := runCLI(t, append([]string{"officer", "notify", "--data", s.data}, tc.args...)...)
		if code != 2 || !strings.Contains(stderr, tc.want) {
			t.Errorf("officer notify %q: exit %d\n%s", tc.args, code, stderr)
		}
	}
	_, stderr, code := runCLI(t, "officer", "notify", "alice", "--send-now", "--data", s.data)
	if code != 1 || !strings.Contains(stderr, "no digest sent: the server has no notify configuration") ||
		!strings.Contains(stderr, "cleandrop: hint: add a notify block") {
		t.Errorf("send-now without notify: exit %d\n%s", code, stderr)
	}
}

// TestDigestScheduled drives the server's digest wiring with the
// scheduler's clock hooks: it runs at the configured hour on two days,
// every officer who opted in gets a digest each day (also when nothing is
// new), and the second day's counts include the report that came in
// between.
func TestDigestScheduled(t *testing.T) {
	g := notifytest.NewGPG(t)
	const addr = "alice@agency.example"
	fpr := g.GenKey(addr, "future-default", "default", "never")
	smtp := notifytest.StartServer(t, nil, false)

	start := time.Now()
	cfgPath, _ := digestConfig(t, smtp.Addr(), (start.UTC().Hour()+1)%24)
	cfg, err := loadConfig(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	id, _ := age.GenerateX25519Identity()
	st, err := vault.Open(t.TempDir(), vault.Options{Agencies: []vault.Agency{{ID: "acc", Name: "A", Recipients: []age.Recipient{id.Recipient()}}}})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	acc := desk.NewAccounts(st, nil, nil)
	for _, name := range []string{"alice", "bob"} {
		if _, err := acc.Add(name, desk.RoleOfficer, []string{"acc"}); err != nil {
			t.Fatal(err)
		}
	}
	if err := acc.SetDigest("alice", addr, g.ExportPublic(fpr), ""); err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	cat, err := web.LoadCatalog()
	if err != nil {
		t.Fatal(err)
	}
	d, err := newDigester(cfg.Notify, cfg.Notify.viaTor(false), acc, st, cfg.policy, cat, cfg.Language, slog.New(slog.NewTextHandler(&logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	if d.smtp.Dial != nil {
		t.Fatal("a digest to a relay on 127.0.0.1 would go through Tor")
	}

	clock := &fakeClock{now: start}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sched := d.scheduler(*cfg.Notify.Hour, cfg.Notify.loc)
	sched.Now, sched.Sleep = clock.Now, clock.Sleep
	var runs []time.Time
	run := sched.Run
	sched.Run = func(ctx context.Context, at time.Time) error {
		err := run(ctx, at)
		runs = append(runs, at)
		if len(runs) == 1 {
			newCase(t, st, "acc", "arrived after the first digest")
		} else {
			cancel()
		}
		return err
	}
	if err := sched.Loop(ctx); err != context.Canceled {
		t.Fatalf("Loop = %v", err)
	}
	if len(runs) != 2 || runs[0].Hour() != *cfg.Notify.Hour || runs[0].Minute() != 0 || runs[1].Sub(runs[0]) != 24*time.Hour {
		t.Fatalf("runs at %v, want two at %02d:00 UTC a day apart", runs, *cfg.Notify.Hour)
	}
	got := smtp.Mail()
	if len(got) != 2 {
		t.Fatalf("SMTP server received %d messages, want 2 (alice on two days)", len(got))
	}
	wantCounts(t, decryptDigest(t, g, got[0], addr), 0, 0)
	wantCounts(t, decryptDigest(t, g, got[1], addr), 1, 0)
	if len(got[0].Data) != len(got[1].Data) {
		t.Errorf("digest sizes %d and %d differ", len(got[0].Data), len(got[1].Data))
	}
	for i, m := range got {
		msg, _ := mail.ReadMessage(bytes.NewReader(m.Data))
		if date, _ := msg.Header.Date(); !date.Equal(runs[i]) {
			t.Errorf("digest %d dated %v, want the scheduled %v", i, date, runs[i])
		}
	}
	if !strings.Contains(logs.String(), "sent=1 failed=0") || strings.Contains(logs.String(), addr) {
		t.Errorf("digest log:\n%s", logs.String())
	}
}

// fakeClock is a clock whose Sleep moves time forward at once.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Sleep(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	return nil
}

// newCase commits a report to agency as the reporter interface would.
func newCase(t *testing.T, st *vault.Store, agency, report string) {
	t.Helper()
	reply, _ := age.GenerateX25519Identity()
	lookup := make([]byte, 32)
	rand.Read(lookup)
	b, err := st.NewCase(agency, vault.Access{Lookup: lookup, KDF: "test", ReplyRecipient: reply.Recipient().String(), WrappedReply: []byte("w")})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Abort()
	w, err := b.Add(vault.KindReport, "")
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(w, report)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Commit(); err != nil {
		t.Fatal(err)
	}
}

// socksRequest is what the test SOCKS5 server was asked.
type socksRequest struct {
	user, pass, host string
	port             int
}

// startSOCKS runs a minimal SOCKS5 server on 127.0.0.1 (user/password
// method, CONNECT by domain name only, as Tor's SocksPort is used) that
// connects every request to forward and records it.
func startSOCKS(t *testing.T, forward string) (addr string, requests func() []socksRequest) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	var mu sync.Mutex
	var reqs []socksRequest
	serve := func(c net.Conn) error {
		defer c.Close()
		r := bufio.NewReader(c)
		read := func(n int) []byte {
			b := make([]byte, n)
			if _, err := io.ReadFull(r, b); err != nil {
				return nil
			}
			return b
		}
		hello := read(2)
		if hello == nil || hello[0] != 5 || !bytes.Contains(read(int(hello[1])), []byte{2}) {
			return errors.New("no user/password method offered")
		}
		c.Write([]byte{5, 2})
		var req socksRequest
		if v := read(2); v == nil || v[0] != 1 {
			return errors.New("bad auth version")
		} else {
			req.user = string(read(int(v[1])))
		}
		req.pass = string(read(int(read(1)[0])))
		c.Write([]byte{1, 0})
		h := read(4)
		if h == nil || h[1] != 1 || h[3] != 3 {
			c.Write([]byte{5, 8, 0, 1, 0, 0, 0, 0, 0, 0})
			return fmt.Errorf("not a CONNECT by domain name: %v", h)
		}
		req.host = string(read(int(read(1)[0])))
		p := read(2)
		req.port = int(p[0])<<8 | int(p[1])
		mu.Lock()
		reqs = append(reqs, req)
		mu.Unlock()
		up, err := net.Dial("tcp", forward)
		if err != nil {
			return err
		}
		defer up.Close()
		c.Write([]byte{5, 0, 0, 1, 127, 0, 0, 1, 0, 0})
		go func() {
			io.Copy(up, r)
			up.Close() // the client hung up: so does the mail server
		}()
		io.Copy(c, up)
		return nil
	}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				if err := serve(c); err != nil {
					t.Errorf("socks: %v", err)
				}
			}()
		}
	}()
	return ln.Addr().String(), func() []socksRequest {
		mu.Lock()
		defer mu.Unlock()
		return append([]socksRequest(nil), reqs...)
	}
}

// TestDigestViaTorDial: with via_tor the mail server's name goes to the
// SOCKS port unresolved, and each connection has credentials of its own
// (Tor puts each on a separate circuit).
func TestDigestViaTorDial(t *testing.T) {
	smtp := notifytest.StartServer(t, nil, false)
	socks, requests := startSOCKS(t, smtp.Addr())
	dial := socksDial(socks)
	for range 2 {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		c, err := dial(ctx, "tcp", "mail.agency.example:587")
		cancel()
		if err != nil {
			t.Fatal(err)
		}
		c.SetDeadline(time.Now().Add(10 * time.Second))
		line, err := bufio.NewReader(c).ReadString('\n')
		c.Close()
		if err != nil || !strings.HasPrefix(line, "220 ") {
			t.Fatalf("no SMTP greeting through the SOCKS port: %q, %v", line, err)
		}
	}
	reqs := requests()
	if len(reqs) != 2 {
		t.Fatalf("%d SOCKS requests, want 2", len(reqs))
	}
	for _, r := range reqs {
		if r.host != "mail.agency.example" || r.port != 587 || r.user != "cleandrop-digest" || len(r.pass) != 32 {
			t.Errorf("SOCKS request %+v", r)
		}
	}
	if reqs[0].pass == reqs[1].pass {
		t.Error("two connections share SOCKS credentials: Tor would put them on one circuit")
	}

	// Nothing listens on the SOCKS port: the error says where it tried.
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	dead := ln.Addr().String()
	ln.Close()
	_, err := socksDial(dead)(context.Background(), "tcp", "mail.agency.example:587")
	if err == nil || !strings.Contains(err.Error(), "through tor's socks port "+dead) {
		t.Fatalf("dial through a closed SOCKS port: %v", err)
	}
}

// TestDigestFailureLogged: the log keeps the SMTP step and reply code of a
// failed send, never the server's words, which may quote the address.
func TestDigestFailureLogged(t *testing.T) {
	err := fmt.Errorf("send: %w", &notify.StepError{Step: "smtp RCPT TO", Err: &textproto.Error{Code: 550, Msg: "5.1.1 <officer@agency.example>: no such user"}})
	if got := failure(err); got != "smtp RCPT TO: reply 550" {
		t.Errorf("failure = %q", got)
	}
	if got := failure(&notify.StepError{Step: "smtp dial", Err: errors.New("dial tcp officer@agency.example")}); got != "smtp dial" {
		t.Errorf("failure = %q", got)
	}
	// An error of unknown shape says no more than that the digest failed.
	if got := failure(errors.New("officer@agency.example: something")); got != "digest" {
		t.Errorf("failure = %q", got)
	}
}
