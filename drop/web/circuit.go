package web

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"net"
	"net/netip"
	"strconv"
	"sync"
	"time"
)

// Behind Tor there are no client addresses, but tor can say which circuit
// a connection came on: with HiddenServiceExportCircuitID haproxy it
// starts each connection with a PROXY protocol v1 line whose source
// address encodes the circuit's global id, a counter inside the tor
// process that says nothing about the person. Limits are kept per circuit;
// the id is never logged or stored.

// maxProxyLine is the longest PROXY protocol v1 line, CRLF included.
const maxProxyLine = 107

// DefaultProxyTimeout bounds the wait for a connection's PROXY line.
const DefaultProxyTimeout = 10 * time.Second

// LocalCircuit is the circuit of every connection on a listener that was
// not told to expect PROXY lines: all its clients are one circuit.
const LocalCircuit = "local"

// CircuitListener wraps ln so that every connection must start with a
// PROXY protocol v1 line, which is read (at most 107 bytes, within
// timeout) on the connection's first read, in the connection's own
// goroutine, never in Accept. A connection without a valid line is
// closed. Serve it with [CircuitContext] as the http.Server's ConnContext.
func CircuitListener(ln net.Listener, timeout time.Duration) net.Listener {
	if timeout <= 0 {
		timeout = DefaultProxyTimeout
	}
	return &circuitListener{Listener: ln, timeout: timeout}
}

type circuitListener struct {
	net.Listener
	timeout time.Duration
}

func (l *circuitListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &circuitConn{Conn: c, timeout: l.timeout}, nil
}

// circuitConn reads its PROXY line before handing out any byte.
type circuitConn struct {
	net.Conn
	timeout time.Duration

	once sync.Once
	id   string // set by once, before the first byte is read
	err  error
	br   *bufio.Reader

	dmu      sync.Mutex
	deadline time.Time // the read deadline the server asked for
}

var errProxyLine = errors.New("connection has no valid PROXY line")

func (c *circuitConn) Read(p []byte) (int, error) {
	c.once.Do(c.readHeader)
	if c.err != nil {
		return 0, c.err
	}
	return c.br.Read(p)
}

func (c *circuitConn) SetDeadline(t time.Time) error {
	c.dmu.Lock()
	c.deadline = t
	c.dmu.Unlock()
	return c.Conn.SetDeadline(t)
}

func (c *circuitConn) SetReadDeadline(t time.Time) error {
	c.dmu.Lock()
	c.deadline = t
	c.dmu.Unlock()
	return c.Conn.SetReadDeadline(t)
}

func (c *circuitConn) readHeader() {
	c.dmu.Lock()
	d := time.Now().Add(c.timeout)
	if !c.deadline.IsZero() && c.deadline.Before(d) {
		d = c.deadline
	}
	c.dmu.Unlock()
	c.Conn.SetReadDeadline(d)
	c.br = bufio.NewReaderSize(c.Conn, 512)
	line := make([]byte, 0, maxProxyLine)
	for len(line) < maxProxyLine {
		b, err := c.br.ReadByte()
		if err != nil {
			c.fail()
			return
		}
		line = append(line, b)
		if b == '\n' {
			break
		}
	}
	id, ok := parseProxyLine(line)
	if !ok {
		c.fail()
		return
	}
	c.id = id
	c.dmu.Lock()
	c.Conn.SetReadDeadline(c.deadline)
	c.dmu.Unlock()
}

func (c *circuitConn) fail() {
	c.err = errProxyLine
	c.Conn.Close()
}

// circuit returns the id after the header was read; "" before.
func (c *circuitConn) circuit() string {
	c.once.Do(c.readHeader)
	return c.id
}

// parseProxyLine reads "PROXY TCP4|TCP6 SRC DST SRCPORT DSTPORT\r\n" and
// returns the source address and port, tor's circuit id, as the key.
// "PROXY UNKNOWN" is accepted as one shared circuit.
func parseProxyLine(line []byte) (string, bool) {
	rest, ok := bytes.CutSuffix(line, []byte("\r\n"))
	if !ok {
		return "", false
	}
	f := bytes.Split(rest, []byte(" "))
	if len(f) < 2 || string(f[0]) != "PROXY" {
		return "", false
	}
	if string(f[1]) == "UNKNOWN" {
		return "unknown", true
	}
	if len(f) != 6 || (string(f[1]) != "TCP4" && string(f[1]) != "TCP6") {
		return "", false
	}
	src, err1 := netip.ParseAddr(string(f[2]))
	_, err2 := netip.ParseAddr(string(f[3]))
	if err1 != nil || err2 != nil || src.Is4() != (string(f[1]) == "TCP4") || src.Zone() != "" {
		return "", false
	}
	var ports [2]uint16
	for i, p := range f[4:] {
		n, err := strconv.ParseUint(string(p), 10, 16)
		if err != nil || (len(p) > 1 && p[0] == '0') {
			return "", false
		}
		ports[i] = uint16(n)
	}
	return netip.AddrPortFrom(src, ports[0]).String(), true
}

type circuitKey struct{}

// CircuitContext is an http.Server's ConnContext: it makes the circuit of
// a connection from a [CircuitListener] known to [Circuit]. It never
// blocks: the PROXY line is read by the connection's own goroutine. A
// wrapper around the connection is seen through when it has a NetConn
// method (as crypto/tls.Conn does).
func CircuitContext(ctx context.Context, c net.Conn) context.Context {
	if cc, ok := connOf[*circuitConn](c); ok {
		return context.WithValue(ctx, circuitKey{}, cc)
	}
	return ctx
}

// WithCircuit returns ctx with the circuit id, for a transport other than
// [CircuitListener] that knows its clients apart (and for tests).
func WithCircuit(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, circuitKey{}, id)
}

// Circuit is the circuit a request came on: its PROXY line's source when
// the listener expects one, [LocalCircuit] otherwise. Keep it in memory
// only; never log it.
func Circuit(ctx context.Context) string {
	switch v := ctx.Value(circuitKey{}).(type) {
	case *circuitConn:
		if id := v.circuit(); id != "" {
			return id
		}
	case string:
		if v != "" {
			return v
		}
	}
	return LocalCircuit
}
