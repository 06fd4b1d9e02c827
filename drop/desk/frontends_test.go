package desk

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"cleandrop/drop/web"
)

// frontEnd is another desk over the fixture's store and audit log, with
// accounts of its own, as a second `cleandrop serve` over one shared
// store would have. shared keeps its sessions and budgets per name in the
// store ([Config.Shared]).
func (f *fixture) frontEnd(shared bool) (*httptest.Server, *Accounts) {
	f.t.Helper()
	acc := NewAccounts(f.store, f.clock.Now, nil)
	acc.kdf = f.acc.kdf
	cfg := f.cfg
	cfg.Accounts = acc
	if shared {
		cfg.Shared = f.store
	}
	h, err := New(cfg)
	if err != nil {
		f.t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	f.t.Cleanup(srv.Close)
	return srv, acc
}

// postLogin signs in at srv without following the redirect and returns the
// status: 303 for a sign-in, 401 refused, 429 no try left.
func postLogin(t *testing.T, c *http.Client, srv *httptest.Server, name, code string) int {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/login", strings.NewReader(url.Values{
		"name": {name}, "password": {testPassword}, "code": {code}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := c.Do(req)
	if err != nil {
		t.Error(err)
		return 0
	}
	resp.Body.Close()
	return resp.StatusCode
}

func noRedirect(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

// TestTOTPOnceAcrossFrontEnds: two front-ends over one store, each with
// its own accounts; in every round one fresh code is sent several times
// to both at the same moment: exactly one sign-in gets through. With the
// check-and-set of the last step guarded by each front-end's own lock,
// both front-ends accepted the code in some rounds.
func TestTOTPOnceAcrossFrontEnds(t *testing.T) {
	f := newFixture(t)
	// A derivation of microseconds: the sign-ins reach the code check
	// together, where a code used twice would show.
	f.acc.kdf = kdfParams{Time: 1, Memory: 8, Threads: 1}
	secret := f.enrol("alice", RoleOfficer, "acc")
	one, _ := f.frontEnd(false)
	two, _ := f.frontEnd(false)
	c := &http.Client{CheckRedirect: noRedirect}
	const rounds, each = 60, 4
	twice := 0
	for round := range rounds {
		// Ten minutes on: every budget has refilled and the code is new.
		f.clock.Add(10 * time.Minute)
		code := totpCode(secret, f.clock.Now())
		var ok atomic.Int64
		var wg sync.WaitGroup
		gate := make(chan struct{})
		for i := range 2 * each {
			srv := []*httptest.Server{one, two}[i%2]
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-gate
				switch st := postLogin(t, c, srv, "alice", code); st {
				case http.StatusSeeOther:
					ok.Add(1)
				case http.StatusUnauthorized, http.StatusTooManyRequests:
				default:
					t.Errorf("round %d: status %d", round, st)
				}
			}()
		}
		close(gate)
		wg.Wait()
		switch n := ok.Load(); {
		case n > 1:
			twice++
			t.Errorf("round %d: the code signed in %d times", round, n)
		case n == 0:
			t.Errorf("round %d: a fresh code was refused everywhere", round)
		}
	}
	t.Logf("%d rounds of %d sign-ins with one code on two front-ends: %d rounds let it in more than once", rounds, 2*each, twice)
	// And once used on one front-end, a code is refused on the other.
	f.clock.Add(10 * time.Minute)
	code := totpCode(secret, f.clock.Now())
	if st := postLogin(t, c, one, "alice", code); st != http.StatusSeeOther {
		t.Fatalf("fresh code on the first front-end: %d", st)
	}
	if st := postLogin(t, c, two, "alice", code); st != http.StatusUnauthorized {
		t.Fatalf("the used code on the other front-end: %d", st)
	}
}

// pairedReads is a store where reads of officer records wait for each
// other in pairs, as two front-ends reading an account at the same moment.
type pairedReads struct {
	Store
	mu      sync.Mutex
	waiting chan struct{}
}

func (s *pairedReads) Record(kind, id string) ([]byte, error) {
	// Read first, then wait for the other: neither returns before both
	// have read.
	v, err := s.Store.Record(kind, id)
	if kind == kindOfficer {
		s.mu.Lock()
		if s.waiting == nil {
			ch := make(chan struct{})
			s.waiting = ch
			s.mu.Unlock()
			select {
			case <-ch:
			case <-time.After(5 * time.Second): // the other never came
			}
		} else {
			close(s.waiting)
			s.waiting = nil
			s.mu.Unlock()
		}
	}
	return v, err
}

// TestTOTPOnceAcrossFrontEndsInterleaved is the race above made certain:
// two front-ends' accounts read the officer together at every read, and
// sign in with one code at once. One alone gets in.
func TestTOTPOnceAcrossFrontEndsInterleaved(t *testing.T) {
	f := newFixture(t)
	f.acc.kdf = kdfParams{Time: 1, Memory: 8, Threads: 1}
	secret := f.enrol("alice", RoleOfficer, "acc")
	loginTogether(t, f, &pairedReads{Store: f.store}, secret)
}

// TestTOTPOnceAcrossFrontEndsOnVault is the same over the vault's own
// records (Badger): its UpdateRecord is the compare-and-swap.
func TestTOTPOnceAcrossFrontEndsOnVault(t *testing.T) {
	f := newFixture(t)
	vs := f.store.Store
	acc := NewAccounts(vs, f.clock.Now, nil)
	acc.kdf = kdfParams{Time: 1, Memory: 8, Threads: 1}
	token, err := acc.Add("alice", RoleOfficer, []string{"acc"})
	if err != nil {
		t.Fatal(err)
	}
	o, err := acc.choosePassword(t.Context(), token, testPassword)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := acc.confirmEnrol(token, totpCode(o.TOTPSecret, f.clock.Now())); err != nil {
		t.Fatal(err)
	}
	loginTogether(t, f, &pairedReads{Store: vs}, o.TOTPSecret)
}

// loginTogether signs alice in with one code through two accounts over st
// at once, in three rounds: one alone must get in each time.
func loginTogether(t *testing.T, f *fixture, st Store, secret []byte) {
	t.Helper()
	one, two := NewAccounts(st, f.clock.Now, nil), NewAccounts(st, f.clock.Now, nil)
	for round := range 3 {
		f.clock.Add(10 * time.Minute)
		code := totpCode(secret, f.clock.Now())
		var ok atomic.Int64
		var wg sync.WaitGroup
		for _, acc := range []*Accounts{one, two} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if _, _, err := acc.login(t.Context(), "alice", testPassword, code); err == nil {
					ok.Add(1)
				}
			}()
		}
		wg.Wait()
		if n := ok.Load(); n != 1 {
			t.Errorf("round %d: one code signed in %d times", round, n)
		}
	}
}

