package notify

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"math/big"
	"net"
	"net/textproto"
	"strings"
	"testing"
	"time"

	"cleandrop/drop/notify/notifytest"
)

// testCerts makes a self-signed certificate for 127.0.0.1 and returns the
// server config and a client config that trusts it.
func testCerts(t *testing.T) (srv, cli *tls.Config) {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "cleandrop test"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IsCA:         true, BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	srv = &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: k}}}
	return srv, &tls.Config{RootCAs: pool}
}

// rawMsg has lines that need dot-stuffing.
const rawMsg = "Subject: t\r\n\r\n.leading dot\r\n..two dots\r\n.\r\nlast\r\n"

func TestSendModes(t *testing.T) {
	srvTLS, cliTLS := testCerts(t)
	tests := []struct {
		name     string
		srvTLS   *tls.Config
		implicit bool
		acct     SMTP
		wantTLS  bool
		wantAuth string
	}{
		{"none to loopback", nil, false, SMTP{TLS: TLSNone}, false, ""},
		{"none with auth to loopback", nil, false, SMTP{TLS: TLSNone, Username: "u", Password: "p"}, false, "u:p"},
		{"starttls", srvTLS, false, SMTP{TLS: TLSStart, TLSConfig: cliTLS, Username: "drop", Password: "pw"}, true, "drop:pw"},
		{"implicit tls", srvTLS, true, SMTP{TLS: TLSImplicit, TLSConfig: cliTLS}, true, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := notifytest.StartServer(t, tt.srvTLS, tt.implicit)
			acct := tt.acct
			acct.Addr, acct.From, acct.Timeout = srv.Addr(), "digest@drop.example", 5*time.Second
			if err := acct.Send(context.Background(), "officer@example.org", []byte(rawMsg)); err != nil {
				t.Fatal(err)
			}
			got := srv.Mail()
			if len(got) != 1 {
				t.Fatalf("received %d messages", len(got))
			}
			m := got[0]
			if string(m.Data) != rawMsg {
				t.Errorf("data = %q, want %q", m.Data, rawMsg)
			}
			if m.TLS != tt.wantTLS || m.Auth != tt.wantAuth {
				t.Errorf("TLS=%v auth=%q, want %v %q", m.TLS, m.Auth, tt.wantTLS, tt.wantAuth)
			}
			if m.From != "digest@drop.example" || len(m.To) != 1 || m.To[0] != "officer@example.org" {
				t.Errorf("envelope %q -> %q", m.From, m.To)
			}
		})
	}
}

func TestSendErrors(t *testing.T) {
	srvTLS, cliTLS := testCerts(t)
	noDial := func(context.Context, string, string) (net.Conn, error) {
		t.Error("dialled although the configuration is refused")
		return nil, errors.New("no")
	}
	tests := []struct {
		name     string
		srvTLS   *tls.Config // server offers STARTTLS with this
		reject   string      // server answers 550 to RCPT for this
		acct     SMTP        // Addr filled from the server unless set
		want     string      // in the error text
		wantCode int         // SMTP reply code in a wrapped *textproto.Error
	}{
		{"rcpt rejected", nil, "officer@example.org", SMTP{TLS: TLSNone}, "smtp RCPT TO: 550", 550},
		{"starttls not offered", nil, "", SMTP{TLS: TLSStart}, "server does not offer it; refusing to send in clear", 0},
		{"untrusted certificate", srvTLS, "", SMTP{TLS: TLSStart}, "smtp STARTTLS: tls: failed to verify certificate", 0},
		{"wrong server name", srvTLS, "", SMTP{TLS: TLSStart, TLSConfig: &tls.Config{RootCAs: cliTLS.RootCAs, ServerName: "mail.example.org"}}, "smtp STARTTLS: tls: failed to verify certificate: x509: certificate is not valid for any names, but wanted to match mail.example.org", 0},
		{"none to remote host", nil, "", SMTP{TLS: TLSNone, Addr: "192.0.2.1:25", Dial: noDial}, `TLS mode "none" is allowed only to a loopback IP`, 0},
		{"no tls mode", nil, "", SMTP{Addr: "127.0.0.1:25", Dial: noDial}, `TLS mode "": want`, 0},
		{"bad address", nil, "", SMTP{TLS: TLSNone, Addr: "127.0.0.1", Dial: noDial}, "smtp: address", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := notifytest.StartServer(t, tt.srvTLS, false, tt.reject)
			acct := tt.acct
			if acct.Addr == "" {
				acct.Addr = srv.Addr()
			}
			acct.From, acct.Timeout = "digest@drop.example", 5*time.Second
			err := acct.Send(context.Background(), "officer@example.org", []byte(rawMsg))
			if err == nil {
				t.Fatal("Send succeeded")
			}
			t.Logf("error: %v", err)
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q lacks %q", err, tt.want)
			}
			if tt.wantCode != 0 {
				var te *textproto.Error
				if !errors.As(err, &te) || te.Code != tt.wantCode {
					t.Errorf("error %v does not wrap SMTP reply %d", err, tt.wantCode)
				}
			}
			if n := len(srv.Mail()); n != 0 {
				t.Errorf("server received %d messages", n)
			}
		})
	}
}

// TestSendStalledServer: a server that accepts and never speaks must not
// hang Send past its Timeout or its context.
func TestSendStalledServer(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	done := make(chan struct{})
	defer close(done)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() { <-done; c.Close() }()
		}
	}()
	tests := []struct {
		name    string
		timeout time.Duration
		cancel  time.Duration
		want    error
	}{
		{"timeout", 200 * time.Millisecond, 0, context.DeadlineExceeded},
		{"context cancelled", 10 * time.Second, 200 * time.Millisecond, context.Canceled},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			if tt.cancel > 0 {
				time.AfterFunc(tt.cancel, cancel)
			}
			acct := SMTP{Addr: ln.Addr().String(), From: "d@example.org", TLS: TLSNone, Timeout: tt.timeout}
			start := time.Now()
			err := acct.Send(ctx, "o@example.org", []byte(rawMsg))
			took := time.Since(start)
			t.Logf("error after %v: %v", took.Round(time.Millisecond), err)
			if !errors.Is(err, tt.want) {
				t.Errorf("error %v is not %v", err, tt.want)
			}
			if took > 2*time.Second {
				t.Errorf("Send took %v", took)
			}
		})
	}
}

func TestSendDialHook(t *testing.T) {
	srv := notifytest.StartServer(t, nil, false)
	var dialled string
	acct := SMTP{Addr: "127.0.0.1:1", From: "d@example.org", TLS: TLSNone,
		Dial: func(ctx context.Context, network, addr string) (net.Conn, error) {
			dialled = addr
			var d net.Dialer
			return d.DialContext(ctx, network, srv.Addr())
		}}
	if err := acct.Send(context.Background(), "o@example.org", []byte(rawMsg)); err != nil {
		t.Fatal(err)
	}
	if dialled != "127.0.0.1:1" || len(srv.Mail()) != 1 || !bytes.Equal(srv.Mail()[0].Data, []byte(rawMsg)) {
		t.Fatalf("dialled %q, received %d", dialled, len(srv.Mail()))
	}
}
