package source

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"cleandrop/drop/receipt"
	"cleandrop/drop/web"
)

// loginReq is a follow-up login with rc, on circuit (none: the one local
// circuit).
func loginReq(rc, circuit string) *http.Request {
	req := httptest.NewRequest(http.MethodPost, "/followup", strings.NewReader(url.Values{"receipt": {rc}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if circuit != "" {
		req = req.WithContext(web.WithCircuit(req.Context(), circuit))
	}
	return req
}

// burst fires the requests at the handler at the same moment and counts
// the answers by status.
func burst(h http.Handler, reqs []*http.Request) map[int]int {
	var mu sync.Mutex
	codes := map[int]int{}
	var wg sync.WaitGroup
	start := make(chan struct{})
	for _, req := range reqs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			w := httptest.NewRecorder()
			h.ServeHTTP(w, req)
			mu.Lock()
			codes[w.Code]++
			mu.Unlock()
		}()
	}
	close(start)
	wg.Wait()
	return codes
}

// TestLoginRace: 300 wrong receipts sent at the same moment evaluate at
// most the circuit's budget. Before the try was taken ahead of the work,
// all 300 were evaluated. The queue here lets a circuit queue them all,
// so that the budget alone is what holds them.
func TestLoginRace(t *testing.T) {
	var evals atomic.Int64
	f := newFixture(t, func(c *Config) {
		c.LoginBurst, c.LoginRefill = 20, time.Hour
		c.Derivations = web.NewFair(2, 1000)
		c.OnDerive = func() { evals.Add(1) }
	})
	var reqs []*http.Request
	for range 300 {
		rc, _ := receipt.Generate(receipt.Words)
		reqs = append(reqs, loginReq(rc, ""))
	}
	codes := burst(f.h, reqs)
	t.Logf("300 concurrent wrong receipts: answers %v, evaluated %d (budget 20)", codes, evals.Load())
	if evals.Load() > 20 || codes[http.StatusUnauthorized] > 20 {
		t.Fatalf("evaluated %d (%d answered 401), budget 20", evals.Load(), codes[http.StatusUnauthorized])
	}
}

// TestCircuitsApart: a flooder that spends its circuits' budgets leaves
// another circuit's reporter untouched, and each flooding circuit is held
// to its own budget.
func TestCircuitsApart(t *testing.T) {
	var evals atomic.Int64
	f := newFixture(t, func(c *Config) {
		c.LoginBurst, c.LoginRefill = 3, time.Hour
		c.OnDerive = func() { evals.Add(1) }
	})
	w := f.report(t, [][2]string{{"agency", "acc"}, {"message", "hello"}}, nil)
	rc := receiptRe.FindStringSubmatch(w.Body.String())[1]
	evals.Store(0)
	// Several rounds: the queue refuses what a circuit has beyond its share
	// at once, so the budgets are spent over a few bursts.
	total := map[int]int{}
	for range 5 {
		var reqs []*http.Request
		for i := range 200 {
			other, _ := receipt.Generate(receipt.Words)
			reqs = append(reqs, loginReq(other, []string{"flood-a", "flood-b"}[i%2]))
		}
		for code, n := range burst(f.h, reqs) {
			total[code] += n
		}
	}
	t.Logf("1000 wrong receipts on 2 circuits, budget 3 each: answers %v, evaluated %d", total, evals.Load())
	if evals.Load() > 6 {
		t.Fatalf("flooder evaluated %d guesses on 2 circuits, budget 3 each", evals.Load())
	}
	if w := f.do(loginReq(rc, "reporter")); w.Code != http.StatusSeeOther {
		t.Fatalf("the reporter's own circuit: %d after the flood, want 303", w.Code)
	}
}

// TestQueueFullIs429: when a circuit already has its share of derivations
// queued, a login and a new report from it get 429 at once, with the
// translated page, and nothing is evaluated or saved.
func TestQueueFullIs429(t *testing.T) {
	q := web.NewFair(2, 1)
	var evals atomic.Int64
	f := newFixture(t, func(c *Config) {
		c.Derivations = q
		c.OnDerive = func() { evals.Add(1) }
	})
	hold, held := make(chan struct{}), make(chan struct{})
	go q.Do(t.Context(), web.LocalCircuit, func() { close(held); <-hold })
	<-held
	defer close(hold)
	rc, _ := receipt.Generate(receipt.Words)
	w := f.do(loginReq(rc, ""))
	if w.Code != http.StatusTooManyRequests || !strings.Contains(w.Body.String(), "Too many attempts have failed recently") {
		t.Fatalf("login with the circuit's queue full: %d\n%s", w.Code, w.Body.String())
	}
	w = f.report(t, [][2]string{{"agency", "acc"}, {"message", "hello"}}, nil)
	if w.Code != http.StatusTooManyRequests || !strings.Contains(w.Body.String(), "The server is busy with other requests from your connection.") {
		t.Fatalf("report with the circuit's queue full: %d\n%s", w.Code, w.Body.String())
	}
	if evals.Load() != 0 {
		t.Fatalf("%d derivations ran", evals.Load())
	}
	// Another circuit is served.
	if w := f.do(loginReq(rc, "other")); w.Code == http.StatusTooManyRequests {
		t.Fatal("another circuit was refused")
	}
}
