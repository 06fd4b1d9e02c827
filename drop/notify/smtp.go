package notify

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/smtp"
	"os"
	"time"
)

// TLS modes for [SMTP].
const (
	TLSImplicit = "tls"      // TLS from the first byte (port 465)
	TLSStart    = "starttls" // plaintext greeting, then STARTTLS is required
	TLSNone     = "none"     // no TLS; only to a loopback IP
)

// DefaultTimeout bounds a whole SMTP conversation when SMTP.Timeout is 0.
const DefaultTimeout = 60 * time.Second

// SMTP is a mail submission account. The zero TLS mode is refused.
type SMTP struct {
	Addr     string // host:port
	From     string // envelope sender (MAIL FROM), a bare address
	Username string // optional; AUTH PLAIN, only over TLS or to loopback
	Password string
	TLS      string // TLSImplicit, TLSStart or TLSNone
	// TLSConfig is optional (e.g. a private CA); ServerName defaults to the
	// host of Addr and MinVersion to TLS 1.2.
	TLSConfig *tls.Config
	// Timeout bounds the whole conversation; 0 means DefaultTimeout.
	Timeout time.Duration
	// Dial opens the TCP connection; nil means a plain net.Dialer. Set it to
	// a Tor SOCKS dialer so the relay does not learn the drop's address.
	Dial func(ctx context.Context, network, addr string) (net.Conn, error)
}

// StepError is a failed step of sending mail. Step names the step only
// ("smtp RCPT TO"), safe to log; Err may quote the server, whose reply may
// quote the recipient's address.
type StepError struct {
	Step string
	Err  error
}

func (e *StepError) Error() string { return e.Step + ": " + e.Err.Error() }
func (e *StepError) Unwrap() error { return e.Err }

// Send submits msg to one recipient. It stops when ctx ends or Timeout
// passes. Errors name the SMTP step that failed and wrap the server's reply
// (a *textproto.Error, with Code and Msg) when there is one. Errors never
// contain the recipient address unless the server's reply does. Every
// error after the configuration is checked wraps a [*StepError].
func (s SMTP) Send(ctx context.Context, to string, msg []byte) (err error) {
	host, _, err := net.SplitHostPort(s.Addr)
	if err != nil {
		return fmt.Errorf("smtp: address: %w", err)
	}
	switch s.TLS {
	case TLSImplicit, TLSStart:
	case TLSNone:
		if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
			return errors.New(`smtp: TLS mode "none" is allowed only to a loopback IP`)
		}
	default:
		return fmt.Errorf(`smtp: TLS mode %q: want "tls", "starttls" or "none"`, s.TLS)
	}
	timeout := s.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	dial := s.Dial
	if dial == nil {
		dial = (&net.Dialer{}).DialContext
	}
	conn, err := dial(ctx, "tcp", s.Addr)
	if err != nil {
		return &StepError{Step: "smtp dial", Err: err}
	}
	defer conn.Close()
	// Reads and writes below block without a context; closing the
	// connection when ctx ends unblocks them.
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	defer func() {
		switch {
		case err == nil:
		case ctx.Err() != nil:
			err = fmt.Errorf("%w (%w)", err, context.Cause(ctx))
		case errors.Is(err, os.ErrDeadlineExceeded):
			// The connection deadline fired a moment before ctx's timer.
			err = fmt.Errorf("%w (%w)", err, context.DeadlineExceeded)
		}
	}()

	tcfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if s.TLSConfig != nil {
		tcfg = s.TLSConfig.Clone()
		if tcfg.MinVersion < tls.VersionTLS12 {
			tcfg.MinVersion = tls.VersionTLS12
		}
	}
	if tcfg.ServerName == "" {
		tcfg.ServerName = host
	}
	if s.TLS == TLSImplicit {
		tc := tls.Client(conn, tcfg)
		if err := tc.HandshakeContext(ctx); err != nil {
			return &StepError{Step: "smtp tls", Err: err}
		}
		conn = tc
	}

	c, err := smtp.NewClient(conn, host)
	if err != nil {
		return &StepError{Step: "smtp greeting", Err: err}
	}
	defer c.Close()
	// A fixed EHLO name: the drop's host name is nobody's business.
	if err := c.Hello("localhost"); err != nil {
		return &StepError{Step: "smtp EHLO", Err: err}
	}
	if s.TLS == TLSStart {
		if ok, _ := c.Extension("STARTTLS"); !ok {
			return &StepError{Step: "smtp STARTTLS", Err: errors.New("server does not offer it; refusing to send in clear")}
		}
		if err := c.StartTLS(tcfg); err != nil {
			return &StepError{Step: "smtp STARTTLS", Err: err}
		}
	}
	if s.Username != "" {
		if ok, _ := c.Extension("AUTH"); !ok {
			return &StepError{Step: "smtp AUTH", Err: errors.New("server does not offer it")}
		}
		if err := c.Auth(smtp.PlainAuth("", s.Username, s.Password, host)); err != nil {
			return &StepError{Step: "smtp AUTH", Err: err}
		}
	}
	if err := c.Mail(s.From); err != nil {
		return &StepError{Step: "smtp MAIL FROM", Err: err}
	}
	if err := c.Rcpt(to); err != nil {
		return &StepError{Step: "smtp RCPT TO", Err: err}
	}
	w, err := c.Data()
	if err != nil {
		return &StepError{Step: "smtp DATA", Err: err}
	}
	if _, err := w.Write(msg); err != nil {
		return &StepError{Step: "smtp DATA", Err: err}
	}
	if err := w.Close(); err != nil {
		return &StepError{Step: "smtp DATA", Err: err}
	}
	if err := c.Quit(); err != nil {
		return &StepError{Step: "smtp QUIT", Err: err}
	}
	return nil
}
