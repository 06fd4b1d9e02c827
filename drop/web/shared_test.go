package web

import (
	"bytes"
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"cleandrop/vault"
)

// memRecords is a [Records] store in memory with the vault's semantics:
// every UpdateRecord is one serializable step. Several front-ends in a
// test share one.
type memRecords struct {
	mu     sync.Mutex
	m      map[string][]byte
	writes int
}

func newMemRecords() *memRecords { return &memRecords{m: map[string][]byte{}} }

func (s *memRecords) Record(kind, id string) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.m[kind+"/"+id]
	if !ok {
		return nil, vault.ErrNotFound
	}
	return bytes.Clone(v), nil
}

func (s *memRecords) Records(kind string) ([]vault.Record, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []vault.Record
	for _, k := range slices.Sorted(maps.Keys(s.m)) {
		if id, ok := strings.CutPrefix(k, kind+"/"); ok {
			out = append(out, vault.Record{ID: id, Value: bytes.Clone(s.m[k])})
		}
	}
	return out, nil
}

func (s *memRecords) UpdateRecord(kind, id string, fn func([]byte) ([]byte, error)) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	old, ok := s.m[kind+"/"+id]
	if !ok {
		old = nil
	}
	v, err := fn(bytes.Clone(old))
	if err != nil {
		return err
	}
	s.writes++
	if v == nil {
		delete(s.m, kind+"/"+id)
	} else {
		s.m[kind+"/"+id] = bytes.Clone(v)
	}
	return nil
}

// dump is every key and value of the store, for searching.
func (s *memRecords) dump() []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	var b bytes.Buffer
	for k, v := range s.m {
		b.WriteString(k)
		b.Write(v)
	}
	return b.Bytes()
}

type flashy struct{ Name, Flash string }

var flashyCodec = Codec[*flashy]{
	Encode: func(v *flashy) ([]byte, error) { return []byte(v.Name + "\n" + v.Flash), nil },
	Decode: func(b []byte) (*flashy, error) {
		name, flash, _ := strings.Cut(string(b), "\n")
		return &flashy{Name: name, Flash: flash}, nil
	},
}

// TestSharedSessionsAcrossFrontEnds starts a session on one front-end and
// uses, changes and ends it on another over the same store; what the
// store holds opens only with the cookie.
func TestSharedSessionsAcrossFrontEnds(t *testing.T) {
	st := newMemRecords()
	var mu sync.Mutex
	clock := time.Unix(1_800_000_000, 0)
	now := func() time.Time { mu.Lock(); defer mu.Unlock(); return clock }
	advance := func(d time.Duration) { mu.Lock(); clock = clock.Add(d); mu.Unlock() }
	one := NewSharedSessions("s", 20*time.Minute, 2*time.Hour, st, flashyCodec)
	two := NewSharedSessions("s", 20*time.Minute, 2*time.Hour, st, flashyCodec)
	one.Now, two.Now = now, now
	one.shared.landing, two.shared.landing = 50*time.Millisecond, 50*time.Millisecond // every write is waited for

	start := func() *http.Request {
		t.Helper()
		w := httptest.NewRecorder()
		if err := one.Start(w, &flashy{Name: "canary-ref-8831"}); err != nil {
			t.Fatal(err)
		}
		one.Wait()
		req := httptest.NewRequest("GET", "/", nil)
		req.AddCookie(w.Result().Cookies()[0])
		return req
	}
	req := start()
	cookie, _ := req.Cookie("s")
	if v, ok := two.Get(req); !ok || v.Name != "canary-ref-8831" {
		t.Fatalf("the other front-end: %+v, %v", v, ok)
	}
	if dump := st.dump(); bytes.Contains(dump, []byte("canary-ref-8831")) || bytes.Contains(dump, []byte(cookie.Value)) {
		t.Fatal("the store holds the session's value or its cookie in the clear")
	}
	// A change made on one front-end is what the other reads next.
	if !two.Update(req, func(v *flashy) *flashy { v.Flash = "answer.sent"; return v }) {
		t.Fatal("update refused")
	}
	if v, _ := one.Get(req); v.Flash != "answer.sent" {
		t.Fatalf("the change did not reach the first front-end: %+v", v)
	}
	// Another cookie opens nothing, even naming the same record.
	forged := httptest.NewRequest("GET", "/", nil)
	forged.AddCookie(&http.Cookie{Name: "s", Value: cookie.Value + "x"})
	if _, ok := two.Get(forged); ok {
		t.Fatal("a wrong cookie opened a session")
	}
	// Idle: used every 15 minutes it lives on (one write a minute at
	// most); 21 minutes without a request end it on both.
	writes := st.writes
	for range 4 {
		advance(15 * time.Minute)
		if _, ok := two.Get(req); !ok {
			t.Fatal("a session in use expired")
		}
		two.Get(req)
		one.Get(req)
	}
	if w := st.writes - writes; w != 4 {
		t.Errorf("12 reads over 4 minutes wrote %d times, want 4", w)
	}
	advance(21 * time.Minute)
	if _, ok := one.Get(req); ok {
		t.Fatal("an idle session still live")
	}
	if n := one.Len(); n != 0 {
		t.Fatalf("%d records after the idle session ended", n)
	}
	// Max: two hours however it is used.
	req = start()
	for range 8 {
		advance(15 * time.Minute)
		one.Get(req)
	}
	advance(time.Minute)
	if _, ok := two.Get(req); ok {
		t.Fatal("a session older than Max still live")
	}
	// Signing out on one front-end ends it on the other.
	req = start()
	two.End(httptest.NewRecorder(), req)
	if _, ok := one.Get(req); ok || one.Update(req, func(v *flashy) *flashy { return v }) {
		t.Fatal("a session ended on the other front-end is live")
	}
	// Sessions never used again are swept when another starts.
	for range 3 {
		start()
	}
	advance(3 * time.Hour)
	start()
	if n := two.Len(); n != 1 {
		t.Fatalf("%d session records after the sweep, want 1", n)
	}
}

