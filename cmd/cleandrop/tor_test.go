package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"cleandrop/drop/web/browsertest"
	"cleandrop/onion"
	"cleandrop/onion/testnet"
)

// One private Tor network on 127.0.0.1 for the package's Tor tests,
// started by the first of them.
var (
	torOnce sync.Once
	torNetw *testnet.Network
	torErr  error
	torLogs syncBuf
	torDir  string
)

func torNet(t *testing.T) *testnet.Network {
	t.Helper()
	if !onion.Available("") {
		if os.Getenv("CI") != "" {
			t.Fatal("tor is not installed in CI: make deps should have installed it")
		}
		t.Skip("tor is not installed (make deps installs it); skipping the Tor test")
	}
	torOnce.Do(func() {
		torDir, torErr = os.MkdirTemp("", "cdnet-")
		if torErr != nil {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		start := time.Now()
		torNetw, torErr = testnet.Start(ctx, torDir, func(f string, a ...any) { fmt.Fprintf(&torLogs, f+"\n", a...) })
		fmt.Fprintf(&torLogs, "testnet ready after %.1fs (err=%v)\n", time.Since(start).Seconds(), torErr)
	})
	if torErr != nil {
		if torNetw != nil {
			var b bytes.Buffer
			torNetw.DumpLogs(&b)
			t.Log(b.String())
		}
		t.Fatalf("private Tor network: %v\n%s", torErr, torLogs.String())
	}
	t.Cleanup(func() {
		if t.Failed() {
			var b bytes.Buffer
			torNetw.DumpLogs(&b)
			t.Logf("tor network logs:\n%s\n%s", torLogs.String(), b.String())
		}
	})
	return torNetw
}

func stopTorNet() {
	if torNetw != nil {
		torNetw.Close()
	}
	if torDir != "" {
		os.RemoveAll(torDir)
	}
}

var readyOnion = regexp.MustCompile(`cleandrop: ready: reporter onion: (http://[a-z2-7]{56}\.onion)/`)

func freePort(t *testing.T) int {
	ports, err := testnet.FreePorts(1)
	if err != nil {
		t.Fatal(err)
	}
	return ports[0]
}

// torServer writes a configuration joined to the test network and runs
// 'cleandrop serve' with it until its onion is published. It returns the
// server and the path of its officer key.
func torServer(t *testing.T, n *testnet.Network, data string, metrics int) (*server, string) {
	t.Helper()
	if err := os.MkdirAll(data, 0o700); err != nil {
		t.Fatal(err)
	}
	keyFile := filepath.Join(data, "officer.key")
	if _, err := os.Stat(keyFile); err != nil {
		text, _, err := newIdentity(false)
		if err != nil {
			t.Fatal(err)
		}
		os.WriteFile(keyFile, []byte(text), 0o600)
	}
	pub := recipientOfKey(t, keyFile)
	extra := n.TorrcLines()
	if metrics != 0 {
		extra = append(extra, fmt.Sprintf("MetricsPort 127.0.0.1:%d", metrics), "MetricsPortPolicy accept 127.0.0.1")
	}
	cfg := map[string]any{
		"data_dir":                data,
		"torrc_extra":             extra,
		"publish_timeout_seconds": 120,
		"agencies":                []map[string]any{{"id": "acc", "name": "Anti-Corruption", "recipients": []string{pub}}},
	}
	b, _ := json.Marshal(cfg)
	cfgPath := filepath.Join(data, "config.json")
	os.WriteFile(cfgPath, b, 0o600)
	return startServer(t, data, readyOnion, "serve", "--config", cfgPath), keyFile
}

// waitOnion waits until a freshly published onion at base answers through
// the test network. The server says it is ready once one directory holds
// its descriptor; a client that asks another before the rest have it gets
// "descriptor not found", and like Tor Browser it tries again.
func waitOnion(t *testing.T, n *testnet.Network, base string) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for i := 1; ; i++ {
		resp, err := n.HTTPClient(fmt.Sprintf("wait-%d", i), 30*time.Second).Get(base + "/")
		if err == nil {
			resp.Body.Close()
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("onion %s not reachable: %v", base, err)
		}
		t.Logf("onion not reachable yet (attempt %d): %v", i, err)
		time.Sleep(2 * time.Second)
	}
}

