package onion_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"cleandrop/onion"
	"cleandrop/onion/testnet"
)

// helperEnv makes the test binary run helperMain instead of the tests.
const helperEnv = "CLEANDROP_ONION_HELPER_DIR"

var (
	noTor string // why the tests that need tor skip; empty when tor is here

	netDone = make(chan struct{})
	tnet    *testnet.Network
	netErr  error
	netLogs bytes.Buffer // the harness' progress lines
	netMu   sync.Mutex
)

func TestMain(m *testing.M) {
	if dir := os.Getenv(helperEnv); dir != "" {
		helperMain(dir)
		return
	}
	flag.Parse()
	switch {
	case onlyFuzzing():
		// No test runs: a fuzz worker, or go test -run '^$' -fuzz (make
		// fuzz, make fuzz-short). The private network would only cost
		// every process its start and its end.
		noTor = "only fuzzing"
	case !onion.Available(""):
		noTor = "tor is not installed (apt install tor)"
		fmt.Println("onion tests: skipping the tests that run tor:", noTor)
	}
	var netDir string
	if noTor == "" {
		// One private network for the whole run, started now so it
		// bootstraps while the offline tests run.
		var err error
		if netDir, err = os.MkdirTemp("", "cleandrop-testnet-"); err != nil {
			fmt.Println(err)
			os.Exit(1)
		}
		go startNetwork(netDir)
	}
	code := m.Run()
	if noTor == "" {
		<-netDone
		if tnet != nil {
			tnet.Close()
		}
		os.RemoveAll(netDir)
	}
	os.Exit(code)
}

// onlyFuzzing reports whether this test process runs no test, only a fuzz
// target: it is a fuzzing worker, or it was started with -run '^$' -fuzz.
func onlyFuzzing() bool {
	if w := flag.Lookup("test.fuzzworker"); w != nil && w.Value.String() == "true" {
		return true
	}
	run, fuzz := flag.Lookup("test.run"), flag.Lookup("test.fuzz")
	return run != nil && fuzz != nil && run.Value.String() == "^$" && fuzz.Value.String() != ""
}

func startNetwork(dir string) {
	defer close(netDone)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	t0 := time.Now()
	tnet, netErr = testnet.Start(ctx, dir, func(f string, a ...any) {
		netMu.Lock()
		defer netMu.Unlock()
		fmt.Fprintf(&netLogs, f+"\n", a...)
	})
	netMu.Lock()
	fmt.Fprintf(&netLogs, "testnet: ready in %.1fs (err=%v)\n", time.Since(t0).Seconds(), netErr)
	netMu.Unlock()
}

// network waits for the shared private network.
func network(t *testing.T) *testnet.Network {
	t.Helper()
	needTor(t)
	<-netDone
	netMu.Lock()
	t.Log(strings.TrimSpace(netLogs.String()))
	netMu.Unlock()
	if netErr != nil {
		if tnet != nil {
			tnet.DumpLogs(os.Stderr)
			tnet = nil // stopped already
		}
		t.Fatalf("private tor network: %v", netErr)
	}
	t.Cleanup(func() {
		if t.Failed() {
			tnet.DumpLogs(os.Stderr)
		}
	})
	return tnet
}

func needTor(t *testing.T) {
	t.Helper()
	if noTor != "" {
		t.Skip(noTor)
	}
}

// serve runs a trivial page on ln until the test ends. tor starts every
// connection with a PROXY line (HiddenServiceExportCircuitID); the drop
// reads it in drop/web, which onion must not import, so the test drops it.
func serve(t *testing.T, ln net.Listener, body string) {
	t.Helper()
	if ln == nil {
		return
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, body)
	}), ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(proxyStripper{ln})
	t.Cleanup(func() { srv.Close() })
}

// fetch gets http://addr/ through the test network on its own circuits.
func fetch(n *testnet.Network, addr, isolation string, timeout time.Duration) (string, error) {
	resp, err := n.HTTPClient(isolation, timeout).Get("http://" + addr + "/")
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return string(b), err
}