// gatedRecords is a [memRecords] whose writes wait for release, and fail
// once fail is set: a store whose commit step has not come yet.
type gatedRecords struct {
	*memRecords
	release chan struct{}
	fail    atomic.Bool
}

func (g *gatedRecords) UpdateRecord(kind, id string, fn func([]byte) ([]byte, error)) error {
	<-g.release
	if g.fail.Load() {
		return fmt.Errorf("store down")
	}
	return g.memRecords.UpdateRecord(kind, id, fn)
}

// TestSharedSessionStartsBeforeItsWrite: a session's first write does not
// hold up the response that starts it. The front-end that started it
// serves it at once; another finds it once the write has landed; a change
// or a sign-out waits for that write; a write that fails ends the session.
func TestSharedSessionStartsBeforeItsWrite(t *testing.T) {
	st := &gatedRecords{memRecords: newMemRecords(), release: make(chan struct{})}
	one := NewSharedSessions("s", 20*time.Minute, 2*time.Hour, st, flashyCodec)
	two := NewSharedSessions("s", 20*time.Minute, 2*time.Hour, st, flashyCodec)
	two.shared.landing = 100 * time.Millisecond

	started := make(chan *http.Request)
	go func() {
		w := httptest.NewRecorder()
		if err := one.Start(w, &flashy{Name: "ref-1"}); err != nil {
			t.Error(err)
		}
		req := httptest.NewRequest("GET", "/", nil)
		req.AddCookie(w.Result().Cookies()[0])
		started <- req
	}()
	var req *http.Request
	select {
	case req = <-started:
	case <-time.After(10 * time.Second):
		t.Fatal("Start waited for the store's write")
	}
	if v, ok := one.Get(req); !ok || v.Name != "ref-1" {
		t.Fatalf("the starting front-end, before the write: %+v, %v", v, ok)
	}
	if _, ok := two.Get(req); ok {
		t.Fatal("another front-end found a session the store does not hold yet")
	}
	// Another front-end asked while the write is on its way looks again,
	// and finds it once it lands.
	two.shared.landing = time.Minute
	found := make(chan bool)
	go func() {
		v, ok := two.Get(req)
		found <- ok && v.Name == "ref-1"
	}()
	time.Sleep(50 * time.Millisecond)
	close(st.release)
	if !<-found {
		t.Fatal("the other front-end gave up on a session whose write was on its way")
	}
	st.release = make(chan struct{})
	w := httptest.NewRecorder()
	if err := one.Start(w, &flashy{Name: "ref-1"}); err != nil {
		t.Fatal(err)
	}
	req = httptest.NewRequest("GET", "/", nil)
	req.AddCookie(w.Result().Cookies()[0])
	updated := make(chan bool)
	go func() {
		updated <- one.Update(req, func(v *flashy) *flashy { v.Flash = "answer.sent"; return v })
	}()
	select {
	case <-updated:
		t.Fatal("an update went ahead of the session's first write")
	case <-time.After(50 * time.Millisecond):
	}
	close(st.release)
	if !<-updated {
		t.Fatal("update refused")
	}
	one.Wait()
	if v, ok := two.Get(req); !ok || v.Flash != "answer.sent" {
		t.Fatalf("the other front-end, after the write: %+v, %v", v, ok)
	}

	// Signing out on the other front-end while the first write is on its
	// way: the record does not outlive the sign-out.
	st.release = make(chan struct{})
	w = httptest.NewRecorder()
	if err := one.Start(w, &flashy{Name: "ref-3"}); err != nil {
		t.Fatal(err)
	}
	req = httptest.NewRequest("GET", "/", nil)
	req.AddCookie(w.Result().Cookies()[0])
	ended := make(chan struct{})
	go func() { two.End(httptest.NewRecorder(), req); close(ended) }()
	time.Sleep(50 * time.Millisecond)
	close(st.release)
	<-ended
	one.Wait()
	if _, ok := one.Get(req); ok {
		t.Fatal("a session signed out while its first write was on its way is live")
	}

	// The store fails: the session looked live to its front-end until the
	// write failed, and is gone after.
	one.shared.landing = 100 * time.Millisecond
	st.fail.Store(true)
	w = httptest.NewRecorder()
	if err := one.Start(w, &flashy{Name: "ref-2"}); err != nil {
		t.Fatal(err)
	}
	one.Wait()
	req = httptest.NewRequest("GET", "/", nil)
	req.AddCookie(w.Result().Cookies()[0])
	if _, ok := one.Get(req); ok {
		t.Fatal("a session whose write failed is live")
	}
}

