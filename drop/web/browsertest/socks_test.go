package browsertest

import (
	"encoding/binary"
	"errors"
	"io"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// socksServer is a minimal SOCKS5 proxy (RFC 1928, no authentication,
// CONNECT only) that knows a few made-up host names, like tor knows
// onion addresses, and records every destination it is asked for.
type socksServer struct {
	ln    net.Listener
	hosts map[string]string // "name:port" -> real address

	mu    sync.Mutex
	asked []string
	wg    sync.WaitGroup
}

func startSOCKS(t *testing.T, hosts map[string]string) *socksServer {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &socksServer{ln: ln, hosts: hosts}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s.wg.Add(1)
			go func() {
				defer s.wg.Done()
				s.serve(c)
			}()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		s.wg.Wait()
	})
	return s
}

func (s *socksServer) URL() string { return "socks5://" + s.ln.Addr().String() }

func (s *socksServer) destinations() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.asked...)
}

// SOCKS5 reply codes.
const (
	socksSucceeded       = 0x00
	socksHostUnreachable = 0x04
	socksCmdUnsupported  = 0x07
	socksAddrUnsupported = 0x08
)

func (s *socksServer) serve(c net.Conn) {
	defer c.Close()
	dest, err := s.handshake(c)
	if err != nil {
		return
	}
	s.mu.Lock()
	s.asked = append(s.asked, dest)
	addr, ok := s.hosts[dest]
	s.mu.Unlock()
	if !ok {
		reply(c, socksHostUnreachable)
		return
	}
	up, err := net.Dial("tcp", addr)
	if err != nil {
		reply(c, socksHostUnreachable)
		return
	}
	defer up.Close()
	if reply(c, socksSucceeded) != nil {
		return
	}
	done := make(chan struct{})
	go func() {
		io.Copy(up, c)
		up.(*net.TCPConn).CloseWrite()
		close(done)
	}()
	io.Copy(c, up)
	c.(*net.TCPConn).CloseWrite()
	<-done
}

// handshake reads the greeting and the CONNECT request and returns the
// destination as "host:port", the host as the client sent it.
func (s *socksServer) handshake(c net.Conn) (string, error) {
	var hdr [2]byte
	if _, err := io.ReadFull(c, hdr[:]); err != nil {
		return "", err
	}
	if hdr[0] != 5 {
		return "", errors.New("not socks5")
	}
	methods := make([]byte, hdr[1])
	if _, err := io.ReadFull(c, methods); err != nil {
		return "", err
	}
	if !strings.ContainsRune(string(methods), 0) {
		c.Write([]byte{5, 0xff})
		return "", errors.New("no acceptable method")
	}
	if _, err := c.Write([]byte{5, 0}); err != nil {
		return "", err
	}
	var req [4]byte // VER CMD RSV ATYP
	if _, err := io.ReadFull(c, req[:]); err != nil {
		return "", err
	}
	if req[0] != 5 {
		return "", errors.New("not socks5")
	}
	var host string
	switch req[3] {
	case 1, 4: // IPv4, IPv6: a browser that resolved the name itself
		ip := make(net.IP, 4)
		if req[3] == 4 {
			ip = make(net.IP, 16)
		}
		if _, err := io.ReadFull(c, ip); err != nil {
			return "", err
		}
		host = ip.String()
	case 3: // domain name
		var n [1]byte
		if _, err := io.ReadFull(c, n[:]); err != nil {
			return "", err
		}
		name := make([]byte, n[0])
		if _, err := io.ReadFull(c, name); err != nil {
			return "", err
		}
		host = string(name)
	default:
		reply(c, socksAddrUnsupported)
		return "", errors.New("address type")
	}
	var port [2]byte
	if _, err := io.ReadFull(c, port[:]); err != nil {
		return "", err
	}
	if req[1] != 1 {
		reply(c, socksCmdUnsupported)
		return "", errors.New("not connect")
	}
	return net.JoinHostPort(host, strconv.Itoa(int(binary.BigEndian.Uint16(port[:])))), nil
}

