package web

import (
	"bytes"
	"net"
	"net/http"
	"slices"
	"sync/atomic"
)

// Guard makes the responses that net/http writes by itself carry
// [SecurityHeaders] too: the 431 for a huge head, the 400 for a request
// line it cannot parse, 505, 501, the 417 for an unknown Expect, the reply
// to "OPTIONS *". None of them reaches a handler, so [Secure] never sees
// them.
//
// It returns ln wrapped, to be served by srv, and sets srv.ConnState
// (calling any hook already set: set yours before calling Guard). How it works: net/http reports each
// connection's state changes in order, on the goroutine that serves it.
// StateNew, StateActive (a request head was read, or failed to be) and
// StateIdle (the last response was written out in full) all mean that
// the next byte written on the connection starts a response. The guard
// looks at that first write only: if it holds a complete response head
// that lacks Content-Security-Policy, which every response of our
// handlers carries, the security headers are inserted after its status
// line. net/http writes its own errors in one write, so they always
// qualify. Every other write, and every response our handlers make,
// passes byte for byte; so do interim 1xx responses (100 Continue).
//
// The guard must see the connections net/http serves: wrap ln last, so
// that it is the outermost listener, or give an outer wrapper's
// connections a NetConn method that returns the inner one. Code that looks
// for its own connection type under the guard (in a ConnContext hook, say)
// finds it through the guard's NetConn method.
func Guard(srv *http.Server, ln net.Listener) net.Listener {
	prev := srv.ConnState
	srv.ConnState = func(c net.Conn, s http.ConnState) {
		if g := guardOf(c); g != nil {
			switch s {
			case http.StateNew, http.StateActive, http.StateIdle:
				g.atHead.Store(true)
			}
		}
		if prev != nil {
			prev(c, s)
		}
	}
	return guardListener{ln}
}

// guardOf finds the guarded connection c is or wraps.
func guardOf(c net.Conn) *guardConn {
	g, _ := connOf[*guardConn](c)
	return g
}

// connOf finds the connection of type T that c is or wraps, seeing
// through wrappers that have a NetConn method (as crypto/tls.Conn and the
// guard's connections do), at most eight deep.
func connOf[T net.Conn](c net.Conn) (T, bool) {
	for range 8 {
		if v, ok := c.(T); ok {
			return v, true
		}
		w, ok := c.(interface{ NetConn() net.Conn })
		if !ok {
			break
		}
		c = w.NetConn()
	}
	var none T
	return none, false
}

type guardListener struct{ net.Listener }

func (l guardListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &guardConn{Conn: c}, nil
}

type guardConn struct {
	net.Conn
	atHead atomic.Bool // the next write starts a response
}

// NetConn is the connection the guard wraps (as [crypto/tls.Conn.NetConn]).
func (c *guardConn) NetConn() net.Conn { return c.Conn }

// CloseWrite half-closes the connection where it can, as net/http does
// after an error on a bare TCP connection.
func (c *guardConn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}

func (c *guardConn) Write(p []byte) (int, error) {
	if !c.atHead.Load() {
		return c.Conn.Write(p)
	}
	if interim(p) {
		return c.Conn.Write(p)
	}
	c.atHead.Store(false)
	out := secureHead(p)
	if out == nil {
		return c.Conn.Write(p)
	}
	n, err := c.Conn.Write(out)
	if n == len(out) {
		return len(p), err
	}
	// Report what of p got through: none of it, if the write stopped
	// before the inserted headers had all been written.
	if extra := len(out) - len(p); n > extra {
		return n - extra, err
	}
	return 0, err
}

// interim reports whether p starts a 1xx response, after which the final
// response still has to come.
func interim(p []byte) bool {
	return len(p) > 9 && bytes.HasPrefix(p, []byte("HTTP/1.")) && p[8] == ' ' && p[9] == '1'
}

// guardHeaders are the lines [secureHead] inserts, in a fixed order.
var guardHeaders = func() []byte {
	keys := make([]string, 0, len(SecurityHeaders))
	for k := range SecurityHeaders {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var b bytes.Buffer
	for _, k := range keys {
		b.WriteString(k + ": " + SecurityHeaders[k] + "\r\n")
	}
	return b.Bytes()
}()

// secureHead returns p with the security headers inserted after its status
// line, or nil when p is not a whole response head lacking them.
func secureHead(p []byte) []byte {
	if !bytes.HasPrefix(p, []byte("HTTP/1.")) {
		return nil
	}
	end := bytes.Index(p, []byte("\r\n\r\n"))
	if end < 0 {
		return nil // a head larger than one write: not net/http's own
	}
	head := p[:end+2]
	// net/http writes header names in canonical form: no copy to lower case
	// on every response.
	if bytes.Contains(head, []byte("\r\nContent-Security-Policy:")) {
		return nil
	}
	line := bytes.Index(head, []byte("\r\n")) + 2
	out := make([]byte, 0, len(p)+len(guardHeaders))
	out = append(out, p[:line]...)
	out = append(out, guardHeaders...)
	return append(out, p[line:]...)
}
