package desk

import (
	"bytes"
	"crypto/rand"
	"encoding/base32"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"filippo.io/age"

	"cleandrop/drop/stage"
	"cleandrop/drop/web"
	"cleandrop/vault"
	"cleandrop/vault/audit"
)

// testStore is a real vault with the record methods kept in memory, until
// the vault has its own.
type testStore struct {
	*vault.Store
	mu   sync.Mutex
	recs map[string]map[string][]byte
}

func (s *testStore) PutRecord(kind, id string, v []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.recs[kind] == nil {
		s.recs[kind] = map[string][]byte{}
	}
	s.recs[kind][id] = bytes.Clone(v)
	return nil
}

func (s *testStore) Record(kind, id string) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.recs[kind][id]
	if !ok {
		return nil, vault.ErrNotFound
	}
	return bytes.Clone(v), nil
}

func (s *testStore) Records(kind string) ([]Record, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Record
	for id, v := range s.recs[kind] {
		out = append(out, Record{ID: id, Value: bytes.Clone(v)})
	}
	slices.SortFunc(out, func(a, b Record) int { return strings.Compare(a.ID, b.ID) })
	return out, nil
}

func (s *testStore) DeleteRecord(kind, id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.recs[kind], id)
	return nil
}

// UpdateRecord is one step under the store's lock: serializable, as the
// vault's is.
func (s *testStore) UpdateRecord(kind, id string, fn func([]byte) ([]byte, error)) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	old, ok := s.recs[kind][id]
	if !ok {
		old = nil
	}
	v, err := fn(bytes.Clone(old))
	if err != nil {
		return err
	}
	if v == nil {
		delete(s.recs[kind], id)
		return nil
	}
	if s.recs[kind] == nil {
		s.recs[kind] = map[string][]byte{}
	}
	s.recs[kind][id] = bytes.Clone(v)
	return nil
}

var (
	_ Store       = (*testStore)(nil)
	_ web.Records = (*testStore)(nil)
)

