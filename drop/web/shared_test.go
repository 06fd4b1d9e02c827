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

	start := func() *http.Request {
		t.Helper()
		w := httptest.NewRecorder()
		if err := one.Start(w, &flashy{Name: "canary-ref-8831"}); err != nil {
			t.Fatal(err)
		}
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