// at is b's browser (its cookies) at another front-end.
func (b *browser) at(srv *httptest.Server) *browser {
	f := *b.f
	f.srv = srv
	return &browser{f: &f, c: b.c}
}

// TestSessionsAcrossFrontEnds: an officer signs in at one front-end and
// works at the other, which shows the first's notice; signed out at the
// second, the session is refused at the first.
func TestSessionsAcrossFrontEnds(t *testing.T) {
	f := newFixture(t)
	secret := f.enrol("alice", RoleOfficer, "acc")
	ref, _ := f.newCase("acc", "the report")
	one, _ := f.frontEnd(true)
	two, _ := f.frontEnd(true)
	f.clock.Add(totpPeriod * time.Second)
	b1 := f.browser().at(one)
	if resp, body := b1.post("/login", url.Values{"name": {"alice"}, "password": {testPassword}, "code": {totpCode(secret, f.clock.Now())}}); resp.StatusCode != 200 || !strings.Contains(body, "Signed in as alice") {
		t.Fatalf("sign-in at the first front-end: %d", resp.StatusCode)
	}
	b2 := b1.at(two)
	if resp, body := b2.get("/"); resp.StatusCode != 200 || !strings.Contains(body, "Signed in as alice") {
		t.Fatalf("the session at the second front-end: %d", resp.StatusCode)
	}
	// A question asked at the second; its notice is shown by the first.
	b2.c.CheckRedirect = noRedirect
	if resp, _ := b2.post("/cases/"+ref+"/questions", url.Values{"question": {"When did it happen?"}}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("question at the second front-end: %d", resp.StatusCode)
	}
	b2.c.CheckRedirect = nil
	if _, body := b1.get("/cases/" + ref); !strings.Contains(body, "Your question was encrypted and sent.") {
		t.Fatal("the first front-end does not show the notice set at the second")
	}
	if _, body := b1.get("/cases/" + ref); strings.Contains(body, "Your question was encrypted and sent.") {
		t.Fatal("a notice shown twice")
	}
	// The store holds the session sealed: not the officer's name, not the
	// cookie.
	var cookie string
	for _, c := range b1.c.Jar.Cookies(mustURL(t, one.URL)) {
		if c.Name == "d" {
			cookie = c.Value
		}
	}
	recs, _ := f.store.Records("sessions.d")
	if len(recs) != 1 || cookie == "" {
		t.Fatalf("%d session records, cookie %q", len(recs), cookie)
	}
	if v := string(recs[0].Value); strings.Contains(v, "alice") || strings.Contains(recs[0].ID, cookie) || strings.Contains(v, cookie) {
		t.Fatal("the session record shows its officer or cookie")
	}
	// Signed out at the second, refused at the first.
	b2.post("/logout", nil)
	b1.c.CheckRedirect = noRedirect
	if resp, _ := b1.get("/"); resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/login" {
		t.Fatalf("a session ended at the other front-end: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	if recs, _ := f.store.Records("sessions.d"); len(recs) != 0 {
		t.Fatalf("%d session records after signing out", len(recs))
	}
}