func recipientOfKey(t testing.TB, keyFile string) string {
	data, err := os.ReadFile(keyFile)
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(data), "\n") {
		if p, ok := strings.CutPrefix(l, "# public key: "); ok {
			return p
		}
	}
	t.Fatalf("no public key in %s", keyFile)
	return ""
}

// onionReporter is a reporter whose browser goes through the test
// network's Tor client, on its own circuits.
func onionReporter(t *testing.T, n *testnet.Network, base, isolation string) *reporter {
	hc := n.HTTPClient(isolation, 3*time.Minute)
	hc.Jar, _ = cookiejar.New(nil)
	return &reporter{t: t, base: base, hc: hc}
}

// TestTorEndToEnd sends a report with a file to the reporter onion through
// a real Tor client, reads the receipt, logs in with it through a new
// circuit and reads an officer's question; proof-of-work is on.
func TestTorEndToEnd(t *testing.T) {
	n := torNet(t)
	metrics := freePort(t)
	s, _ := torServer(t, n, filepath.Join(t.TempDir(), "data"), metrics)
	waitOnion(t, n, s.url)
	t.Logf("reporter onion %s", s.url)

	r := onionReporter(t, n, s.url, "reporter-1")
	rc, ref := r.report("acc", "sent through tor", []upload{{"evidence.txt", strings.NewReader("evidence through tor")}})
	s.cli(t, "reply", "--case", ref, "--text-file", writeTemp(t, "Thank you. Who else knows?"))

	r2 := onionReporter(t, n, s.url, "reporter-2")
	resp, body := r2.postForm("/followup", map[string]string{"receipt": rc})
	if resp.Request.URL.Path != "/case" || !strings.Contains(body, "Who else knows?") {
		t.Fatalf("follow-up through tor failed (%s):\n%s", resp.Request.URL, body)
	}

	// Proof-of-work defence, as tor reports it.
	mresp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/metrics", metrics))
	if err != nil {
		t.Fatal(err)
	}
	mb, _ := io.ReadAll(mresp.Body)
	mresp.Body.Close()
	host := strings.TrimSuffix(strings.TrimPrefix(s.url, "http://"), ".onion")
	if !regexp.MustCompile(`tor_hs_pow_suggested_effort\{onion="` + host + `"\} \d+`).Match(mb) {
		t.Fatalf("tor's metrics show no proof-of-work for the reporter onion:\n%s", grepLines(string(mb), "pow"))
	}
}

func grepLines(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// TestTorAddressesPersist restarts the server: the onion address stays;
// a fresh data directory gets a new one.
func TestTorAddressesPersist(t *testing.T) {
	n := torNet(t)
	data := filepath.Join(t.TempDir(), "data")
	s1, _ := torServer(t, n, data, 0)
	first := s1.url
	s1.stop()
	s2, _ := torServer(t, n, data, 0)
	if s2.url != first {
		t.Fatalf("restart changed the onion: %s then %s", first, s2.url)
	}
	s2.stop()
	s3, _ := torServer(t, n, filepath.Join(t.TempDir(), "other"), 0)
	if s3.url == first {
		t.Fatal("a fresh data directory reused the onion address")
	}
}

// torPIDs lists tor processes whose command line mentions dir.
func torPIDs(dir string) []int {
	ents, _ := os.ReadDir("/proc")
	var out []int
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		cmd, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil || !bytes.Contains(cmd, []byte(dir)) || !bytes.Contains(cmd, []byte("tor")) {
			continue
		}
		stat, _ := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if i := bytes.LastIndexByte(stat, ')'); i > 0 && len(stat) > i+2 && stat[i+2] == 'Z' {
			continue // exited, not yet reaped
		}
		out = append(out, pid)
	}
	return out
}

