package main

import (
	"bufio"
	"bytes"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"cleandrop/drop/web"
)

// rawExchange sends req over a new TCP connection to base and returns the
// one response it gets.
func rawExchange(t *testing.T, base, req string) (*http.Response, []byte) {
	t.Helper()
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	c, err := net.Dial("tcp", u.Host)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	go io.WriteString(c, req) // the server may answer before it has read it all
	c.SetReadDeadline(time.Now().Add(30 * time.Second))
	raw, _ := io.ReadAll(c)
	resp, err := http.ReadResponse(bufio.NewReader(bytes.NewReader(raw)), nil)
	if err != nil {
		t.Fatalf("no response to %.60q: %v\n%s", req, err, raw)
	}
	resp.Body.Close()
	return resp, raw
}

// Responses that net/http writes by itself, before any handler, carry the
// security headers on both interfaces of the running server; its pages
// carry them exactly once.
func TestServerErrorsHaveSecurityHeaders(t *testing.T) {
	s := startDemo(t)
	for name, base := range map[string]string{"reporter": s.url, "desk": s.deskURL(t)} {
		tests := []struct {
			name, req string
			status    int
		}{
			{"huge header", "GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + strings.Repeat("a", 200<<10) + "\r\n\r\n", 431},
			{"garbage request line", "\x16\x03\x01garbage\r\n\r\n", 400},
			{"bad version", "GET / HTTP/2.7\r\nHost: x\r\n\r\n", 505},
			{"a page", "GET /static/style.css HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", 200},
		}
		for _, tt := range tests {
			t.Run(name+"/"+tt.name, func(t *testing.T) {
				resp, _ := rawExchange(t, base, tt.req)
				if resp.StatusCode != tt.status {
					t.Fatalf("status %d, want %d", resp.StatusCode, tt.status)
				}
				for k, v := range web.SecurityHeaders {
					if got := resp.Header.Values(k); len(got) != 1 || got[0] != v {
						t.Errorf("%s: %q, want once %q", k, got, v)
					}
				}
			})
		}
	}
}