func mustURL(t *testing.T, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// TestSignInBudgetAcrossFrontEnds: wrong sign-ins for one name sent at
// once to two front-ends over one store evaluate the name's budget once,
// not once per front-end (with budgets in memory, both front-ends
// evaluated five).
func TestSignInBudgetAcrossFrontEnds(t *testing.T) {
	f := newFixture(t)
	f.enrol("alice", RoleOfficer, "acc")
	one, acc1 := f.frontEnd(true)
	two, acc2 := f.frontEnd(true)
	var evals atomic.Int64
	acc1.evaluated = func() { evals.Add(1) }
	acc2.evaluated = acc1.evaluated
	// Queues that take them all: the budget alone must hold them.
	acc1.derivations, acc2.derivations = web.NewFair(2, 1000), web.NewFair(2, 1000)
	c := &http.Client{CheckRedirect: noRedirect}
	codes := map[int]int{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	gate := make(chan struct{})
	for i := range 20 {
		srv := []*httptest.Server{one, two}[i%2]
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-gate
			st := postLogin(t, c, srv, "alice", "000000")
			mu.Lock()
			codes[st]++
			mu.Unlock()
		}()
	}
	close(gate)
	wg.Wait()
	t.Logf("20 wrong sign-ins at two front-ends: answers %v, evaluated %d (name budget %d)", codes, evals.Load(), nameBurst)
	if evals.Load() > nameBurst || codes[http.StatusUnauthorized] > nameBurst {
		t.Fatalf("evaluated %d guesses, budget %d", evals.Load(), nameBurst)
	}
	// The budget refills by the minute, at every front-end.
	f.clock.Add(time.Minute)
	if st := postLogin(t, c, two, "alice", "000000"); st != http.StatusUnauthorized {
		t.Fatalf("a minute later: %d, want a refused guess", st)
	}
	if st := postLogin(t, c, one, "alice", "000000"); st != http.StatusTooManyRequests {
		t.Fatalf("the minute's try spent twice: %d", st)
	}
}