// fetchUntil retries fetch until ok says the outcome is final or the
// deadline passes; it returns the last outcome and the attempts made.
func fetchUntil(t *testing.T, n *testnet.Network, addr, iso string, within time.Duration, ok func(string, error) bool) (string, error) {
	t.Helper()
	deadline := time.Now().Add(within)
	for i := 1; ; i++ {
		body, err := fetch(n, addr, fmt.Sprintf("%s-%d", iso, i), 30*time.Second)
		if ok(body, err) || time.Now().After(deadline) {
			return body, err
		}
		t.Logf("%s attempt %d: %v", iso, i, err)
		time.Sleep(time.Second)
	}
}

func socksCode(err error) byte {
	var se *testnet.SOCKSError
	if errors.As(err, &se) {
		return se.Code
	}
	return 0
}

// TestPublish runs the service on the private network: the source onion
// serves its page, the officer onion needs a client key, PoW is on, and
// SetClients adds and revokes officers while tor runs.
func TestPublish(t *testing.T) {
	n := network(t)
	metrics := freePort(t)
	var logs bytes.Buffer
	var logMu sync.Mutex
	logger := slog.New(slog.NewTextHandler(syncWriter{&logs, &logMu}, nil))
	alicePub, alicePriv, err := onion.NewClientKey()
	if err != nil {
		t.Fatal(err)
	}
	bobPub, bobPriv, err := onion.NewClientKey()
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Now()
	dir, infoLog := t.TempDir(), filepath.Join(t.TempDir(), "info.log")
	t.Cleanup(func() {
		if t.Failed() {
			for _, f := range []string{filepath.Join(dir, "tor.log"), infoLog} {
				b, _ := os.ReadFile(f)
				fmt.Fprintf(os.Stderr, "===== onion service %s =====\n%s\n", filepath.Base(f), b)
			}
		}
	})
	s, err := onion.Start(t.Context(), onion.Config{
		Dir:     dir,
		Clients: []onion.ClientKey{{Name: "alice", Public: alicePub}, {Name: "bob", Public: bobPub}},
		ExtraTorrc: append(n.TorrcLines(),
			fmt.Sprintf("MetricsPort 127.0.0.1:%d", metrics),
			"MetricsPortPolicy accept 127.0.0.1",
			"Log info file "+infoLog),
		PublishTimeout: 90 * time.Second,
		Logger:         logger,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	t.Logf("both onions published in %.1fs", time.Since(t0).Seconds())
	serve(t, s.Source, "source page")
	serve(t, s.Desk, "desk page")

	t.Run("source", func(t *testing.T) {
		t0 := time.Now()
		body, err := fetchUntil(t, n, s.SourceAddr, "source", 60*time.Second, func(_ string, err error) bool { return err == nil })
		if err != nil || body != "source page" {
			t.Fatalf("source onion: body %q, err %v", body, err)
		}
		t.Logf("source onion fetched in %.1fs", time.Since(t0).Seconds())
	})

	t.Run("pow", func(t *testing.T) {
		resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/metrics", metrics))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var pow []string
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			if strings.HasPrefix(sc.Text(), "tor_hs_pow_suggested_effort") {
				pow = append(pow, sc.Text())
			}
		}
		t.Logf("metrics: %q", pow)
		for _, addr := range []string{s.SourceAddr, s.DeskAddr} {
			found := false
			for _, line := range pow {
				found = found || strings.Contains(line, strings.TrimSuffix(addr, ".onion"))
			}
			if !found {
				t.Errorf("no tor_hs_pow_suggested_effort for %s: PoW defence off", addr)
			}
		}
	})

	t.Run("desk without key", func(t *testing.T) {
		_, err := fetchUntil(t, n, s.DeskAddr, "nokey", 60*time.Second, func(_ string, err error) bool {
			return err == nil || socksCode(err) == testnet.CodeMissingAuth
		})
		if socksCode(err) != testnet.CodeMissingAuth {
			t.Fatalf("officer onion without a client key: want %q, got %v", "client authorization missing", err)
		}
	})

	t.Run("desk with key", func(t *testing.T) {
		if err := n.AddClientAuth(s.DeskAddr, alicePriv); err != nil {
			t.Fatal(err)
		}
		body, err := fetchUntil(t, n, s.DeskAddr, "alice", 60*time.Second, func(_ string, err error) bool { return err == nil })
		if err != nil || body != "desk page" {
			t.Fatalf("officer onion with alice's key: body %q, err %v", body, err)
		}
	})

	authErr := func(err error) bool {
		c := socksCode(err)
		return c == testnet.CodeMissingAuth || c == testnet.CodeWrongAuth
	}

	t.Run("revoke", func(t *testing.T) {
		t0 := time.Now()
		if err := s.SetClients(t.Context(), []onion.ClientKey{{Name: "bob", Public: bobPub}}); err != nil {
			t.Fatal(err)
		}
		t.Logf("tor restarted and descriptor without alice published in %.1fs", time.Since(t0).Seconds())
		// The client still holds the descriptor alice's key opened; after the
		// restart its introduction points lead nowhere: that must not get
		// her in. Tor may take longer to give up on them than a client
		// waits (CI saw four 30 s attempts time out under load), so this
		// asks only that the attempt fail.
		if body, err := fetch(n, s.DeskAddr, "alice-stale", 30*time.Second); err == nil {
			t.Fatalf("officer onion reachable through the stale descriptor with alice's revoked key: %q", body)
		} else {
			t.Logf("alice through the stale descriptor: %v", err)
		}
		// With the descriptor cache emptied (what Tor Browser's New
		// Identity does), the client fetches the new descriptor, which
		// does not open with alice's key: tor answers with a client
		// authorization error.
		if err := n.NewIdentity(); err != nil {
			t.Fatal(err)
		}
		_, err := fetchUntil(t, n, s.DeskAddr, "alice-revoked", 120*time.Second, func(_ string, err error) bool {
			return err == nil || authErr(err)
		})
		if err == nil {
			t.Fatal("officer onion still reachable with alice's revoked key")
		}
		if !authErr(err) {
			t.Fatalf("officer onion with alice's revoked key: want a client authorization error, got %v", err)
		}
		t.Logf("alice after revocation: %v", err)
		// bob, still authorized, gets in.
		if err := n.AddClientAuth(s.DeskAddr, bobPriv); err != nil {
			t.Fatal(err)
		}
		body, err := fetchUntil(t, n, s.DeskAddr, "bob", 60*time.Second, func(_ string, err error) bool { return err == nil })
		if err != nil || body != "desk page" {
			t.Fatalf("officer onion with bob's key: body %q, err %v", body, err)
		}
	})

	t.Run("add", func(t *testing.T) {
		carolPub, carolPriv, err := onion.NewClientKey()
		if err != nil {
			t.Fatal(err)
		}
		t0 := time.Now()
		if err := s.SetClients(t.Context(), []onion.ClientKey{{Name: "bob", Public: bobPub}, {Name: "carol", Public: carolPub}}); err != nil {
			t.Fatal(err)
		}
		t.Logf("tor reloaded and descriptor with carol published in %.1fs", time.Since(t0).Seconds())
		if err := n.AddClientAuth(s.DeskAddr, carolPriv); err != nil {
			t.Fatal(err)
		}
		// Drop the cached descriptor so carol's key must open the new one.
		if err := n.NewIdentity(); err != nil {
			t.Fatal(err)
		}
		body, err := fetchUntil(t, n, s.DeskAddr, "carol", 60*time.Second, func(_ string, err error) bool { return err == nil })
		if err != nil || body != "desk page" {
			t.Fatalf("officer onion with carol's key: body %q, err %v", body, err)
		}
	})

	t.Run("revoke all", func(t *testing.T) {
		if err := s.SetClients(t.Context(), nil); err != nil {
			t.Fatal(err)
		}
		torrc, err := os.ReadFile(filepath.Join(dir, "torrc"))
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(torrc), "hs/desk") {
			t.Fatal("officer onion still in the torrc with no client")
		}
		body, err := fetch(n, s.DeskAddr, "after-revoke-all", 15*time.Second)
		if err == nil {
			t.Fatalf("officer onion reachable with no client authorized: %q", body)
		}
		t.Logf("officer onion with no client: %v", err)
		if body, err := fetch(n, s.SourceAddr, "source-after", 30*time.Second); err != nil || body != "source page" {
			t.Fatalf("source onion after the officer onion went: %q, %v", body, err)
		}
	})

	t.Run("logs", func(t *testing.T) {
		logMu.Lock()
		out := logs.String()
		logMu.Unlock()
		t.Logf("component log:\n%s", out)
		for _, secret := range []string{onionID(s.SourceAddr), onionID(s.DeskAddr), "alice", "bob", alicePub, bobPub} {
			if strings.Contains(out, secret) {
				t.Errorf("log output contains %q", secret)
			}
		}
	})
}