// actions lists the audit log oldest first as "actor action case".
func actions(t *testing.T, l *audit.Log) []string {
	t.Helper()
	es, err := l.Entries(nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for i := len(es) - 1; i >= 0; i-- {
		out = append(out, es[i].Actor+" "+es[i].Action+" "+es[i].Case)
	}
	return out
}

// clock is a settable clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

type fixture struct {
	t      *testing.T
	h      http.Handler
	srv    *httptest.Server
	store  *testStore
	acc    *Accounts
	audit  *audit.Log
	clock  *clock
	agency *age.X25519Identity // agency "acc"
	other  *age.X25519Identity // agency "other"
	// custodian is the protection and rewards officer of "acc".
	custodian *age.X25519Identity
	logs      *bytes.Buffer
	logMu     *sync.Mutex
	// cfg is the handler's configuration, for more front-ends over the
	// same store.
	cfg Config
}

var testKDF = kdfParams{Time: 1, Memory: 8 * 1024, Threads: 1}

func newFixture(t *testing.T) *fixture { t.Helper(); return newFixtureWith(t, nil, nil) }

// genStore is a test store whose Cases also lists generated metadata, as
// if the vault held those cases.
type genStore struct {
	*testStore
	gen []vault.Case
}

func (s *genStore) Cases() ([]vault.Case, error) {
	cs, err := s.testStore.Cases()
	return append(cs, s.gen...), err
}

// newFixtureWith is newFixture whose store also lists the cases gen, of
// the extra agencies (besides "acc" and "other").
func newFixtureWith(t *testing.T, gen []vault.Case, extra []Agency) *fixture {
	t.Helper()
	clk := &clock{t: time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)}
	ida, _ := age.GenerateX25519Identity()
	idb, _ := age.GenerateX25519Identity()
	cust, _ := age.GenerateX25519Identity()
	vs, err := vault.Open(t.TempDir(), vault.Options{Now: clk.Now, Agencies: []vault.Agency{
		{ID: "acc", Name: "ACC", Recipients: []age.Recipient{ida.Recipient()}, Custodian: []age.Recipient{cust.Recipient()}},
		{ID: "other", Name: "Other", Recipients: []age.Recipient{idb.Recipient()}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { vs.Close() })
	st := &testStore{Store: vs, recs: map[string]map[string][]byte{}}
	cat, err := web.LoadCatalog()
	if err != nil {
		t.Fatal(err)
	}
	acc := NewAccounts(st, clk.Now, nil)
	acc.kdf = testKDF
	au, err := audit.Open(t.TempDir(), clk.Now)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { au.Close() })
	logs, mu := &bytes.Buffer{}, &sync.Mutex{}
	log := slog.New(slog.NewTextHandler(lockedWriter{logs, mu}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	var dst Store = st
	if gen != nil {
		dst = &genStore{testStore: st, gen: gen}
	}
	cfg := Config{
		Store: dst, Accounts: acc, Audit: au, Policy: stage.EU, Catalog: cat, Logger: log,
		MaxUpload: 1 << 20, Now: clk.Now,
		Agencies: append([]Agency{
			{ID: "acc", Name: "ACC", Recipients: []string{ida.Recipient().String()}},
			{ID: "other", Name: "Other", Recipients: []string{idb.Recipient().String()}},
		}, extra...),
	}
	h, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{t: t, h: h, store: st, acc: acc, audit: au, clock: clk, agency: ida, other: idb, custodian: cust, logs: logs, logMu: mu, cfg: cfg}
	f.srv = httptest.NewServer(h)
	t.Cleanup(f.srv.Close)
	return f
}

// servedAgain is f served by another desk over the same store, accounts
// and audit log, its configuration changed by tweak.
func (f *fixture) servedAgain(t *testing.T, tweak func(*Config)) *fixture {
	t.Helper()
	g := *f
	tweak(&g.cfg)
	h, err := New(g.cfg)
	if err != nil {
		t.Fatal(err)
	}
	g.h, g.srv = h, httptest.NewServer(h)
	t.Cleanup(g.srv.Close)
	return &g
}

type lockedWriter struct {
	b  *bytes.Buffer
	mu *sync.Mutex
}

func (w lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

func (f *fixture) logText() string {
	f.logMu.Lock()
	defer f.logMu.Unlock()
	return f.logs.String()
}

// newCase commits a case to agency with a report and an attachment, as
// the reporter interface would. It returns the case's reference and the
// reporter's reply identity.
func (f *fixture) newCase(agency, report string) (string, *age.X25519Identity) {
	f.t.Helper()
	reply, _ := age.GenerateX25519Identity()
	lookup := make([]byte, 32)
	rand.Read(lookup)
	b, err := f.store.NewCase(agency, vault.Access{Lookup: lookup, KDF: "test", ReplyRecipient: reply.Recipient().String(), WrappedReply: []byte("w")})
	if err != nil {
		f.t.Fatal(err)
	}
	defer b.Abort()
	for _, it := range []struct {
		kind       vault.Kind
		name, text string
	}{{vault.KindReport, "", report}, {vault.KindAttachment, "evidence.txt", "attached evidence"}} {
		w, err := b.Add(it.kind, it.name)
		if err != nil {
			f.t.Fatal(err)
		}
		io.WriteString(w, it.text)
		if err := w.Close(); err != nil {
			f.t.Fatal(err)
		}
	}
	ref, err := b.Commit()
	if err != nil {
		f.t.Fatal(err)
	}
	return ref, reply
}

// browser is an officer's browser: a cookie jar, redirects followed.
type browser struct {
	f *fixture
	c *http.Client
}

func (f *fixture) browser() *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{f: f, c: &http.Client{Jar: jar}}
}

func (b *browser) get(path string) (*http.Response, string) {
	b.f.t.Helper()
	resp, err := b.c.Get(b.f.srv.URL + path)
	if err != nil {
		b.f.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp, string(body)
}

func (b *browser) post(path string, form url.Values) (*http.Response, string) {
	b.f.t.Helper()
	resp, err := b.c.PostForm(b.f.srv.URL+path, form)
	if err != nil {
		b.f.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp, string(body)
}

func (b *browser) postBody(path, ct string, body io.Reader) (*http.Response, string) {
	b.f.t.Helper()
	resp, err := b.c.Post(b.f.srv.URL+path, ct, body)
	if err != nil {
		b.f.t.Fatal(err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return resp, string(out)
}

var secretRe = regexp.MustCompile(`id="totp-secret">([A-Z2-7]+)<`)

const testPassword = "correct horse battery staple"

// enrol adds an officer and enrols them through the desk; it returns their
// TOTP secret.
func (f *fixture) enrol(name, role string, agencies ...string) []byte {
	f.t.Helper()
	token, err := f.acc.Add(name, role, agencies)
	if err != nil {
		f.t.Fatal(err)
	}
	b := f.browser()
	if resp, body := b.get("/enrol/" + token); resp.StatusCode != 200 || !strings.Contains(body, `name="confirm"`) {
		f.t.Fatalf("enrolment form: %d\n%s", resp.StatusCode, body)
	}
	_, body := b.post("/enrol/"+token, url.Values{"password": {testPassword}, "confirm": {testPassword}})
	m := secretRe.FindStringSubmatch(body)
	if m == nil {
		f.t.Fatalf("no TOTP secret on the enrolment page:\n%s", body)
	}
	secret, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(m[1])
	if err != nil {
		f.t.Fatal(err)
	}
	if resp, body := b.post("/enrol/"+token, url.Values{"code": {totpCode(secret, f.clock.Now())}}); resp.StatusCode != 200 || !strings.Contains(body, "Your account is ready") {
		f.t.Fatalf("enrolment confirm: %d\n%s", resp.StatusCode, body)
	}
	return secret
}

// login signs in with a fresh code (the clock moves to the next step).
func (f *fixture) login(name string, secret []byte) *browser {
	f.t.Helper()
	f.clock.Add(totpPeriod * time.Second)
	b := f.browser()
	resp, body := b.post("/login", url.Values{"name": {name}, "password": {testPassword}, "code": {totpCode(secret, f.clock.Now())}})
	if resp.StatusCode != 200 || !strings.Contains(body, "Signed in as "+name) {
		f.t.Fatalf("login %s: %d\n%s", name, resp.StatusCode, body)
	}
	return b
}

func sealTo(t *testing.T, text string, recips ...age.Recipient) []byte {
	t.Helper()
	var buf bytes.Buffer
	w, err := age.Encrypt(&buf, recips...)
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(w, text)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func open(t *testing.T, ct []byte, id age.Identity) string {
	t.Helper()
	r, err := age.Decrypt(bytes.NewReader(ct), id)
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func (f *fixture) item(ref string, id int) []byte {
	f.t.Helper()
	rc, err := f.store.OpenItem(ref, id)
	if err != nil {
		f.t.Fatal(err)
	}
	defer rc.Close()
	b, _ := io.ReadAll(rc)
	return b
}