// TestSharedBucketsAcrossFrontEnds: two front-ends over one store, every
// taker at once: the budget is spent once, not once per front-end.
func TestSharedBucketsAcrossFrontEnds(t *testing.T) {
	st := newMemRecords()
	var mu sync.Mutex
	clock := time.Unix(1_800_000_000, 0)
	now := func() time.Time { mu.Lock(); defer mu.Unlock(); return clock }
	fronts := []Budget{
		NewSharedBuckets(st, "throttle", 5, time.Minute, now),
		NewSharedBuckets(st, "throttle", 5, time.Minute, now),
	}
	var passed atomic.Int64
	var wg sync.WaitGroup
	gate := make(chan struct{})
	for i := range 100 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-gate
			ok, err := fronts[i%2].Take("alice")
			if err != nil {
				t.Error(err)
			}
			if ok {
				passed.Add(1)
			}
		}()
	}
	close(gate)
	wg.Wait()
	if n := passed.Load(); n != 5 {
		t.Fatalf("100 takers on two front-ends, burst 5: %d passed", n)
	}
	if ok, _ := fronts[0].Take("bob"); !ok {
		t.Fatal("another name's budget was drained")
	}
	// A try given back on one front-end is there on the other.
	fronts[1].Refund("alice")
	if ok, _ := fronts[0].Take("alice"); !ok {
		t.Fatal("a refunded try is missing")
	}
	if ok, _ := fronts[0].Take("alice"); ok {
		t.Fatal("a try taken twice")
	}
	// One a minute comes back, in whole minutes.
	mu.Lock()
	clock = clock.Add(119 * time.Second)
	mu.Unlock()
	if ok, _ := fronts[1].Take("alice"); !ok {
		t.Fatal("no try after a minute")
	}
	if ok, _ := fronts[1].Take("alice"); ok {
		t.Fatal("two tries after one minute")
	}
	// A refilled bucket's record goes: the store keeps only spent budgets.
	fronts[0].Refund("bob")
	mu.Lock()
	clock = clock.Add(time.Hour)
	mu.Unlock()
	fronts[0].Take("carol")
	recs, _ := st.Records("throttle")
	if len(recs) != 1 || recs[0].ID != "carol" {
		t.Fatalf("records after an hour: %v", fmt.Sprint(len(recs)))
	}
}

// TestSessionLandingBounded: cookies that name no session make at most
// landingWaits requests look again at once; the rest are answered at
// once, so made-up cookies cannot multiply the store's reads.
func TestSessionLandingBounded(t *testing.T) {
	st := newMemRecords()
	s := NewSharedSessions("s", 20*time.Minute, 2*time.Hour, st, flashyCodec)
	s.shared.landing = 3 * time.Second
	var wg sync.WaitGroup
	for range landingWaits {
		wg.Go(func() {
			req := httptest.NewRequest("GET", "/", nil)
			req.AddCookie(&http.Cookie{Name: "s", Value: "made-up"})
			s.Get(req)
		})
	}
	for len(s.shared.waits) < landingWaits {
		time.Sleep(time.Millisecond)
	}
	req := httptest.NewRequest("GET", "/", nil)
	req.AddCookie(&http.Cookie{Name: "s", Value: "made-up too"})
	start := time.Now()
	_, ok := s.Get(req)
	if took := time.Since(start); ok || took > time.Second {
		t.Fatalf("a made-up cookie beyond the bound: live %v after %v, want an answer at once", ok, took)
	}
	wg.Wait()
	if n := len(s.shared.waits); n != 0 {
		t.Fatalf("%d tokens still held", n)
	}
}