// TestTorDiesWithServer kills the server with SIGKILL: its tor must not
// outlive it.
func TestTorDiesWithServer(t *testing.T) {
	n := torNet(t)
	data := filepath.Join(t.TempDir(), "data")
	s, _ := torServer(t, n, data, 0)
	pids := torPIDs(filepath.Join(data, "tor"))
	if len(pids) == 0 {
		t.Fatal("found no tor process for the server")
	}
	s.cmd.Process.Signal(syscall.SIGKILL)
	<-s.done
	deadline := time.Now().Add(10 * time.Second)
	for len(torPIDs(filepath.Join(data, "tor"))) > 0 {
		if time.Now().After(deadline) {
			t.Fatalf("tor %v still running 10 s after the server was killed", pids)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestTorBrowserReport has headless Chromium, then Firefox ESR (the engine
// of Tor Browser), JavaScript off, proxied through the test network's Tor
// client, open the reporter onion and send a report each.
func TestTorBrowserReport(t *testing.T) {
	needBrowser(t)
	needFirefox(t)
	n := torNet(t)
	s, _ := torServer(t, n, filepath.Join(t.TempDir(), "data"), 0)
	waitOnion(t, n, s.url)
	art := browsertest.ArtifactDir(t)
	opt := browsertest.Options{Proxy: "socks5://" + n.SocksAddr, Timeout: 2 * time.Minute}
	for _, name := range []string{"Chromium", "Firefox"} {
		b := startBrowser(t, name == "Firefox", opt)
		text := "Sent from " + name + " over the private Tor network."
		torReport(t, s, b, text, filepath.Join(art, "onion-receipt-"+strings.ToLower(name)+".png"))
		b.Close()
	}
	out := s.cli(t, "cases")
	acc := 0
	for _, l := range strings.Split(out, "\n") {
		if f := strings.Fields(l); len(f) > 1 && f[1] == "acc" {
			acc++
		}
	}
	if acc != 2 {
		t.Errorf("%d cases for acc, want two, one from each browser:\n%s", acc, out)
	}
	t.Logf("screenshots in %s", art)
}

// torReport has b send a report with a file to the onion s.url.
func torReport(t *testing.T, s *server, b browsertest.Driver, text, shot string) {
	t.Helper()
	file := filepath.Join(t.TempDir(), "contract.txt")
	os.WriteFile(file, []byte("contract 2026-17, signed early"), 0o600)
	must(t, b.Open(s.url+"/report"))
	must(t, b.Select("#agency", "acc"))
	must(t, b.SetValue("#message", text))
	must(t, b.Click("#check"))
	must(t, b.SetFiles("#file", file))
	must(t, b.Click("#send"))
	rc, err := b.Text("#receipt")
	must(t, b.Screenshot(shot))
	if err != nil {
		html, _ := b.HTML()
		t.Fatalf("no receipt: %v\n%s", err, html)
	}
	if len(strings.Fields(rc)) != 7 {
		t.Fatalf("receipt %q", rc)
	}
}

// TestTorOfficerOnion adds an officer: the officer onion is then published
// with v3 client authorization, unreachable without the officer's key and
// reachable with it.
func TestTorOfficerOnion(t *testing.T) {
	n := torNet(t)
	data := filepath.Join(t.TempDir(), "data")
	s, _ := torServer(t, n, data, 0)
	out := s.cli(t, "officer", "add", "--agency", "acc", "--name", "alice")
	m := regexp.MustCompile(`([a-z2-7]{56}):descriptor:x25519:([A-Z2-7]{52})`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("officer add printed no client key:\n%s", out)
	}
	desk, priv := m[1]+".onion", m[2]
	token := regexp.MustCompile(`/enrol/(\S+)`).FindStringSubmatch(out)
	if token == nil {
		t.Fatalf("no enrolment link:\n%s", out)
	}
	// The officer onion was not published when no officer existed; a
	// restart publishes it with alice's key.
	s.stop()
	s, _ = torServer(t, n, data, 0)
	if !strings.Contains(s.stdout.String(), "officer onion: http://"+desk) {
		t.Fatalf("officer onion not published after restart:\n%s", s.stdout)
	}
	_, err := n.HTTPClient("officer-without-key", 90*time.Second).Get("http://" + desk + "/login")
	var se *testnet.SOCKSError
	if !errors.As(err, &se) || se.Code != testnet.CodeMissingAuth {
		t.Fatalf("officer onion without the key: %v, want client authorization missing", err)
	}
	if err := n.AddClientAuth(desk, priv); err != nil {
		t.Fatal(err)
	}
	resp, err := n.HTTPClient("officer-with-key", 90*time.Second).Get("http://" + desk + "/enrol/" + token[1])
	if err != nil {
		t.Fatalf("officer onion with the key: %v", err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), `name="password"`) {
		t.Fatalf("enrolment page through the officer onion: %d\n%s", resp.StatusCode, body)
	}
	// The reporter onion does not serve the desk.
	r := onionReporter(t, n, s.url, "reporter-desk-probe")
	if resp, _ := r.get("/enrol/" + token[1]); resp.StatusCode != 404 {
		t.Fatalf("reporter onion answered a desk path: %d", resp.StatusCode)
	}
}
