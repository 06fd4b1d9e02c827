package web

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestParseProxyLine(t *testing.T) {
	for _, tc := range []struct {
		name, line string
		ok         bool
	}{
		{"tor", "PROXY TCP6 fc00:dead:beef:4dad::0:13 ::1 19 80\r\n", true},
		{"tcp4", "PROXY TCP4 10.0.0.1 127.0.0.1 5 80\r\n", true},
		{"unknown", "PROXY UNKNOWN\r\n", true},
		{"no crlf", "PROXY TCP6 fc00:dead:beef:4dad::0:13 ::1 19 80\n", false},
		{"family mismatch", "PROXY TCP4 fc00::1 ::1 19 80\r\n", false},
		{"bad port", "PROXY TCP6 fc00::1 ::1 70000 80\r\n", false},
		{"leading zero", "PROXY TCP6 fc00::1 ::1 019 80\r\n", false},
		{"missing field", "PROXY TCP6 fc00::1 ::1 19\r\n", false},
		{"http", "GET / HTTP/1.1\r\n", false},
		{"v2 signature", "\r\n\r\n\x00\r\nQUIT\n", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, ok := parseProxyLine([]byte(tc.line))
			if ok != tc.ok {
				t.Fatalf("parse %q: ok=%v, want %v", tc.line, ok, tc.ok)
			}
		})
	}
}

func FuzzParseProxyLine(f *testing.F) {
	f.Add([]byte("PROXY TCP6 fc00:dead:beef:4dad::0:13 ::1 19 80\r\n"))
	f.Add([]byte("PROXY UNKNOWN\r\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		id, ok := parseProxyLine(b)
		if ok && id == "" {
			t.Fatal("accepted with an empty id")
		}
	})
}

// circuitServer serves each request's circuit id back, over a
// CircuitListener.
func circuitServer(t *testing.T, timeout time.Duration) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			io.WriteString(w, Circuit(r.Context()))
		}),
		ConnContext:       CircuitContext,
		ReadHeaderTimeout: 5 * time.Second,
	}
	go srv.Serve(CircuitListener(ln, timeout))
	t.Cleanup(func() { srv.Close() })
	return ln.Addr().String()
}

func TestCircuitListener(t *testing.T) {
	addr := circuitServer(t, 300*time.Millisecond)
	ask := func(t *testing.T, header string) (string, error) {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(5 * time.Second))
		fmt.Fprintf(c, "%sGET / HTTP/1.1\r\nHost: x\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", header)
		br := bufio.NewReader(c)
		var ids []string
		for range 2 {
			resp, err := http.ReadResponse(br, nil)
			if err != nil {
				return "", err
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			ids = append(ids, string(b))
		}
		if ids[0] != ids[1] {
			t.Fatalf("two requests on one connection: circuits %q and %q", ids[0], ids[1])
		}
		return ids[0], nil
	}
	a, err := ask(t, "PROXY TCP6 fc00:dead:beef:4dad::0:13 ::1 19 80\r\n")
	if err != nil {
		t.Fatal(err)
	}
	b, err := ask(t, "PROXY TCP6 fc00:dead:beef:4dad::0:14 ::1 20 80\r\n")
	if err != nil {
		t.Fatal(err)
	}
	if a == b || a == LocalCircuit || a == "" {
		t.Fatalf("circuits %q and %q", a, b)
	}
	t.Run("no header", func(t *testing.T) {
		if id, err := ask(t, ""); err == nil {
			t.Fatalf("a connection without a PROXY line was served (circuit %q)", id)
		}
	})
	t.Run("header too long", func(t *testing.T) {
		if id, err := ask(t, "PROXY TCP6 "+strings.Repeat("1", 200)+"\r\n"); err == nil {
			t.Fatalf("an overlong PROXY line was served (circuit %q)", id)
		}
	})
	t.Run("silent client is cut", func(t *testing.T) {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		start := time.Now()
		_, err = c.Read(make([]byte, 1))
		if err == nil {
			t.Fatal("a silent connection got an answer")
		}
		if time.Since(start) > 4*time.Second {
			t.Fatal("a silent connection was not closed by the PROXY timeout")
		}
	})
}

// TestNoCircuitListener: without the wrapper every client is one circuit.
func TestNoCircuitListener(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, Circuit(r.Context()))
	}), ConnContext: CircuitContext}
	go srv.Serve(ln)
	defer srv.Close()
	resp, err := http.Get("http://" + ln.Addr().String() + "/")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(b) != LocalCircuit {
		t.Fatalf("circuit %q, want %q", b, LocalCircuit)
	}
}

type outerConn struct{ net.Conn }

func (c outerConn) NetConn() net.Conn { return c.Conn }

// TestCircuitContextUnwraps: a wrapper outside the CircuitListener that
// has NetConn does not hide the circuit.
func TestCircuitContextUnwraps(t *testing.T) {
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	cc := &circuitConn{Conn: a, timeout: time.Second}
	go io.WriteString(b, "PROXY TCP6 fc00:dead:beef:4dad::0:13 ::1 19 80\r\n")
	cc.Read(make([]byte, 0))
	ctx := CircuitContext(t.Context(), outerConn{cc})
	if got := Circuit(ctx); got == LocalCircuit {
		t.Fatal("the circuit was lost behind a wrapper")
	}
}
