package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"cleandrop/onion"
	"cleandrop/onion/testnet"
	"cleandrop/vault/backend/servers"
)

// needOnionbalance returns the onionbalance binary; it skips when tor or
// onionbalance is missing, except in CI, where make deps installs both.
func needOnionbalance(t *testing.T) string {
	t.Helper()
	ob, err := exec.LookPath("onionbalance")
	if err != nil {
		ob, err = exec.LookPath("/usr/sbin/onionbalance")
	}
	switch {
	case err == nil && onion.Available(""):
		return ob
	case os.Getenv("CI") != "":
		t.Fatal("tor or onionbalance is not installed in CI: make deps should have installed them")
	}
	t.Skip("tor or onionbalance is not installed (make deps installs them); skipping the Onionbalance test")
	return ""
}

// obNet starts a private Tor network of its own for the test: Onionbalance
// (--is-testnet) blinds the master's key for a 20 s voting interval, the
// shared network votes every 10 s; and Onionbalance 0.2.2 hangs with 4
// HSDirs or fewer, the shared network has 3, and it may not yet see
// one or two of them (testnet.Options).
func obNet(t *testing.T) *testnet.Network {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	var logs syncBuf
	n, err := testnet.StartWith(ctx, t.TempDir(), func(f string, a ...any) { fmt.Fprintf(&logs, f+"\n", a...) },
		testnet.Options{VotingInterval: 20 * time.Second, Authorities: 7})
	if err != nil {
		if n != nil {
			var b bytes.Buffer
			n.DumpLogs(&b)
			t.Log(b.String())
		}
		t.Fatalf("private Tor network: %v\n%s", err, logs.String())
	}
	t.Log(strings.TrimSpace(logs.String()))
	t.Cleanup(func() {
		if t.Failed() {
			var b bytes.Buffer
			n.DumpLogs(&b)
			t.Logf("tor network logs:\n%s", b.String())
		}
		n.Close()
	})
	return n
}

// frontEnd is one 'cleandrop serve' behind the master onion.
type frontEnd struct {
	*server
	cfgPath  string
	instance string // its own reporter onion, "<56>.onion"
}

var readyInstance = regexp.MustCompile(`cleandrop: ready: reporter onion: (http://[a-z2-7]{56}\.onion)/ \(Onionbalance master; this front-end is its instance ([a-z2-7]{56}\.onion)\)`)

// writeFrontEnd writes a front-end's configuration: joined to the test
// network, an instance of master.
func writeFrontEnd(t *testing.T, n *testnet.Network, data, master, officerPub string, store *StoreConfig) string {
	t.Helper()
	if err := os.MkdirAll(data, 0o700); err != nil {
		t.Fatal(err)
	}
	cfg := map[string]any{
		"data_dir":                data,
		"torrc_extra":             n.TorrcLines(),
		"publish_timeout_seconds": 120,
		"onionbalance":            map[string]string{"master": master},
		"agencies":                []map[string]any{{"id": "acc", "name": "Anti-Corruption", "recipients": []string{officerPub}}},
		"store":                   store,
	}
	b, _ := json.Marshal(cfg)
	p := filepath.Join(data, "config.json")
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func startFrontEnd(t *testing.T, data, cfgPath, master string) *frontEnd {
	t.Helper()
	s := startServer(t, data, readyInstance, "serve", "--config", cfgPath)
	m := readyInstance.FindStringSubmatch(s.stdout.String())
	if s.url != "http://"+master {
		t.Fatalf("front-end announces %s, want the master %s", s.url, master)
	}
	return &frontEnd{server: s, cfgPath: cfgPath, instance: m[2]}
}

// startOnionbalance runs onionbalance with cfg on the test network's client
// tor until the test ends.
func startOnionbalance(t *testing.T, bin string, n *testnet.Network, cfg string) *syncBuf {
	t.Helper()
	host, port, _ := strings.Cut(n.ControlAddr(), ":")
	out := &syncBuf{}
	// -s: a socket that does not exist, so a system tor's control socket
	// is never used.
	cmd := exec.Command(bin, "--hs-version", "v3", "--is-testnet", "-v", "info",
		"-i", host, "-p", port, "-s", filepath.Join(t.TempDir(), "no-socket"), "-c", cfg)
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-done
		}
		if t.Failed() {
			t.Logf("onionbalance output:\n%s", out)
		}
	})
	return out
}