func onionID(a string) string { return strings.TrimSuffix(a, ".onion") }

type syncWriter struct {
	w  io.Writer
	mu *sync.Mutex
}

func (w syncWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.w.Write(p)
}

func freePort(t *testing.T) int {
	ports, err := testnet.FreePorts(1)
	if err != nil {
		t.Fatal(err)
	}
	return ports[0]
}

// TestRestart needs no network: tor offline loads the keys and writes the
// addresses it derives, which Start checks against ours.
func TestRestart(t *testing.T) {
	needTor(t)
	pub, _, err := onion.NewClientKey()
	if err != nil {
		t.Fatal(err)
	}
	clients := []onion.ClientKey{{Name: "officer-1", Public: pub}}
	start := func(dir string, clients []onion.ClientKey) onion.Addrs {
		t.Helper()
		t0 := time.Now()
		s, err := onion.Start(t.Context(), onion.Config{Dir: dir, Clients: clients, Offline: true})
		if err != nil {
			t.Fatal(err)
		}
		started := time.Since(t0)
		t1 := time.Now()
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		t.Logf("offline start %v, close %v", started.Round(time.Millisecond), time.Since(t1).Round(time.Millisecond))
		if (s.Desk == nil) != (s.DeskAddr == "") {
			t.Fatalf("Desk %v but DeskAddr %q", s.Desk, s.DeskAddr)
		}
		return onion.Addrs{Source: s.SourceAddr, Desk: s.DeskAddr}
	}
	dir := t.TempDir()
	if a, err := onion.Addresses(dir); err != nil || a != (onion.Addrs{}) {
		t.Fatalf("Addresses of an empty dir: %v, %v", a, err)
	}
	first := start(dir, clients)
	if !strings.HasSuffix(first.Source, ".onion") || len(first.Source) != 62 || first.Desk == "" || first.Desk == first.Source {
		t.Fatalf("addresses %+v", first)
	}
	t.Run("same dir", func(t *testing.T) {
		if again := start(dir, clients); again != first {
			t.Fatalf("restart changed the addresses: %+v, then %+v", first, again)
		}
		if a, err := onion.Addresses(dir); err != nil || a != first {
			t.Fatalf("Addresses = %+v, %v; want %+v", a, err, first)
		}
	})
	t.Run("fresh dir", func(t *testing.T) {
		other := start(t.TempDir(), clients)
		if other.Source == first.Source || other.Desk == first.Desk {
			t.Fatalf("a fresh dir reused an address: %+v and %+v", first, other)
		}
	})
	t.Run("no clients", func(t *testing.T) {
		a := start(dir, nil)
		if a.Source != first.Source || a.Desk != "" {
			t.Fatalf("without clients: %+v", a)
		}
		torrc, err := os.ReadFile(filepath.Join(dir, "torrc"))
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(torrc), "hs/desk") {
			t.Fatalf("officer onion in the torrc without clients:\n%s", torrc)
		}
		// The address stays known (for making officers' keys) and comes
		// back with the first client.
		if a, _ := onion.Addresses(dir); a != first {
			t.Fatalf("Addresses = %+v, want %+v", a, first)
		}
	})
	t.Run("modes", func(t *testing.T) {
		for _, c := range []struct {
			path string
			mode os.FileMode
		}{
			{"", 0o700}, {"tor", 0o700}, {"hs/source", 0o700}, {"hs/desk", 0o700},
			{"source.key", 0o600}, {"desk.key", 0o600},
			{"hs/source/hs_ed25519_secret_key", 0o600}, {"hs/desk/hs_ed25519_secret_key", 0o600},
			{"hs/desk/authorized_clients", 0o700},
		} {
			fi, err := os.Stat(filepath.Join(dir, c.path))
			if err != nil {
				t.Error(err)
				continue
			}
			if fi.Mode().Perm() != c.mode {
				t.Errorf("%s: mode %v, want %v", c.path, fi.Mode().Perm(), c.mode)
			}
		}
	})
	t.Run("locked", func(t *testing.T) {
		s, err := onion.Start(t.Context(), onion.Config{Dir: dir, Offline: true})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		if s2, err := onion.Start(t.Context(), onion.Config{Dir: dir, Offline: true}); err == nil {
			s2.Close()
			t.Fatal("two services started on one dir")
		}
	})
}

