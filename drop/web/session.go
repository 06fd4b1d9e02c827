package web

import (
	"bytes"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"golang.org/x/crypto/chacha20poly1305"

	"cleandrop/vault"
)

// Records is a store of small records with compare-and-swap that every
// front-end of a deployment shares (the vault's records). Sessions and
// failure budgets kept in it are found by whichever front-end serves the
// next request.
type Records interface {
	Record(kind, id string) ([]byte, error) // vault.ErrNotFound when absent
	Records(kind string) ([]vault.Record, error)
	// UpdateRecord reads kind/id (old is nil when absent), calls fn and
	// stores what it returns (nil deletes) in one serializable
	// transaction; fn may run more than once.
	UpdateRecord(kind, id string, fn func(old []byte) ([]byte, error)) error
}

// Codec turns a session's value into bytes and back, for sessions kept in
// a shared store.
type Codec[T any] struct {
	Encode func(T) ([]byte, error)
	Decode func([]byte) (T, error)
}

// Sessions keeps per-visitor state behind a random cookie. A session ends
// at logout, after Idle without a request, or after Max in all, whichever
// comes first; its value is then dropped.
//
// Made by [NewSessions], sessions live in this process's memory only. Made
// by [NewSharedSessions], they live in a [Records] store that several
// front-ends share, sealed under a key derived from the cookie, which only
// the browser holds: the store keeps, per live session, an HMAC of the
// cookie as the record's name, the minute the session ends unless used
// again, and the sealed value with the minute it began. Nothing in the
// store opens without the cookie.
type Sessions[T any] struct {
	Cookie string
	Idle   time.Duration
	Max    time.Duration
	Now    func() time.Time

	mu sync.Mutex
	m  map[string]*session[T]

	shared *sharedSessions[T]
}

type session[T any] struct {
	val            T
	born, lastSeen time.Time
}

// NewSessions makes a session store in memory whose cookie is named cookie.
func NewSessions[T any](cookie string, idle, max time.Duration) *Sessions[T] {
	return &Sessions[T]{Cookie: cookie, Idle: idle, Max: max, Now: time.Now, m: map[string]*session[T]{}}
}

// NewSharedSessions makes a session store whose cookie is named cookie and
// whose sessions live in st, so that every front-end sharing st serves
// them. codec turns a value into bytes and back.
func NewSharedSessions[T any](cookie string, idle, max time.Duration, st Records, codec Codec[T]) *Sessions[T] {
	s := NewSessions[T](cookie, idle, max)
	s.shared = &sharedSessions[T]{st: st, kind: "sessions." + cookie, codec: codec, landing: SessionLanding,
		pending: map[string]*firstWrite{}, waits: make(chan struct{}, landingWaits)}
	return s
}

// Start begins a session holding v and sets its cookie. In a shared store
// the session is written in the background, so that the response does not
// wait for the store's commit step: until the write lands, this front-end
// serves the session from memory; another front-end that does not find it
// looks again for up to [SessionLanding], so a browser sent on to it at
// once is still served (see also [Sessions.Wait]). A write that fails
// ends the session: the next request finds none. Start fails only when v
// cannot be encoded; no cookie is set then.
func (s *Sessions[T]) Start(w http.ResponseWriter, v T) error {
	b := make([]byte, 32)
	rand.Read(b)
	id := base64.RawURLEncoding.EncodeToString(b)
	now := s.Now()
	if s.shared != nil {
		if err := s.shared.start(s, id, v, now); err != nil {
			return err
		}
	} else {
		s.mu.Lock()
		s.sweep(now)
		s.m[id] = &session[T]{val: v, born: now, lastSeen: now}
		s.mu.Unlock()
	}
	http.SetCookie(w, &http.Cookie{ // #nosec G124 -- plain http by design: an onion address (Tor encrypts) or loopback; Chromium drops Secure cookies there
		Name: s.Cookie, Value: id, Path: "/", HttpOnly: true,
		SameSite: http.SameSiteStrictMode,
	})
	return nil
}

