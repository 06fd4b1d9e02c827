package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"cleandrop/drop/receipt"
)

// The flood tests run the real binary on loopback with
// --loopback-proxy-protocol: every client connection starts with a PROXY
// line, as tor's do, naming the client's circuit. A flooder sends wrong
// receipts (or wrong passwords and garbage tokens) from 200 goroutines for
// a bounded time while a real reporter (or officer) on its own circuit
// signs in again and again. They print what they measured.

const (
	floodWorkers  = 200
	floodDuration = 20 * time.Second
	floodMax      = 60000 // requests, whatever the rate
	// The documented bounds (drop/source and drop/desk defaults): a
	// circuit's evaluated failures are at most its burst plus one per
	// refill interval.
	sourceBurst, sourceRefill = 10, 6 * time.Second
	deskBurst, deskRefill     = 20, 3 * time.Second
)

// proxyLine is what tor sends first on a connection from circuit id (tor
// 0.4.9.8, measured: "PROXY TCP6 fc00:dead:beef:4dad::0:13 ::1 19 80").
func proxyLine(id uint32) string {
	return fmt.Sprintf("PROXY TCP6 fc00:dead:beef:4dad::%x:%x ::1 %d 80\r\n", id>>16, id&0xffff, id&0xffff)
}

// circuitClient is an HTTP client whose connections all come from circuit
// id, with a cookie jar; redirects are not followed.
func circuitClient(id uint32, timeout time.Duration) *http.Client {
	var d net.Dialer
	jar, _ := cookiejar.New(nil)
	return &http.Client{
		Jar:     jar,
		Timeout: timeout,
		Transport: &http.Transport{
			DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
				c, err := d.DialContext(ctx, network, addr)
				if err != nil {
					return nil, err
				}
				if _, err := io.WriteString(c, proxyLine(id)); err != nil {
					c.Close()
					return nil, err
				}
				return c, nil
			},
			MaxIdleConnsPerHost: 4,
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// postForm posts a url-encoded form and returns the status, reading the
// body to the end.
func postForm(hc *http.Client, u string, form url.Values) (int, error) {
	req, _ := http.NewRequest(http.MethodPost, u, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	resp, err := hc.Do(req)
	if err != nil {
		return 0, err
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, nil
}

// floodStats counts a flood's answers per circuit.
type floodStats struct {
	mu    sync.Mutex
	codes map[uint32]map[int]int
	sent  atomic.Int64
	errs  atomic.Int64
}

func (s *floodStats) add(id uint32, code int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.codes == nil {
		s.codes = map[uint32]map[int]int{}
	}
	if s.codes[id] == nil {
		s.codes[id] = map[int]int{}
	}
	s.codes[id][code]++
}

// flood runs floodWorkers goroutines, worker i on circuits[i%len], each
// sending send until the time or the request count runs out.
func flood(ctx context.Context, circuits []uint32, send func(hc *http.Client, i int) int) *floodStats {
	st := &floodStats{}
	ctx, cancel := context.WithTimeout(ctx, floodDuration)
	defer cancel()
	var wg sync.WaitGroup
	for w := range floodWorkers {
		id := circuits[w%len(circuits)]
		hc := circuitClient(id, 30*time.Second)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil && st.sent.Add(1) <= floodMax {
				code := send(hc, w)
				if code == 0 {
					st.errs.Add(1)
					continue
				}
				st.add(id, code)
			}
		}()
	}
	wg.Wait()
	return st
}

// noCircuitInLog checks that no circuit id (the PROXY line's source
// address, fc00:dead:beef:4dad::/64) reached the server's output.
func noCircuitInLog(t *testing.T, s *server) {
	t.Helper()
	for _, out := range []string{s.stdout.String(), s.stderr.String()} {
		if strings.Contains(out, "4dad") || strings.Contains(out, "fc00") {
			t.Fatalf("a circuit id reached the server's output:\n%s", out)
		}
	}
}

func p95(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[(len(s)*95+99)/100-1]
}

// TestFloodReporterLogin: one client floods wrong receipts on four
// circuits; a reporter on a fifth circuit signs in with their receipt
// twice a second. The reporter's sign-ins succeed within 10 s at the
// 95th percentile, and each flooding circuit's evaluated guesses (its 401
// answers) stay within the per-circuit bound.
func TestFloodReporterLogin(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: skipping the flood")
	}
	s := startDemo(t, "--loopback-proxy-protocol")
	rep := &reporter{t: t, base: s.url, hc: circuitClient(1, time.Minute)}
	rc, _ := rep.report("acc", "flood test", nil)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var lat []time.Duration
	var fails []int
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; ctx.Err() == nil; i++ {
			hc := circuitClient(2, time.Minute) // a new connection each time
			t0 := time.Now()
			code, err := postForm(hc, s.url+"/followup", url.Values{"receipt": {rc}})
			if err != nil || code != http.StatusSeeOther {
				fails = append(fails, code)
			}
			lat = append(lat, time.Since(t0))
			time.Sleep(500 * time.Millisecond)
		}
	}()
	flooders := []uint32{1000, 1001, 1002, 1003}
	t0 := time.Now()
	st := flood(context.Background(), flooders, func(hc *http.Client, _ int) int {
		wrong, _ := receipt.Generate(receipt.Words)
		code, _ := postForm(hc, s.url+"/followup", url.Values{"receipt": {wrong}})
		return code
	})
	elapsed := time.Since(t0)
	cancel()
	wg.Wait()

	noCircuitInLog(t, s)
	bound := sourceBurst + int(elapsed/sourceRefill) + 1
	measured(t, "flood: %d requests from %d goroutines on %d circuits in %.1fs (%d transport errors)",
		min(st.sent.Load(), floodMax), floodWorkers, len(flooders), elapsed.Seconds(), st.errs.Load())
	for _, id := range flooders {
		measured(t, "flooding circuit %d: answers %v; evaluated %d, bound %d", id, st.codes[id], st.codes[id][401], bound)
		if n := st.codes[id][401]; n > bound {
			t.Errorf("flooding circuit %d: %d guesses evaluated, bound %d", id, n, bound)
		}
	}
	measured(t, "reporter: %d sign-ins during the flood, %d failed %v; latency p95 %v, max %v",
		len(lat), len(fails), fails, p95(lat).Round(time.Millisecond), slices.Max(lat).Round(time.Millisecond))
	if len(lat) < 5 {
		t.Fatalf("only %d sign-ins by the reporter", len(lat))
	}
	if len(fails) > 0 || p95(lat) > 10*time.Second {
		t.Fatalf("the reporter was locked out: %d of %d sign-ins failed %v, p95 %v", len(fails), len(lat), fails, p95(lat))
	}
}

var apiTokenRe = regexp.MustCompile(`(?m)^alice\.\S+$`)

// TestFloodDeskLogin: one client floods the desk with wrong passwords for
// other names and garbage bearer tokens on four circuits; officer alice,
// on her own circuit, signs in with password and TOTP and then calls the
// API with her token twice a second. Her requests succeed within 10 s
// at the 95th percentile; each flooding circuit's evaluated passwords stay
// within the per-circuit bound.
func TestFloodDeskLogin(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: skipping the flood")
	}
	s := startDemo(t, "--loopback-proxy-protocol")
	desk := s.deskURL(t)
	alice := &reporter{t: t, base: desk, hc: circuitClient(1, time.Minute)}
	path := s.addOfficer(t, "acc", "alice")
	const password = "a long desk password for testing"
	if resp, body := alice.get(path); resp.StatusCode != 200 {
		t.Fatalf("enrolment page: %d\n%s", resp.StatusCode, body)
	}
	_, body := alice.postForm(path, map[string]string{"password": password, "confirm": password})
	m := totpRe.FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no TOTP secret on the enrolment page:\n%s", body)
	}
	auth := newAuthenticator(t, m[1])
	if resp, body := alice.postForm(path, map[string]string{"code": auth.code()}); resp.StatusCode != 200 {
		t.Fatalf("enrolment confirm: %d\n%s", resp.StatusCode, body)
	}
	tok := apiTokenRe.FindString(s.cli(t, "officer", "token", "alice", "--label", "flood"))
	if tok == "" {
		t.Fatal("officer token printed no token")
	}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var lat []time.Duration
	var fails []string
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		time.Sleep(time.Second) // into the flood
		hc := circuitClient(2, time.Minute)
		t0 := time.Now()
		code, err := postForm(hc, desk+"/login", url.Values{"name": {"alice"}, "password": {password}, "code": {auth.early()}})
		lat = append(lat, time.Since(t0))
		if err != nil || code != http.StatusSeeOther {
			fails = append(fails, fmt.Sprintf("login %d %v", code, err))
		}
		for ctx.Err() == nil {
			req, _ := http.NewRequest(http.MethodGet, desk+"/api/v1/cases", nil)
			req.Header.Set("Authorization", "Bearer "+tok)
			t0 := time.Now()
			resp, err := circuitClient(3, time.Minute).Do(req)
			lat = append(lat, time.Since(t0))
			if err != nil {
				fails = append(fails, "api "+err.Error())
			} else {
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 {
					fails = append(fails, fmt.Sprintf("api %d", resp.StatusCode))
				}
			}
			time.Sleep(500 * time.Millisecond)
		}
	}()
	flooders := []uint32{1000, 1001, 1002, 1003}
	var n atomic.Int64
	var garbage atomic.Int64
	t0 := time.Now()
	st := flood(context.Background(), flooders, func(hc *http.Client, i int) int {
		if n.Add(1)%2 == 0 {
			req, _ := http.NewRequest(http.MethodGet, desk+"/api/v1/cases", nil)
			req.Header.Set("Authorization", "Bearer "+[]string{"garbage", "alice.short", "alice." + strings.Repeat("A", 44)}[i%3])
			resp, err := hc.Do(req)
			if err != nil {
				return 0
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			garbage.Add(1)
			if resp.StatusCode == 401 {
				return 499 // garbage refused without evaluation: counted apart
			}
			return resp.StatusCode
		}
		code, _ := postForm(hc, desk+"/login", url.Values{"name": {fmt.Sprintf("name%d", i)}, "password": {"wrong password"}, "code": {"000000"}})
		return code
	})
	elapsed := time.Since(t0)
	cancel()
	wg.Wait()

	noCircuitInLog(t, s)
	bound := deskBurst + int(elapsed/deskRefill) + 1
	measured(t, "flood: %d requests (%d garbage tokens) from %d goroutines on %d circuits in %.1fs (%d transport errors)",
		min(st.sent.Load(), floodMax), garbage.Load(), floodWorkers, len(flooders), elapsed.Seconds(), st.errs.Load())
	for _, id := range flooders {
		measured(t, "flooding circuit %d: answers %v (499: garbage token refused); evaluated %d, bound %d", id, st.codes[id], st.codes[id][401], bound)
		if n := st.codes[id][401]; n > bound {
			t.Errorf("flooding circuit %d: %d passwords evaluated, bound %d", id, n, bound)
		}
	}
	measured(t, "alice: %d requests during the flood (1 sign-in, then the API), %d failed %v; latency p95 %v, max %v",
		len(lat), len(fails), fails, p95(lat).Round(time.Millisecond), slices.Max(lat).Round(time.Millisecond))
	if len(lat) < 5 {
		t.Fatalf("only %d requests by alice", len(lat))
	}
	if len(fails) > 0 || p95(lat) > 10*time.Second {
		t.Fatalf("alice was locked out: %d of %d requests failed %v, p95 %v", len(fails), len(lat), fails, p95(lat))
	}
}
