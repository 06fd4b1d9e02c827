package web

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

// serveRaw serves h on a loopback listener, through [Guard] when guard is
// set, with the limits the drop uses.
func serveRaw(t *testing.T, h http.Handler, guard bool) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: time.Minute, MaxHeaderBytes: 8 << 10}
	if guard {
		ln = Guard(srv, ln)
	}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return ln.Addr().String()
}

// exchange writes req on a new connection and returns all it reads back
// until the server closes it (or 10 s of silence).
func exchange(t *testing.T, addr, req string) []byte {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	go io.WriteString(c, req) // a huge head may be refused before it is all written
	var out bytes.Buffer
	buf := make([]byte, 32<<10)
	for {
		c.SetReadDeadline(time.Now().Add(10 * time.Second))
		n, err := c.Read(buf)
		out.Write(buf[:n])
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				t.Fatalf("no end after %q:\n%s", out.Bytes(), req[:min(len(req), 200)])
			}
			return out.Bytes()
		}
	}
}

// responses parses every response in raw.
func responses(t *testing.T, raw []byte, methods ...string) []*http.Response {
	t.Helper()
	br := bufio.NewReader(bytes.NewReader(raw))
	var out []*http.Response
	for i := 0; ; i++ {
		if _, err := br.Peek(1); err == io.EOF {
			return out
		}
		var req *http.Request
		if i < len(methods) {
			req = &http.Request{Method: methods[i]}
		}
		resp, err := http.ReadResponse(br, req)
		if err != nil {
			t.Fatalf("response %d: %v in\n%s", i+1, err, raw)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		out = append(out, resp)
	}
}

func hasSecurityHeaders(h http.Header) error {
	for k, v := range SecurityHeaders {
		if got := h.Get(k); got != v {
			return errors.New(k + " is " + got)
		}
	}
	return nil
}

// page is a handler as the drop's are: behind Secure, with the Date header
// left out so that two runs give the same bytes.
func page() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		w.Header()["Date"] = nil
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		io.WriteString(w, "hello\n")
	})
	// A body that looks like net/http's own error response, written at
	// the start of the connection's writes after a flush.
	mux.HandleFunc("/lookalike", func(w http.ResponseWriter, r *http.Request) {
		first := "HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\n400 Bad Request"
		more := bytes.Repeat([]byte("HTTP/1.1 431 x\r\n\r\n"), 2000)
		w.Header()["Date"] = nil
		w.Header().Set("Content-Length", strconv.Itoa(len(first)+len(more)))
		w.WriteHeader(http.StatusOK)
		http.NewResponseController(w).Flush()
		io.WriteString(w, first)
		http.NewResponseController(w).Flush()
		w.Write(more)
	})
	return Secure(mux)
}

// Errors net/http writes by itself, which no handler sees, carry the
// security headers.
func TestGuardServerErrors(t *testing.T) {
	addr := serveRaw(t, page(), true)
	tests := []struct {
		name   string
		req    string
		status int
	}{
		{"huge header", "GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + strings.Repeat("a", 64<<10) + "\r\n\r\n", 431},
		{"garbage request line", "GARBAGE\r\n\r\n", 400},
		{"no host", "GET / HTTP/1.1\r\n\r\n", 400},
		{"bad version", "GET / HTTP/9.9\r\nHost: x\r\n\r\n", 505},
		{"unknown transfer coding", "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", 501},
		{"unknown expectation", "GET / HTTP/1.1\r\nHost: x\r\nExpect: nonsense\r\n\r\n", 417},
		{"OPTIONS *", "OPTIONS * HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			raw := exchange(t, addr, tt.req)
			rs := responses(t, raw)
			if len(rs) != 1 || rs[0].StatusCode != tt.status {
				t.Fatalf("want one %d response, got:\n%s", tt.status, raw)
			}
			if err := hasSecurityHeaders(rs[0].Header); err != nil {
				t.Errorf("%v:\n%s", err, raw)
			}
		})
	}

	// After a response on a kept-alive connection, the next one that
	// net/http writes itself is caught too.
	t.Run("after a page", func(t *testing.T) {
		raw := exchange(t, addr, "GET / HTTP/1.1\r\nHost: x\r\n\r\nGARBAGE\r\n\r\n")
		rs := responses(t, raw)
		if len(rs) != 2 || rs[0].StatusCode != 200 || rs[1].StatusCode != 400 {
			t.Fatalf("want 200 then 400:\n%s", raw)
		}
		for i, r := range rs {
			if err := hasSecurityHeaders(r.Header); err != nil {
				t.Errorf("response %d: %v", i+1, err)
			}
		}
		if n := bytes.Count(raw, []byte("Content-Security-Policy:")); n != 2 {
			t.Errorf("%d Content-Security-Policy lines in two responses:\n%s", n, raw)
		}
	})

	// Without the guard, the same errors have none of them: the test
	// looks at what the guard changes.
	t.Run("unguarded", func(t *testing.T) {
		plain := serveRaw(t, page(), false)
		rs := responses(t, exchange(t, plain, "GARBAGE\r\n\r\n"))
		if len(rs) != 1 || hasSecurityHeaders(rs[0].Header) == nil {
			t.Fatal("net/http now sets the headers itself; the guard may go")
		}
	})
}

// The guard changes nothing in the responses of our handlers: the bytes on
// the wire are the same with and without it, over a kept-alive connection
// with pages, 100 Continue, HEAD and a body that looks like an error
// response.
func TestGuardKeepsResponses(t *testing.T) {
	body := strings.Repeat("b", 10<<10)
	req := "GET / HTTP/1.1\r\nHost: x\r\n\r\n" +
		"POST / HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: " + strconv.Itoa(len(body)) + "\r\n\r\n" + body +
		"HEAD / HTTP/1.1\r\nHost: x\r\n\r\n" +
		"GET /lookalike HTTP/1.1\r\nHost: x\r\n\r\n" +
		"GET /static HTTP/1.0\r\n\r\n"
	guarded := exchange(t, serveRaw(t, page(), true), req)
	plain := exchange(t, serveRaw(t, page(), false), req)
	if !bytes.Equal(guarded, plain) {
		t.Fatalf("the guard changed a response:\nwith:\n%q\nwithout:\n%q", guarded, plain)
	}
	rs := responses(t, guarded, "GET", "POST", "POST", "HEAD", "GET", "GET")
	if len(rs) != 6 || rs[1].StatusCode != http.StatusContinue {
		t.Fatalf("%d responses, want 6 with a 100 Continue:\n%s", len(rs), guarded)
	}
	for i, r := range rs {
		if r.StatusCode == http.StatusContinue {
			continue
		}
		if err := hasSecurityHeaders(r.Header); err != nil {
			t.Errorf("response %d: %v", i+1, err)
		}
	}
}
