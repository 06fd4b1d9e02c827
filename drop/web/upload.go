package web

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
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

// Uploads bounds the uploads an interface serves at once. Its slot is
// taken before a byte of the body is read, and a request beyond the bound
// is refused at once: it holds neither a descriptor nor memory while it
// waits, and nothing of it is kept.
type Uploads struct {
	slots chan struct{}
}

// NewUploads allows n uploads at once (n <= 0: [DefaultMaxUploads]).
func NewUploads(n int) *Uploads {
	if n <= 0 {
		n = DefaultMaxUploads
	}
	return &Uploads{slots: make(chan struct{}, n)}
}

// InUse is the number of uploads being served now.
func (u *Uploads) InUse() int { return len(u.slots) }

// Limit is middleware that lets a request through only with a free slot,
// held until the handler returns. Without one, busy answers (a translated
// 503 page); the response asks the client to close the connection, since
// its body is left unread.
func (u *Uploads) Limit(busy http.HandlerFunc) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			select {
			case u.slots <- struct{}{}:
			default:
				w.Header().Set("Connection", "close")
				w.Header().Set("Retry-After", "30")
				busy(w, r)
				return
			}
			defer func() { <-u.slots }()
			next.ServeHTTP(w, r)
		})
	}
}
