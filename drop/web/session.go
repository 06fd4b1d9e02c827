package web

import (
	"crypto/rand"
	"encoding/base64"
	"net/http"
	"sync"
	"time"
)

// Sessions keeps per-visitor state in memory only, behind a random cookie.
// A session ends at logout, after Idle without a request, or after Max in
// all, whichever comes first; its value is then dropped.
type Sessions[T any] struct {
	Cookie string
	Idle   time.Duration
	Max    time.Duration
	Now    func() time.Time

	mu sync.Mutex
	m  map[string]*session[T]
}

type session[T any] struct {
	val            T
	born, lastSeen time.Time
}

// NewSessions makes a session store whose cookie is named cookie.
func NewSessions[T any](cookie string, idle, max time.Duration) *Sessions[T] {
	return &Sessions[T]{Cookie: cookie, Idle: idle, Max: max, Now: time.Now, m: map[string]*session[T]{}}
}

// Start begins a session holding v and sets its cookie.
func (s *Sessions[T]) Start(w http.ResponseWriter, v T) {
	b := make([]byte, 32)
	rand.Read(b)
	id := base64.RawURLEncoding.EncodeToString(b)
	now := s.Now()
	s.mu.Lock()
	s.sweep(now)
	s.m[id] = &session[T]{val: v, born: now, lastSeen: now}
	s.mu.Unlock()
	http.SetCookie(w, &http.Cookie{ // #nosec G124 -- plain http by design: an onion address (Tor encrypts) or loopback; Chromium drops Secure cookies there
		Name: s.Cookie, Value: id, Path: "/", HttpOnly: true,
		SameSite: http.SameSiteStrictMode,
	})
}

// Get returns the live session of r, refreshing its idle timer.
func (s *Sessions[T]) Get(r *http.Request) (T, bool) {
	var zero T
	c, err := r.Cookie(s.Cookie)
	if err != nil {
		return zero, false
	}
	now := s.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	ss, ok := s.m[c.Value]
	if !ok {
		return zero, false
	}
	if now.Sub(ss.lastSeen) > s.Idle || now.Sub(ss.born) > s.Max {
		delete(s.m, c.Value)
		return zero, false
	}
	ss.lastSeen = now
	return ss.val, true
}

// End forgets r's session and clears its cookie.
func (s *Sessions[T]) End(w http.ResponseWriter, r *http.Request) {
	if c, err := r.Cookie(s.Cookie); err == nil {
		s.mu.Lock()
		delete(s.m, c.Value)
		s.mu.Unlock()
	}
	http.SetCookie(w, &http.Cookie{ // #nosec G124 -- plain http by design: an onion address (Tor encrypts) or loopback; Chromium drops Secure cookies there
		Name: s.Cookie, Value: "", Path: "/", MaxAge: -1, HttpOnly: true,
		SameSite: http.SameSiteStrictMode,
	})
}

// Len is the number of sessions held, live or not yet swept.
func (s *Sessions[T]) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.m)
}

func (s *Sessions[T]) sweep(now time.Time) {
	for id, ss := range s.m {
		if now.Sub(ss.lastSeen) > s.Idle || now.Sub(ss.born) > s.Max {
			delete(s.m, id)
		}
	}
}
