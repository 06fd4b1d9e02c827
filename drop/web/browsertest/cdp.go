package browsertest

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sync"
)

// conn speaks the Chrome DevTools Protocol over chromium's
// --remote-debugging-pipe: fd 3 carries commands to the browser, fd 4
// carries responses and events back, each message a JSON object followed
// by a NUL byte. No port is opened, so nothing else on the machine can
// reach the DevTools endpoint.
type conn struct {
	wmu sync.Mutex
	w   io.Writer

	mu      sync.Mutex
	nextID  int64
	pending map[int64]chan message
	subs    map[*subscription]struct{}
	err     error         // set once the read loop stops
	done    chan struct{} // closed once the read loop stops
}

type message struct {
	ID        int64           `json:"id,omitempty"`
	SessionID string          `json:"sessionId,omitempty"`
	Method    string          `json:"method,omitempty"`
	Params    json.RawMessage `json:"params,omitempty"`
	Result    json.RawMessage `json:"result,omitempty"`
	Error     *protocolError  `json:"error,omitempty"`
}

type protocolError struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
	Data    string `json:"data,omitempty"`
}

func (e *protocolError) Error() string {
	if e.Data != "" {
		return fmt.Sprintf("%s (%d): %s", e.Message, e.Code, e.Data)
	}
	return fmt.Sprintf("%s (%d)", e.Message, e.Code)
}

// subscription receives the events of the listed methods for one session,
// in the order the browser sent them.
type subscription struct {
	session string
	methods map[string]bool
	ch      chan message
}

var errClosed = errors.New("devtools connection closed")

func newConn(w io.Writer, r io.Reader) *conn {
	c := &conn{
		w:       w,
		pending: make(map[int64]chan message),
		subs:    make(map[*subscription]struct{}),
		done:    make(chan struct{}),
	}
	go c.readLoop(r)
	return c
}

func (c *conn) readLoop(r io.Reader) {
	br := bufio.NewReaderSize(r, 1<<20)
	var err error
	for {
		var raw []byte
		raw, err = br.ReadBytes(0)
		if err != nil {
			break
		}
		var m message
		if err = json.Unmarshal(raw[:len(raw)-1], &m); err != nil {
			err = fmt.Errorf("decode devtools message: %w", err)
			break
		}
		c.dispatch(m)
	}
	if errors.Is(err, io.EOF) {
		err = errClosed
	}
	c.mu.Lock()
	c.err = err
	c.mu.Unlock()
	close(c.done)
}

func (c *conn) dispatch(m message) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if m.Method == "" {
		if ch, ok := c.pending[m.ID]; ok {
			delete(c.pending, m.ID)
			ch <- m
		}
		return
	}
	for s := range c.subs {
		if s.session == m.SessionID && s.methods[m.Method] {
			select {
			case s.ch <- m:
			default: // a subscriber that stopped reading loses events, never blocks the loop
			}
		}
	}
}

// call sends method with params to session ("" for the browser) and
// decodes the result into result unless it is nil.
func (c *conn) call(ctx context.Context, session, method string, params, result any) error {
	p, err := json.Marshal(params)
	if err != nil {
		return fmt.Errorf("%s: encode params: %w", method, err)
	}
	if params == nil {
		p = []byte("{}")
	}
	ch := make(chan message, 1)
	c.mu.Lock()
	if c.err != nil {
		err := c.err
		c.mu.Unlock()
		return fmt.Errorf("%s: %w", method, err)
	}
	c.nextID++
	id := c.nextID
	c.pending[id] = ch
	c.mu.Unlock()

	out, err := json.Marshal(message{ID: id, SessionID: session, Method: method, Params: p})
	if err != nil {
		return fmt.Errorf("%s: encode: %w", method, err)
	}
	c.wmu.Lock()
	_, err = c.w.Write(append(out, 0))
	c.wmu.Unlock()
	if err != nil {
		c.forget(id)
		return fmt.Errorf("%s: write: %w", method, err)
	}

	select {
	case m := <-ch:
		if m.Error != nil {
			return fmt.Errorf("%s: %w", method, m.Error)
		}
		if result != nil {
			if err := json.Unmarshal(m.Result, result); err != nil {
				return fmt.Errorf("%s: decode result: %w", method, err)
			}
		}
		return nil
	case <-ctx.Done():
		c.forget(id)
		return fmt.Errorf("%s: %w", method, ctx.Err())
	case <-c.done:
		c.forget(id)
		return fmt.Errorf("%s: %w", method, c.closedErr())
	}
}

func (c *conn) forget(id int64) {
	c.mu.Lock()
	delete(c.pending, id)
	c.mu.Unlock()
}

func (c *conn) closedErr() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

// subscribe starts collecting events of methods for session. Subscribe
// before sending the command that causes them: events are not replayed.
func (c *conn) subscribe(session string, methods ...string) *subscription {
	s := &subscription{session: session, methods: make(map[string]bool), ch: make(chan message, 256)}
	for _, m := range methods {
		s.methods[m] = true
	}
	c.mu.Lock()
	c.subs[s] = struct{}{}
	c.mu.Unlock()
	return s
}

func (c *conn) unsubscribe(s *subscription) {
	c.mu.Lock()
	delete(c.subs, s)
	c.mu.Unlock()
}

// next returns the next event of s.
func (c *conn) next(ctx context.Context, s *subscription) (message, error) {
	select {
	case m := <-s.ch:
		return m, nil
	case <-ctx.Done():
		return message{}, ctx.Err()
	case <-c.done:
		return message{}, c.closedErr()
	}
}

type rawMessage = json.RawMessage

func jsonUnmarshal(data []byte, v any) error {
	if err := json.Unmarshal(data, v); err != nil {
		return fmt.Errorf("decode devtools value: %w", err)
	}
	return nil
}