// sharedSecrets are the files every front-end must hold the same: the
// receipt pepper, the vault key and the export signing key.
var sharedSecrets = []string{"pepper", filepath.Join("vault", "vault.key"), filepath.Join("signing", "secret.asc"), filepath.Join("signing", "public.asc")}

// copySecrets copies the shared secrets from one data directory to
// another, as an operator does before a new front-end's first start.
func copySecrets(t *testing.T, from, to string) {
	t.Helper()
	for _, f := range sharedSecrets {
		b, err := os.ReadFile(filepath.Join(from, f))
		if err != nil {
			t.Fatalf("shared secret: %v", err)
		}
		dst := filepath.Join(to, f)
		if err := os.MkdirAll(filepath.Dir(dst), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(dst, b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
}

// reachAgain waits until the master answers through a fresh Tor identity:
// NEWNYM empties the client's descriptor cache, so every try fetches the
// master's descriptor as Onionbalance last published it (tor takes a
// NEWNYM at most every 10 s).
func reachAgain(t *testing.T, n *testnet.Network, base, what string, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	start := time.Now()
	for i := 1; ; i++ {
		if err := n.NewIdentity(); err != nil {
			t.Fatal(err)
		}
		resp, err := n.HTTPClient(fmt.Sprintf("%s-%d", what, i), time.Minute).Get(base + "/")
		if err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == 200 {
				t.Logf("%s: master answered after %.0fs (attempt %d)", what, time.Since(start).Seconds(), i)
				return
			}
			err = fmt.Errorf("status %d", resp.StatusCode)
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: master %s not reachable within %v: %v", what, base, within, err)
		}
		t.Logf("%s: attempt %d: %v", what, i, err)
		time.Sleep(10 * time.Second)
	}
}

// followUp logs in with the receipt at base through its own circuits and
// returns the case page. Where Tor cannot reach the onion (a descriptor
// or an introduction point still naming a front-end that stopped), it
// tries again on new circuits for up to four minutes, as a reporter
// reloads the page; what the drop answers is checked at once.
func followUp(t *testing.T, n *testnet.Network, base, isolation, rc string) string {
	t.Helper()
	deadline := time.Now().Add(4 * time.Minute)
	for i := 1; ; i++ {
		hc := n.HTTPClient(fmt.Sprintf("%s-%d", isolation, i), 3*time.Minute)
		hc.Jar, _ = cookiejar.New(nil)
		req, _ := http.NewRequest(http.MethodPost, base+"/followup", strings.NewReader(url.Values{"receipt": {rc}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Sec-Fetch-Site", "same-origin")
		resp, err := hc.Do(req)
		if err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.Request.URL.Path != "/case" {
				t.Fatalf("follow-up at %s: landed on %s (%d):\n%s", base, resp.Request.URL.Path, resp.StatusCode, b)
			}
			return string(b)
		}
		if time.Now().After(deadline) {
			t.Fatalf("follow-up at %s: %v", base, err)
		}
		t.Logf("follow-up at %s: attempt %d: %v", base, i, err)
		if err := n.NewIdentity(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(10 * time.Second)
	}
}

// TestOnionbalanceTwoFrontEndsPostgresS3 runs two front-ends, each with
// its own tor and onion key, over one PostgreSQL and one S3 store
// (SeaweedFS), published under one master onion by a real Onionbalance on
// the private Tor network. A report sent through one front-end is followed
// up through the other (each reached at its own instance onion, so the
// path is sure); reporters reach the drop at the master's address; with
// one front-end stopped they still do, at the same address, and the
// receipt still opens the case.
func TestOnionbalanceTwoFrontEndsPostgresS3(t *testing.T) {
	obBin := needOnionbalance(t)
	pg := servers.StartPostgres(t)
	weed := servers.StartSeaweedFS(t)
	store := &StoreConfig{Postgres: pg.NewDatabase(t), S3: &S3Config{Endpoint: weed.Endpoint, Bucket: weed.NewBucket(t)}}
	n := obNet(t)
	dir := t.TempDir()

	// The master key, made by cleandrop on the "Onionbalance machine".
	keyPath := filepath.Join(dir, "ob", "master.key")
	os.MkdirAll(filepath.Dir(keyPath), 0o700)
	out, errOut, code := runCLI(t, "onionbalance-config", "--key", keyPath)
	if code != 0 {
		t.Fatalf("onionbalance-config without instances: exit %d\n%s%s", code, out, errOut)
	}
	master := strings.TrimSpace(out)
	if _, err := onion.CheckAddress(master); err != nil {
		t.Fatalf("onionbalance-config printed %q: %v", master, err)
	}

	officer := filepath.Join(dir, "officer.key")
	text, _, err := newIdentity(false)
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(officer, []byte(text), 0o600)
	pub := recipientOfKey(t, officer)

	dataA, dataB := filepath.Join(dir, "a"), filepath.Join(dir, "b")
	cfgA := writeFrontEnd(t, n, dataA, master, pub, store)
	cfgB := writeFrontEnd(t, n, dataB, master, pub, store)
	// A makes the drop's secrets at its first start; B gets copies
	// before its own (docs/operations.md, "Shared secrets").
	a := startFrontEnd(t, dataA, cfgA, master)
	copySecrets(t, dataA, dataB)
	b := startFrontEnd(t, dataB, cfgB, master)
	if a.instance == b.instance {
		t.Fatal("both front-ends have one onion key")
	}
	if fa, fb := a.cli(t, "signing-key"), b.cli(t, "signing-key"); fa != fb {
		t.Fatalf("the front-ends sign exports with different keys:\n%s\n%s", fa, fb)
	}
	// 'cleandrop check' connects to the stores, and tells the operator
	// each instance's address.
	if out, errOut, code := runCLI(t, "check", "--config", cfgB); code != 0 || !strings.Contains(out, "instance of "+master) || !strings.Contains(out, b.instance) {
		t.Fatalf("check: exit %d\n%s%s", code, out, errOut)
	}

	yaml, errOut, code := runCLI(t, "onionbalance-config", "--key", keyPath, "--instance", a.instance, "--instance", b.instance)
	if code != 0 || !strings.Contains(errOut, master) {
		t.Fatalf("onionbalance-config: exit %d\n%s%s", code, yaml, errOut)
	}
	obCfg := filepath.Join(dir, "ob", "config.yaml")
	os.WriteFile(obCfg, []byte(yaml), 0o600)
	startOnionbalance(t, obBin, n, obCfg)
	t0 := time.Now()

	// Through A, followed up through B: each at its own instance onion.
	instA, instB := "http://"+a.instance, "http://"+b.instance
	waitOnion(t, n, instA)
	r := onionReporter(t, n, instA, "reporter-a")
	rc, ref := r.report("acc", "sent through front-end A", []upload{{"evidence.txt", strings.NewReader("evidence through A")}})
	a.cli(t, "reply", "--case", ref, "--text-file", writeTemp(t, "Asked on front-end A: who signed?"))
	waitOnion(t, n, instB)
	if body := followUp(t, n, instB, "reporter-b", rc); !strings.Contains(body, "Asked on front-end A: who signed?") {
		t.Fatalf("front-end B's case page lacks A's question:\n%s", body)
	}
	if !strings.Contains(b.cli(t, "cases"), ref) {
		t.Fatalf("front-end B does not list %s", ref)
	}

	// The master's address, both up, then with A stopped.
	reachAgain(t, n, "http://"+master, "both up", 4*time.Minute)
	t.Logf("master reachable %.0fs after onionbalance started", time.Since(t0).Seconds())
	if body := followUp(t, n, "http://"+master, "reporter-master", rc); !strings.Contains(body, "who signed?") {
		t.Fatalf("the case through the master lacks the question:\n%s", body)
	}
	a.stop()
	reachAgain(t, n, "http://"+master, "a down", 4*time.Minute)
	if body := followUp(t, n, "http://"+master, "reporter-a-down", rc); !strings.Contains(body, "who signed?") {
		t.Fatalf("with A stopped, the case through the master lacks the question:\n%s", body)
	}
}