func reply(c net.Conn, code byte) error {
	_, err := c.Write([]byte{5, code, 0, 1, 0, 0, 0, 0, 0, 0})
	return err
}

func TestOpenThroughSOCKSProxy(t *testing.T) {
	openThroughSOCKS(t, func(proxy string) Driver { return newBrowser(t, Options{Proxy: proxy}) }, "net::ERR_")
}

func TestFirefoxThroughSOCKSProxy(t *testing.T) {
	asked := openThroughSOCKS(t, func(proxy string) Driver { return newFirefox(t, Options{Proxy: proxy}) }, "about:neterror")
	// Firefox asks for nothing of its own (updates, remote settings).
	for _, a := range asked {
		if h, _, _ := net.SplitHostPort(a); !strings.HasSuffix(h, ".onion") && h != "drop.example" {
			t.Errorf("Firefox asked the proxy for %s, which the test did not open", a)
		}
	}
}

// openThroughSOCKS has the browser that start makes, proxied through a
// SOCKS server that knows one onion name, submit a form to that name, and
// checks that every name went to the proxy unresolved; a page that cannot
// be reached fails with an error holding failed. It returns what the proxy
// was asked for.
func openThroughSOCKS(t *testing.T, start func(proxy string) Driver, failed string) []string {
	const onion = "abcdefghijklmnopqrstuvwxyz234567abcdefghijklmnopqrstuvwx.onion"
	srv, got := formServer(t)
	proxy := startSOCKS(t, map[string]string{onion + ":80": srv.Listener.Addr().String()})
	b := start(proxy.URL())

	t.Run("submit to an onion name resolved at the proxy", func(t *testing.T) {
		if err := b.Open("http://" + onion + "/"); err != nil {
			t.Fatal(err)
		}
		if s, err := b.Text("#status"); err != nil || s != "scripts are off" {
			t.Errorf(`Text("#status") = %q, %v; want "scripts are off"`, s, err)
		}
		if err := b.SetValue("#alias", "via socks"); err != nil {
			t.Fatal(err)
		}
		if err := b.Click("#send"); err != nil {
			t.Fatal(err)
		}
		if s := <-got; s.fields["alias"] != "via socks" {
			t.Errorf("alias = %q, want %q", s.fields["alias"], "via socks")
		}
		if s, err := b.Text("#receipt"); err != nil || s != "alpha-bravo-charlie-4711" {
			t.Errorf("receipt = %q, %v", s, err)
		}
		if u, err := b.URL(); err != nil || u != "http://"+onion+"/submit" {
			t.Errorf("URL() = %q, %v", u, err)
		}
	})

	for _, tt := range []struct{ name, url string }{
		{"onion name the proxy cannot reach", "http://nowhere.onion/"},
		{"ordinary name goes to the proxy too", "http://drop.example/"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			err := b.Open(tt.url)
			if err == nil || !strings.Contains(err.Error(), failed) {
				t.Errorf("Open(%s) = %v, want an error with %s", tt.url, err, failed)
			}
			t.Logf("Open(%s): %v", tt.url, err)
		})
	}

	asked := proxy.destinations()
	t.Logf("proxy was asked for %q", asked)
	for _, w := range []string{onion + ":80", "nowhere.onion:80", "drop.example:80"} {
		if !slices.Contains(asked, w) {
			t.Errorf("proxy was not asked for %s by name", w)
		}
	}
	for _, a := range asked {
		h, port, _ := net.SplitHostPort(a)
		if net.ParseIP(h) != nil {
			t.Errorf("the browser resolved a name itself and asked the proxy for %s", a)
		}
		if strings.HasSuffix(h, ".onion") && port != "80" {
			t.Errorf("the browser tried %s: an http:// onion address must be fetched on port 80 only", a)
		}
	}
	return asked
}
