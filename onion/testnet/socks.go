package testnet

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"time"
)

// SOCKSError is the client's refusal of a connection, with tor's extended
// error code (SocksPort ExtendedErrors, tor's socks-extensions.txt).
type SOCKSError struct{ Code byte }

// Tor's extended SOCKS5 reply codes for onion services.
const (
	CodeDescNotFound = 0xF0 // onion service descriptor can not be found
	CodeDescInvalid  = 0xF1 // onion service descriptor is invalid
	CodeIntroFailed  = 0xF2 // introduction failed
	CodeRendFailed   = 0xF3 // rendezvous failed
	CodeMissingAuth  = 0xF4 // client authorization missing
	CodeWrongAuth    = 0xF5 // client authorization wrong
	CodeBadAddress   = 0xF6 // invalid onion address
	CodeIntroTimeout = 0xF7 // introduction timed out
)

func (e *SOCKSError) Error() string {
	names := map[byte]string{
		0x01: "general failure", 0x02: "not allowed", 0x03: "network unreachable",
		0x04: "host unreachable", 0x05: "connection refused", 0x06: "TTL expired",
		0x07: "command not supported", 0x08: "address type not supported",
		CodeDescNotFound: "onion descriptor not found", CodeDescInvalid: "onion descriptor invalid",
		CodeIntroFailed: "introduction failed", CodeRendFailed: "rendezvous failed",
		CodeMissingAuth: "client authorization missing", CodeWrongAuth: "client authorization wrong",
		CodeBadAddress: "invalid onion address", CodeIntroTimeout: "introduction timed out",
	}
	name := names[e.Code]
	if name == "" {
		name = "unknown"
	}
	return fmt.Sprintf("socks: %s (0x%02X)", name, e.Code)
}

// Dial connects to addr ("host:port") through the client's SOCKS port. Each
// isolation string gets its own circuits (IsolateSOCKSAuth: it is sent as
// the SOCKS user name).
func (n *Network) Dial(ctx context.Context, addr, isolation string) (net.Conn, error) {
	host, portStr, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, err
	}
	port, err := strconv.Atoi(portStr)
	if err != nil || len(host) > 255 || len(isolation) > 255 {
		return nil, fmt.Errorf("socks: bad address %q", addr)
	}
	if isolation == "" {
		isolation = "-"
	}
	var d net.Dialer
	c, err := d.DialContext(ctx, "tcp", n.SocksAddr)
	if err != nil {
		return nil, err
	}
	stop := context.AfterFunc(ctx, func() { c.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	if err := socksHandshake(c, host, port, isolation); err != nil {
		c.Close()
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, err
	}
	return c, nil
}

func socksHandshake(c net.Conn, host string, port int, user string) error {
	// Greeting: version 5, one method, user/password.
	if _, err := c.Write([]byte{5, 1, 2}); err != nil {
		return err
	}
	var r [2]byte
	if _, err := io.ReadFull(c, r[:]); err != nil {
		return err
	}
	if r[0] != 5 || r[1] != 2 {
		return fmt.Errorf("socks: server chose method %d", r[1])
	}
	auth := append([]byte{1, byte(len(user))}, user...)
	auth = append(auth, 1, 'x')
	if _, err := c.Write(auth); err != nil {
		return err
	}
	if _, err := io.ReadFull(c, r[:]); err != nil {
		return err
	}
	if r[1] != 0 {
		return errors.New("socks: authentication refused")
	}
	req := append([]byte{5, 1, 0, 3, byte(len(host))}, host...)
	req = binary.BigEndian.AppendUint16(req, uint16(port))
	if _, err := c.Write(req); err != nil {
		return err
	}
	var h [4]byte
	if _, err := io.ReadFull(c, h[:]); err != nil {
		return err
	}
	if h[1] != 0 {
		return &SOCKSError{Code: h[1]}
	}
	var skip int
	switch h[3] {
	case 1:
		skip = 4
	case 4:
		skip = 16
	case 3:
		var l [1]byte
		if _, err := io.ReadFull(c, l[:]); err != nil {
			return err
		}
		skip = int(l[0])
	default:
		return fmt.Errorf("socks: bad address type %d in reply", h[3])
	}
	_, err := io.CopyN(io.Discard, c, int64(skip+2))
	return err
}

// HTTPClient is an HTTP client that goes through the network's client with
// its own isolation (so its own circuits).
func (n *Network) HTTPClient(isolation string, timeout time.Duration) *http.Client {
	return &http.Client{
		Timeout: timeout,
		Transport: &http.Transport{
			Proxy: nil,
			DialContext: func(ctx context.Context, _, addr string) (net.Conn, error) {
				return n.Dial(ctx, addr, isolation)
			},
			DisableKeepAlives: true,
		},
	}
}
