package web

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"sync"
	"time"
)

// Defaults for request bodies and uploads.
const (
	// DefaultBodyIdle is how long a request body may send nothing at all
	// before it is cut. Tor is slow, not silent: a circuit that moves no
	// byte for a minute is stalled, or a slow-loris.
	DefaultBodyIdle = time.Minute
	// DefaultMaxUploads bounds the uploads one interface serves at once.
	DefaultMaxUploads = 16
	// DefaultUploadsPerCircuit bounds the uploads one Tor circuit streams
	// at once: a reporter sends one form at a time.
	DefaultUploadsPerCircuit = 2
	// DefaultMaxFiles bounds the file parts of one form.
	DefaultMaxFiles = 20
)

// ErrBodyIdle is what a read of a request body returns once the body has
// sent nothing for the time [IdleBody] allows. The connection is then
// closed after the response.
var ErrBodyIdle = errors.New("request body sent nothing for too long")

// IdleBody cuts a request body that makes no progress for d: every read
// that waits for the client must see at least one byte within d, however
// long the whole body takes. It sets the connection's read deadline
// through [http.ResponseController]; where the writer cannot (a test
// recorder) the body is left as it is. A body the handler did not read to
// its end gets the same deadline when the handler returns, so net/http's
// own draining of it is bounded too.
func IdleBody(d time.Duration) func(http.Handler) http.Handler {
	if d <= 0 {
		d = DefaultBodyIdle
	}
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Body == nil || r.Body == http.NoBody {
				next.ServeHTTP(w, r)
				return
			}
			b := &idleBody{ReadCloser: r.Body, rc: http.NewResponseController(w), d: d}
			r.Body = b
			next.ServeHTTP(w, r)
			// Once the body has reached its end, net/http reads the
			// connection in the background and a deadline would cut
			// that read; before, it bounds what net/http drains.
			if !b.eof {
				b.deadline()
			}
		})
	}
}

type idleBody struct {
	io.ReadCloser
	rc  *http.ResponseController
	d   time.Duration
	eof bool
	off bool // the writer cannot set deadlines
}

func (b *idleBody) deadline() {
	if b.off {
		return
	}
	if err := b.rc.SetReadDeadline(time.Now().Add(b.d)); err != nil {
		b.off = true
	}
}

func (b *idleBody) Read(p []byte) (int, error) {
	if b.eof {
		return 0, io.EOF
	}
	if len(p) > 0 {
		b.deadline()
	}
	n, err := b.ReadCloser.Read(p)
	switch {
	case err == io.EOF:
		b.eof = true
	case err != nil && errors.Is(err, os.ErrDeadlineExceeded):
		err = fmt.Errorf("%w (%s)", ErrBodyIdle, b.d)
	}
	return n, err
}

// Uploads bounds the uploads an interface serves at once, and those of
// each Tor circuit, so that one client holding slots open (trickling a
// byte now and then) cannot take them all: it needs a circuit, and so the
// onion's proof-of-work, for every two. Connections without a PROXY line
// ([LocalCircuit]) cannot be told apart and meet the interface's bound
// only. Slots are taken before a byte of the body is read, and a request
// beyond a bound is refused at once: it holds neither a descriptor nor
// memory while it waits, and nothing of it is kept.
type Uploads struct {
	slots chan struct{}
	per   int

	mu   sync.Mutex
	held map[string]int // uploads per circuit; only circuits that hold one
}

// NewUploads allows n uploads at once (n <= 0: [DefaultMaxUploads]), and
// perCircuit of them from one circuit (<= 0: [DefaultUploadsPerCircuit]).
func NewUploads(n, perCircuit int) *Uploads {
	if n <= 0 {
		n = DefaultMaxUploads
	}
	if perCircuit <= 0 {
		perCircuit = DefaultUploadsPerCircuit
	}
	return &Uploads{slots: make(chan struct{}, n), per: perCircuit, held: map[string]int{}}
}

// InUse is the number of uploads being served now.
func (u *Uploads) InUse() int { return len(u.slots) }

// take takes a slot for circuit, and reports whether it could.
func (u *Uploads) take(circuit string) bool {
	if circuit != LocalCircuit {
		u.mu.Lock()
		if u.held[circuit] >= u.per {
			u.mu.Unlock()
			return false
		}
		u.held[circuit]++
		u.mu.Unlock()
	}
	select {
	case u.slots <- struct{}{}:
		return true
	default:
		u.give(circuit, false)
		return false
	}
}

// give returns circuit's slot, and the interface's when slot is set.
func (u *Uploads) give(circuit string, slot bool) {
	if slot {
		<-u.slots
	}
	if circuit == LocalCircuit {
		return
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.held[circuit]--; u.held[circuit] <= 0 {
		delete(u.held, circuit)
	}
}

// Limit is middleware that lets a request through only with a free slot,
// for the interface and for its circuit, held until the handler returns.
// Without one, busy answers (a translated 503 page); the response asks the
// client to close the connection, since its body is left unread.
func (u *Uploads) Limit(busy http.HandlerFunc) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			circuit := Circuit(r.Context())
			if !u.take(circuit) {
				w.Header().Set("Connection", "close")
				w.Header().Set("Retry-After", "30")
				busy(w, r)
				return
			}
			defer u.give(circuit, true)
			next.ServeHTTP(w, r)
		})
	}
}
