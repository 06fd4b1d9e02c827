package desk

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"cleandrop/drop/web"
)

// burst fires n requests made by mk at the handler at the same moment and
// counts the answers by status.
func burst(f *fixture, n int, mk func(i int) *http.Request) map[int]int {
	var mu sync.Mutex
	codes := map[int]int{}
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		req := mk(i)
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			w := httptest.NewRecorder()
			f.h.ServeHTTP(w, req)
			mu.Lock()
			codes[w.Code]++
			mu.Unlock()
		}()
	}
	close(start)
	wg.Wait()
	return codes
}

func (f *fixture) countEvaluations() *atomic.Int64 {
	var n atomic.Int64
	f.acc.evaluated = func() { n.Add(1) }
	return &n
}

// TestLoginRace: 300 sign-ins for one name with wrong codes, sent at the
// same moment, evaluate at most the name's budget. Before the try was
// taken ahead of the work, all 300 were evaluated.
func TestLoginRace(t *testing.T) {
	f := newFixture(t)
	f.enrol("alice", RoleOfficer, "acc")
	evals := f.countEvaluations()
	// A queue that lets the circuit queue them all: the budget alone
	// must hold them.
	f.acc.derivations = web.NewFair(2, 1000)
	codes := burst(f, 300, func(int) *http.Request {
		req := httptest.NewRequest(http.MethodPost, "/login", strings.NewReader(url.Values{
			"name": {"alice"}, "password": {testPassword}, "code": {"000000"}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		return req
	})
	t.Logf("300 concurrent TOTP guesses for one name: answers %v, evaluated %d (name budget %d)", codes, evals.Load(), nameBurst)
	if evals.Load() > nameBurst || codes[http.StatusUnauthorized] > nameBurst {
		t.Fatalf("evaluated %d guesses (%d answered 401), budget %d", evals.Load(), codes[http.StatusUnauthorized], nameBurst)
	}
	if codes[http.StatusTooManyRequests] < 300-nameBurst {
		t.Fatalf("answers %v: the rest were not refused with 429", codes)
	}
}

// TestTokenRace: 300 well-formed wrong tokens for one officer at once
// evaluate at most the officer's token budget; 300 malformed tokens
// evaluate none and spend no budget, so the right token still works.
func TestTokenRace(t *testing.T) {
	f := newFixture(t)
	f.enrol("alice", RoleOfficer, "acc")
	token, err := f.acc.NewToken("alice", "script")
	if err != nil {
		t.Fatal(err)
	}
	evals := f.countEvaluations()
	api := func(tok string) *http.Request {
		req := httptest.NewRequest(http.MethodGet, "/api/v1/cases", nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		return req
	}
	malformed := []string{
		"garbage", "alice.", "alice.short", "alice." + strings.Repeat("A", 44), "Alice." + randomToken(),
		"alice." + strings.Repeat("*", 43), "." + randomToken(), "alice" + randomToken(), "x." + randomToken() + "=",
		"alice." + randomToken()[:42] + "B", // 43 characters whose last one carries bits past 32 bytes
	}
	codes := burst(f, 300, func(i int) *http.Request { return api(malformed[i%len(malformed)]) })
	t.Logf("300 concurrent malformed tokens: answers %v, evaluated %d", codes, evals.Load())
	if evals.Load() != 0 || codes[http.StatusUnauthorized] != 300 {
		t.Fatalf("malformed tokens: evaluated %d, answers %v", evals.Load(), codes)
	}
	if resp := f.api(token, "GET", "/api/v1/cases", "", nil); resp.StatusCode != 200 {
		t.Fatalf("right token after malformed ones: %d", resp.StatusCode)
	}
	evals.Store(0)
	codes = burst(f, 300, func(int) *http.Request { return api("alice." + randomToken()) })
	t.Logf("300 concurrent wrong tokens for one officer: answers %v, evaluated %d (token budget %d)", codes, evals.Load(), tokenBurst)
	if evals.Load() > tokenBurst || codes[http.StatusUnauthorized] > tokenBurst {
		t.Fatalf("evaluated %d wrong tokens (%d answered 401), budget %d", evals.Load(), codes[http.StatusUnauthorized], tokenBurst)
	}
}

func TestTokenName(t *testing.T) {
	good := "alice.b" + randomToken()[1:]
	if n, ok := tokenName(good); !ok || n != "alice" {
		t.Fatalf("well-formed token refused: %q %v", n, ok)
	}
	if n, ok := tokenName("first.last." + randomToken()); !ok || n != "first.last" {
		t.Fatalf("dotted name: %q %v", n, ok)
	}
}