// TestSetClientsOffline checks the rules of SetClients without a network.
func TestSetClientsOffline(t *testing.T) {
	needTor(t)
	pub, _, err := onion.NewClientKey()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	s, err := onion.Start(t.Context(), onion.Config{Dir: dir, Offline: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.SetClients(t.Context(), []onion.ClientKey{{Name: "a", Public: pub}}); !errors.Is(err, onion.ErrDeskOff) {
		t.Fatalf("SetClients on a service started without clients: %v, want ErrDeskOff", err)
	}
	s.Close()

	s, err = onion.Start(t.Context(), onion.Config{Dir: dir, Offline: true, Clients: []onion.ClientKey{{Name: "a", Public: pub}}})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ac := filepath.Join(dir, "hs", "desk", "authorized_clients")
	for _, c := range []struct {
		name    string
		clients []onion.ClientKey
		files   []string
		wantErr bool
	}{
		{"add", []onion.ClientKey{{"a", pub}, {"b", pub}}, []string{"a.auth", "b.auth"}, false},
		{"revoke", []onion.ClientKey{{"b", pub}}, []string{"b.auth"}, false},
		{"bad name", []onion.ClientKey{{"../x", pub}}, []string{"b.auth"}, true},
		{"bad key", []onion.ClientKey{{"c", "not-a-key"}}, []string{"b.auth"}, true},
		{"twice", []onion.ClientKey{{"c", pub}, {"c", pub}}, []string{"b.auth"}, true},
		{"none", nil, nil, false},
		{"back", []onion.ClientKey{{"a", pub}}, []string{"a.auth"}, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			err := s.SetClients(t.Context(), c.clients)
			if (err != nil) != c.wantErr {
				t.Fatalf("err = %v, want error %v", err, c.wantErr)
			}
			ents, _ := os.ReadDir(ac)
			var files []string
			for _, e := range ents {
				files = append(files, e.Name())
			}
			if strings.Join(files, ",") != strings.Join(c.files, ",") {
				t.Fatalf("authorized_clients holds %v, want %v", files, c.files)
			}
			torrc, _ := os.ReadFile(filepath.Join(dir, "torrc"))
			if inTorrc := strings.Contains(string(torrc), "hs/desk"); inTorrc != (len(c.files) > 0) {
				t.Fatalf("officer onion in torrc: %v with %d clients", inTorrc, len(c.files))
			}
			if b, err := os.ReadFile(filepath.Join(ac, "a.auth")); err == nil && string(b) != "descriptor:x25519:"+pub+"\n" {
				t.Fatalf("a.auth = %q", b)
			}
		})
	}
}

// TestKilledOwner: a process that runs tor through Start and dies by
// SIGKILL leaves no tor behind.
func TestKilledOwner(t *testing.T) {
	needTor(t)
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), helperEnv+"="+t.TempDir())
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "ready") {
		t.Fatalf("helper: %q, %v", line, err)
	}
	torPID := childPID(t, cmd.Process.Pid)
	if !alive(torPID) {
		t.Fatalf("tor (pid %d) not running under the helper", torPID)
	}
	t0 := time.Now()
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()
	for alive(torPID) {
		if time.Since(t0) > 5*time.Second {
			syscall.Kill(torPID, syscall.SIGKILL)
			t.Fatalf("tor (pid %d) still running 5s after its owner was killed", torPID)
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Logf("tor (pid %d) gone %v after its owner was killed", torPID, time.Since(t0).Round(time.Millisecond))
}

// helperMain starts the service offline, says "ready" and waits to be
// killed.
func helperMain(dir string) {
	s, err := onion.Start(context.Background(), onion.Config{Dir: dir, Offline: true})
	if err != nil {
		fmt.Fprintln(os.Stderr, "helper:", err)
		os.Exit(1)
	}
	_ = s
	fmt.Println("ready")
	select {}
}

// childPID is the one child process of pid.
func childPID(t *testing.T, pid int) int {
	t.Helper()
	tasks, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/children", pid))
	var kids []int
	for _, f := range tasks {
		b, _ := os.ReadFile(f)
		for _, s := range strings.Fields(string(b)) {
			if k, err := strconv.Atoi(s); err == nil {
				kids = append(kids, k)
			}
		}
	}
	if len(kids) != 1 {
		t.Fatalf("helper %d has children %v, want one tor", pid, kids)
	}
	comm, _ := os.ReadFile(fmt.Sprintf("/proc/%d/comm", kids[0]))
	if strings.TrimSpace(string(comm)) != "tor" {
		t.Fatalf("helper's child %d is %q, not tor", kids[0], comm)
	}
	return kids[0]
}

// alive reports whether pid runs (a zombie waiting for its reaper is dead).
func alive(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return i < 0 || i+2 >= len(s) || (s[i+2] != 'Z' && s[i+2] != 'X')
}

// proxyStripper hands out connections without their first line, which
// must be tor's PROXY line.
type proxyStripper struct{ net.Listener }

func (l proxyStripper) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &strippedConn{Conn: c, br: bufio.NewReader(c)}, nil
}