// Get returns the live session of r, refreshing its idle timer. From a
// shared store it returns a copy: keep a change with [Sessions.Update].
func (s *Sessions[T]) Get(r *http.Request) (T, bool) {
	var zero T
	c, err := r.Cookie(s.Cookie)
	if err != nil || c.Value == "" {
		return zero, false
	}
	now := s.Now()
	if s.shared != nil {
		return s.shared.get(s, c.Value, now)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	ss, ok := s.m[c.Value]
	if !ok {
		return zero, false
	}
	if s.expired(ss.born, ss.lastSeen, now) {
		delete(s.m, c.Value)
		return zero, false
	}
	ss.lastSeen = now
	return ss.val, true
}

// Update replaces the value of r's live session with what fn returns, and
// reports whether there was one. fn may run more than once.
func (s *Sessions[T]) Update(r *http.Request, fn func(T) T) bool {
	c, err := r.Cookie(s.Cookie)
	if err != nil || c.Value == "" {
		return false
	}
	now := s.Now()
	if s.shared != nil {
		return s.shared.update(s, c.Value, now, fn)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	ss, ok := s.m[c.Value]
	if !ok || s.expired(ss.born, ss.lastSeen, now) {
		return false
	}
	ss.val = fn(ss.val)
	return true
}

// End forgets r's session and clears its cookie.
func (s *Sessions[T]) End(w http.ResponseWriter, r *http.Request) {
	if c, err := r.Cookie(s.Cookie); err == nil && c.Value != "" {
		if s.shared != nil {
			s.shared.end(c.Value)
		} else {
			s.mu.Lock()
			delete(s.m, c.Value)
			s.mu.Unlock()
		}
	}
	http.SetCookie(w, &http.Cookie{ // #nosec G124 -- plain http by design: an onion address (Tor encrypts) or loopback; Chromium drops Secure cookies there
		Name: s.Cookie, Value: "", Path: "/", MaxAge: -1, HttpOnly: true,
		SameSite: http.SameSiteStrictMode,
	})
}

// Wait returns once every session started before it has been written to
// the shared store, or has failed to be; at once for sessions in memory.
func (s *Sessions[T]) Wait() {
	if s.shared != nil {
		s.shared.writes.Wait()
	}
}

// Len is the number of sessions held, live or not yet swept.
func (s *Sessions[T]) Len() int {
	if s.shared != nil {
		recs, err := s.shared.st.Records(s.shared.kind)
		if err != nil {
			return -1
		}
		return len(recs)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.m)
}

func (s *Sessions[T]) expired(born, lastSeen, now time.Time) bool {
	return now.Sub(lastSeen) > s.Idle || now.Sub(born) > s.Max
}

func (s *Sessions[T]) sweep(now time.Time) {
	for id, ss := range s.m {
		if s.expired(ss.born, ss.lastSeen, now) {
			delete(s.m, id)
		}
	}
}

// sharedSessions keeps sessions as records of kind. A record is named by
// an HMAC of the cookie and holds
//
//	until (8 bytes, big endian): the Unix minute after which the session
//	  is over unless used again: min(last use + Idle, start + Max),
//	  rounded down to the minute;
//	nonce (24 bytes) and the sealed (XChaCha20-Poly1305) start minute (8
//	  bytes) and value, under a key derived from the cookie, bound to the
//	  record's name.
//
// until is written again only when a request moves it to a later minute:
// a session costs at most one write a minute.
//
// A session's first write runs in the background (start): until it lands,
// its record is in pending, under its name, and this front-end reads it
// there; a change or an end of such a session waits for the write first.
type sharedSessions[T any] struct {
	st      Records
	kind    string
	codec   Codec[T]
	landing time.Duration // SessionLanding; shorter in tests

	mu      sync.Mutex
	swept   time.Time
	pending map[string]*firstWrite
	writes  sync.WaitGroup
	waits   chan struct{} // a token per request looking again (landed)
}

// firstWrite is a session's first record on its way to the store; done
// closes once it has landed or failed.
type firstWrite struct {
	rec  []byte
	done chan struct{}
}

// errSessionGone aborts an update whose session ended meanwhile,
// errUnchanged one that has nothing to write, and errAbsent one that
// finds no record.
var (
	errSessionGone = errors.New("web: session gone")
	errUnchanged   = errors.New("web: unchanged")
	errAbsent      = errors.New("web: no session record")
)

// SessionLanding bounds how long a front-end looks for a session record it
// does not find: another front-end may have started that session a moment
// ago, its first write waiting for the store's next commit step. A cookie
// that names no session costs its request this long and seven reads of
// the store (at 0, 20, 60, 140, 300, 620 ms and at the end), for at most
// landingWaits requests at once per session store; beyond them, a cookie
// the store does not hold is taken as ended at once, so that cookies made
// up cannot multiply a front-end's reads of the store.
const SessionLanding = time.Second

// landingWaits bounds the requests of one session store that look again
// for a record at once.
const landingWaits = 64

const sealedHead = 8 + chacha20poly1305.NonceSizeX

// keys derives the record's name and the sealing key from the cookie.
func (sh *sharedSessions[T]) keys(cookie string) (name string, key []byte) {
	mac := func(label string) []byte {
		m := hmac.New(sha256.New, []byte(cookie))
		m.Write([]byte("cleandrop session " + label + " " + sh.kind))
		return m.Sum(nil)
	}
	return hex.EncodeToString(mac("name")), mac("key")
}

func minute(t time.Time) int64 { return t.Unix() / 60 }

// until is the minute after which a session born at born and used at now
// is over.
func (s *Sessions[T]) until(born int64, now time.Time) int64 {
	return min(minute(now.Add(s.Idle)), born+int64(s.Max/time.Minute))
}

func (sh *sharedSessions[T]) seal(name string, key []byte, until, born int64, v T) ([]byte, error) {
	b, err := sh.codec.Encode(v)
	if err != nil {
		return nil, fmt.Errorf("web: encode session: %w", err)
	}
	aead, err := chacha20poly1305.NewX(key)
	if err != nil {
		return nil, err
	}
	plain := binary.BigEndian.AppendUint64(nil, uint64(born)) // #nosec G115 -- a Unix minute, positive
	plain = append(plain, b...)
	out := binary.BigEndian.AppendUint64(make([]byte, 0, sealedHead+len(plain)+aead.Overhead()), uint64(until)) // #nosec G115 -- a Unix minute, positive
	nonce := make([]byte, chacha20poly1305.NonceSizeX)
	rand.Read(nonce)
	out = append(out, nonce...)
	return aead.Seal(out, nonce, plain, []byte(sh.kind+"/"+name)), nil
}

// open returns a record's until, born and value; ok is false for a record
// that does not open with key.
func (sh *sharedSessions[T]) open(name string, key, rec []byte) (until, born int64, v T, ok bool) {
	if len(rec) < sealedHead+8 {
		return 0, 0, v, false
	}
	aead, err := chacha20poly1305.NewX(key)
	if err != nil {
		return 0, 0, v, false
	}
	plain, err := aead.Open(nil, rec[8:sealedHead], rec[sealedHead:], []byte(sh.kind+"/"+name))
	if err != nil || len(plain) < 8 {
		return 0, 0, v, false
	}
	if v, err = sh.codec.Decode(plain[8:]); err != nil {
		return 0, 0, v, false
	}
	return int64(binary.BigEndian.Uint64(rec[:8])), int64(binary.BigEndian.Uint64(plain[:8])), v, true // #nosec G115 -- written from positive minutes
}

func (sh *sharedSessions[T]) start(s *Sessions[T], cookie string, v T, now time.Time) error {
	name, key := sh.keys(cookie)
	born := minute(now)
	rec, err := sh.seal(name, key, s.until(born, now), born, v)
	if err != nil {
		return err
	}
	fw := &firstWrite{rec: rec, done: make(chan struct{})}
	sh.mu.Lock()
	sh.pending[name] = fw
	sh.mu.Unlock()
	sh.writes.Add(1)
	go func() {
		defer sh.writes.Done()
		// A failed write leaves no record: the session ends at the next
		// request, which finds none.
		_ = sh.st.UpdateRecord(sh.kind, name, func([]byte) ([]byte, error) { return rec, nil })
		sh.mu.Lock()
		delete(sh.pending, name)
		sh.mu.Unlock()
		close(fw.done)
		sh.sweep(now)
	}()
	return nil
}

// firstWriteOf is the first write of the session named name while it is
// under way, or nil.
func (sh *sharedSessions[T]) firstWriteOf(name string) *firstWrite {
	sh.mu.Lock()
	defer sh.mu.Unlock()
	return sh.pending[name]
}

// settle waits until the session named name, if its first write is under
// way, is in the store or failed to be.
func (sh *sharedSessions[T]) settle(name string) {
	if fw := sh.firstWriteOf(name); fw != nil {
		<-fw.done
	}
}

// landed is called when the store did not hold the record named name: it
// looks again, after 20 ms and then at every doubling, for up to landing,
// and reports whether the record came. A session started on another
// front-end may be on its way.
func (sh *sharedSessions[T]) landed(name string) bool {
	select {
	case sh.waits <- struct{}{}:
		defer func() { <-sh.waits }()
	default:
		return false // enough requests already look
	}
	wait := 20 * time.Millisecond
	for waited := time.Duration(0); waited < sh.landing; wait *= 2 {
		d := min(wait, sh.landing-waited)
		time.Sleep(d)
		waited += d
		if _, err := sh.st.Record(sh.kind, name); err == nil {
			return true
		} else if !errors.Is(err, vault.ErrNotFound) {
			return false
		}
	}
	return false
}

func (sh *sharedSessions[T]) get(s *Sessions[T], cookie string, now time.Time) (T, bool) {
	var zero T
	name, key := sh.keys(cookie)
	if fw := sh.firstWriteOf(name); fw != nil {
		// Born this minute, so live: nothing to check or refresh yet.
		_, _, v, ok := sh.open(name, key, fw.rec)
		return v, ok
	}
	rec, err := sh.st.Record(sh.kind, name)
	if errors.Is(err, vault.ErrNotFound) && sh.landed(name) {
		rec, err = sh.st.Record(sh.kind, name)
	}
	if err != nil {
		return zero, false
	}
	until, born, v, ok := sh.open(name, key, rec)
	if !ok {
		return zero, false
	}
	if minute(now) > until {
		sh.end(cookie)
		return zero, false
	}
	if next := s.until(born, now); next > until {
		// Only the minute moves; what is sealed stays as it is. A session
		// ended meanwhile is not brought back.
		// A failed refresh costs the session at most the minute.
		_ = sh.st.UpdateRecord(sh.kind, name, func(old []byte) ([]byte, error) {
			if len(old) < sealedHead {
				return nil, errSessionGone
			}
			if int64(binary.BigEndian.Uint64(old[:8])) >= next { // #nosec G115 -- written from positive minutes
				return nil, errUnchanged // another request moved it
			}
			out := bytes.Clone(old)
			binary.BigEndian.PutUint64(out[:8], uint64(next)) // #nosec G115 -- a Unix minute, positive
			return out, nil
		})
	}
	return v, true
}

func (sh *sharedSessions[T]) update(s *Sessions[T], cookie string, now time.Time, fn func(T) T) bool {
	name, key := sh.keys(cookie)
	sh.settle(name)
	change := func(old []byte) ([]byte, error) {
		if old == nil {
			return nil, errAbsent
		}
		until, born, v, ok := sh.open(name, key, old)
		if !ok || minute(now) > until {
			return nil, errSessionGone
		}
		return sh.seal(name, key, max(until, s.until(born, now)), born, fn(v))
	}
	err := sh.st.UpdateRecord(sh.kind, name, change)
	if errors.Is(err, errAbsent) && sh.landed(name) {
		err = sh.st.UpdateRecord(sh.kind, name, change)
	}
	return err == nil
}

// end deletes the session's record; one that another front-end is still
// writing is waited for, so that it does not outlive the sign-out.
func (sh *sharedSessions[T]) end(cookie string) {
	name, _ := sh.keys(cookie)
	sh.settle(name)
	del := func(old []byte) ([]byte, error) {
		if old == nil {
			return nil, errAbsent
		}
		return nil, nil
	}
	if err := sh.st.UpdateRecord(sh.kind, name, del); errors.Is(err, errAbsent) && sh.landed(name) {
		_ = sh.st.UpdateRecord(sh.kind, name, del)
	}
}

// sweep deletes the sessions that are over, at most once a minute per
// front-end, after a session's first write: the ones never used again nor
// ended.
func (sh *sharedSessions[T]) sweep(now time.Time) {
	sh.mu.Lock()
	if now.Sub(sh.swept) < time.Minute {
		sh.mu.Unlock()
		return
	}
	sh.swept = now
	sh.mu.Unlock()
	recs, err := sh.st.Records(sh.kind)
	if err != nil {
		return
	}
	over := func(rec []byte) bool {
		return len(rec) >= 8 && minute(now) > int64(binary.BigEndian.Uint64(rec[:8])) // #nosec G115 -- written from positive minutes
	}
	for _, r := range recs {
		if !over(r.Value) {
			continue
		}
		_ = sh.st.UpdateRecord(sh.kind, r.ID, func(old []byte) ([]byte, error) {
			if old != nil && !over(old) {
				return nil, errUnchanged // used again meanwhile
			}
			return nil, nil
		})
	}
}