type strippedConn struct {
	net.Conn
	br   *bufio.Reader
	once sync.Once
	err  error
}

func (c *strippedConn) Read(p []byte) (int, error) {
	c.once.Do(func() {
		line, err := c.br.ReadString('\n')
		if err == nil && !strings.HasPrefix(line, "PROXY ") {
			err = fmt.Errorf("first line %q is not a PROXY line", line)
		}
		c.err = err
	})
	if c.err != nil {
		return 0, c.err
	}
	return c.br.Read(p)
}

// TestOnionbalanceInstanceOffline starts tor with the source onion as an
// Onionbalance instance: tor accepts the configuration and reads the
// master from ob_config; a restart without a master removes both, and a
// malformed master or the front-end's own address is refused.
func TestOnionbalanceInstanceOffline(t *testing.T) {
	needTor(t)
	_, master, err := onion.NewMasterKey()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	s, err := onion.Start(t.Context(), onion.Config{Dir: dir, Offline: true, OnionbalanceMaster: strings.ToUpper(master)})
	if err != nil {
		t.Fatal(err)
	}
	own := s.SourceAddr
	torrc, _ := os.ReadFile(filepath.Join(dir, "torrc"))
	obc, _ := os.ReadFile(filepath.Join(dir, "hs", "source", "ob_config"))
	s.Close()
	if !strings.Contains(string(torrc), "HiddenServiceOnionbalanceInstance 1\n") {
		t.Fatalf("torrc has no instance line:\n%s", torrc)
	}
	if string(obc) != "MasterOnionAddress "+master+"\n" {
		t.Fatalf("ob_config = %q", obc)
	}
	if log, _ := os.ReadFile(filepath.Join(dir, "tor.log")); !strings.Contains(string(log), "MasterOnionAddress "+master+" registered") {
		t.Fatalf("tor did not register the master:\n%s", log)
	}

	s, err = onion.Start(t.Context(), onion.Config{Dir: dir, Offline: true})
	if err != nil {
		t.Fatal(err)
	}
	torrc, _ = os.ReadFile(filepath.Join(dir, "torrc"))
	s.Close()
	if strings.Contains(string(torrc), "HiddenServiceOnionbalanceInstance") {
		t.Fatalf("instance line left in the torrc without a master:\n%s", torrc)
	}
	if _, err := os.Stat(filepath.Join(dir, "hs", "source", "ob_config")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("ob_config left without a master: %v", err)
	}

	typo := master[:20] + "a" + master[21:]
	if master[20] == 'a' {
		typo = master[:20] + "b" + master[21:]
	}
	for _, bad := range []string{typo, own} {
		if s, err := onion.Start(t.Context(), onion.Config{Dir: dir, Offline: true, OnionbalanceMaster: bad}); err == nil {
			s.Close()
			t.Fatalf("Start took master %q", bad)
		}
	}
}
