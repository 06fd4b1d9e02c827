// Package testnet runs a private Tor network on 127.0.0.1 for tests: three
// directory authorities, three relays and one client with a SOCKS port. An
// onion service joins it with the lines from [Network.TorrcLines].
//
// Every process it starts dies with [Network.Close], and on Linux with the
// process that started it (Pdeathsig), so a failed test leaves no tor behind.
package testnet

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base32"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/textproto"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/cretz/bine/control"
)

const (
	defaultAuth = 3
	nRelay      = 3
)

// Network is a running private Tor network.
type Network struct {
	SocksAddr string // the client's SOCKS5 port, 127.0.0.1:PORT

	dir       string
	tor       string
	logf      func(string, ...any)
	authLines []string
	dirPorts  []int
	clientDir string
	ctlAddr   string

	mu    sync.Mutex
	nodes []*node
	ctl   *control.Conn
}

type node struct {
	name string
	dir  string
	cmd  *exec.Cmd
	done chan struct{}
}

// Options change the network from its defaults.
type Options struct {
	// VotingInterval is the authorities' voting interval; default 10 s.
	// A test network's onion time period is 24 of them, and Onionbalance
	// (--is-testnet) assumes an interval of 20 s when it blinds the
	// master's key: its test needs 20 s.
	VotingInterval time.Duration
	// Authorities is the number of directory authorities, which are the
	// network's only HSDirs; default 3. Onionbalance 0.2.2 loops forever
	// choosing the HSDirs of its descriptor's second replica when it sees
	// no more than 4 HSDirs (the first replica took them all): its test
	// needs more.
	Authorities int
}

// Start builds and starts the network in dir, waits for the first consensus
// listing every relay, then starts the client and waits for it to
// bootstrap. logf receives progress lines (t.Logf fits). On error the
// returned Network, when not nil, is already stopped; its DumpLogs shows why.
func Start(ctx context.Context, dir string, logf func(string, ...any)) (*Network, error) {
	return StartWith(ctx, dir, logf, Options{})
}

// StartWith is [Start] with options.
func StartWith(ctx context.Context, dir string, logf func(string, ...any), opts Options) (_ *Network, err error) {
	voting := 10
	if opts.VotingInterval > 0 {
		voting = int(opts.VotingInterval / time.Second)
	}
	nAuth := defaultAuth
	if opts.Authorities > 0 {
		nAuth = opts.Authorities
	}
	if logf == nil {
		logf = func(string, ...any) {}
	}
	t0 := time.Now()
	torPath, err := lookPath("tor", "/usr/sbin/tor", "/usr/bin/tor")
	if err != nil {
		return nil, err
	}
	gencert, err := lookPath("tor-gencert", "/usr/bin/tor-gencert", "/usr/sbin/tor-gencert")
	if err != nil {
		return nil, err
	}
	dir, err = filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	n := &Network{dir: dir, tor: torPath, logf: logf, clientDir: filepath.Join(dir, "client")}
	defer func() {
		if err != nil {
			n.Close()
		}
	}()
	fail := func(err error) (*Network, error) { return n, err }

	// Ports: an ORPort per node, a DirPort per authority, SOCKS and control
	// for the client.
	ports, err := FreePorts(nAuth + nRelay + nAuth + 2)
	if err != nil {
		return fail(err)
	}
	orPort := func(i int) int { return ports[i] }
	dirPort := func(i int) int { return ports[nAuth+nRelay+i] }
	socks, ctlPort := ports[len(ports)-2], ports[len(ports)-1]
	n.SocksAddr = net.JoinHostPort("127.0.0.1", strconv.Itoa(socks))
	n.ctlAddr = net.JoinHostPort("127.0.0.1", strconv.Itoa(ctlPort))
	for i := range nAuth {
		n.dirPorts = append(n.dirPorts, dirPort(i))
	}

	// Keys and fingerprints, all nodes at once.
	names := make([]string, nAuth+nRelay)
	fps := make([]string, nAuth+nRelay)
	v3ids := make([]string, nAuth)
	var wg sync.WaitGroup
	errs := make([]error, nAuth+nRelay)
	for i := range names {
		if i < nAuth {
			names[i] = fmt.Sprintf("auth%d", i)
		} else {
			names[i] = fmt.Sprintf("relay%d", i-nAuth)
		}
		d := filepath.Join(dir, names[i])
		wg.Go(func() {
			if err := os.MkdirAll(filepath.Join(d, "keys"), 0o700); err != nil {
				errs[i] = err
				return
			}
			fps[i], errs[i] = fingerprint(ctx, torPath, d)
			if errs[i] == nil && i < nAuth {
				v3ids[i], errs[i] = authorityKeys(ctx, gencert, d, dirPort(i))
			}
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return fail(err)
	}
	var auths []string
	for i := range nAuth {
		n.authLines = append(n.authLines, fmt.Sprintf("DirAuthority %s orport=%d no-v2 v3ident=%s 127.0.0.1:%d %s",
			names[i], orPort(i), v3ids[i], dirPort(i), fps[i]))
		auths = append(auths, fps[i])
	}
	// Every relay gets the same "measured" bandwidth: with their tiny
	// self-measured ones, one relay ends up guard and last hop and onion
	// circuits fail for tens of seconds.
	var bw strings.Builder
	fmt.Fprintf(&bw, "%d\n", time.Now().Unix())
	for _, fp := range fps {
		fmt.Fprintf(&bw, "node_id=$%s bw=1000\n", fp)
	}
	bwFile := filepath.Join(dir, "bwfile")
	if err := os.WriteFile(bwFile, []byte(bw.String()), 0o600); err != nil {
		return fail(err)
	}

	for i, name := range names {
		d := filepath.Join(dir, name)
		lines := append(n.common(name, d),
			"SocksPort 0",
			fmt.Sprintf("ORPort 127.0.0.1:%d", orPort(i)),
			"Address 127.0.0.1",
			"ExitRelay 0",
			"ExitPolicy reject *:*",
			"AssumeReachable 1",
		)
		if i < nAuth {
			lines = append(lines,
				fmt.Sprintf("DirPort 127.0.0.1:%d", dirPort(i)),
				"AuthoritativeDirectory 1",
				"V3AuthoritativeDirectory 1",
				fmt.Sprintf("ContactInfo %s@test.invalid", name),
				"TestingV3AuthInitialVotingInterval 10",
				"TestingV3AuthInitialVoteDelay 2",
				"TestingV3AuthInitialDistDelay 2",
				fmt.Sprintf("V3AuthVotingInterval %d", voting),
				"V3AuthVoteDelay 2",
				"V3AuthDistDelay 2",
				// Every relay Stable at once: onion circuits need Stable.
				"AuthDirVoteStableGuaranteeMinUptime 0",
				"AuthDirVoteStableGuaranteeMTBF 0",
				"V3BandwidthsFile "+bwFile,
				// Only the authorities are HSDirs: they hold a descriptor
				// the moment it is posted.
				"TestingDirAuthVoteHSDir "+strings.Join(auths, ","),
				"TestingDirAuthVoteHSDirIsStrict 1",
			)
		} else {
			// Relays are no directory caches: caches lag behind.
			lines = append(lines, "DirCache 0")
		}
		if err := n.startNode(name, d, lines); err != nil {
			return fail(err)
		}
	}
	logf("testnet: %d authorities and %d relays started in %.1fs", nAuth, nRelay, time.Since(t0).Seconds())

	// A client started before the first consensus backs off for ~20 s.
	if err := n.waitConsensus(ctx, nAuth+nRelay); err != nil {
		return fail(err)
	}
	logf("testnet: consensus with %d relays after %.1fs", nAuth+nRelay, time.Since(t0).Seconds())

	authDir := filepath.Join(n.clientDir, "onion_auth")
	if err := os.MkdirAll(authDir, 0o700); err != nil {
		return fail(err)
	}
	client := append(n.common("client", n.clientDir),
		fmt.Sprintf("SocksPort 127.0.0.1:%d ExtendedErrors IsolateSOCKSAuth", socks),
		fmt.Sprintf("ControlPort 127.0.0.1:%d", ctlPort),
		"CookieAuthentication 1",
		"ClientOnionAuthDir "+authDir,
	)
	if err := n.startNode("client", n.clientDir, client); err != nil {
		return fail(err)
	}
	if err := n.connectControl(ctx); err != nil {
		return fail(err)
	}
	if err := n.waitBootstrap(ctx); err != nil {
		return fail(err)
	}
	logf("testnet: client bootstrapped after %.1fs", time.Since(t0).Seconds())
	return n, nil
}

// TorrcLines are the lines an onion service's tor needs to join the
// network.
func (n *Network) TorrcLines() []string {
	return append(sharedLines(), n.authLines...)
}

func sharedLines() []string {
	return []string{
		"TestingTorNetwork 1",
		"PathsNeededToBuildCircuits 0.67",
		"TestingDirAuthVoteExit *",
		"TestingDirAuthVoteGuard *",
		"TestingMinExitFlagThreshold 0",
		"V3AuthNIntervalsValid 2",
	}
}

func (n *Network) common(name, dir string) []string {
	lines := append(sharedLines(),
		"DataDirectory "+dir,
		"Nickname "+name,
		"RunAsDaemon 0",
		"ShutdownWaitLength 0",
		"SafeLogging 0",
		"LogTimeGranularity 1",
		"Log notice file "+filepath.Join(dir, "notice.log"),
	)
	return append(lines, n.authLines...)
}

func (n *Network) startNode(name, dir string, lines []string) error {
	torrc := filepath.Join(dir, "torrc")
	if err := os.WriteFile(torrc, []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
		return err
	}
	out, err := os.OpenFile(filepath.Join(dir, "stdout.log"), os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	cmd := exec.Command(n.tor, "-f", torrc, "--hush",
		"--__OwningControllerProcess", strconv.Itoa(os.Getpid()))
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = sysProcAttr()
	if err := cmd.Start(); err != nil {
		out.Close()
		return fmt.Errorf("start %s: %w", name, err)
	}
	nd := &node{name: name, dir: dir, cmd: cmd, done: make(chan struct{})}
	go func() {
		cmd.Wait()
		out.Close()
		close(nd.done)
	}()
	n.mu.Lock()
	n.nodes = append(n.nodes, nd)
	n.mu.Unlock()
	return nil
}

// waitConsensus waits until every authority serves a consensus listing
// want relays.
func (n *Network) waitConsensus(ctx context.Context, want int) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	hc := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{Proxy: nil}}
	ready := make([]bool, len(n.dirPorts))
	for {
		all := true
		for i, p := range n.dirPorts {
			if !ready[i] {
				ready[i] = countRelays(hc, p) >= want
			}
			all = all && ready[i]
		}
		if all {
			return nil
		}
		if err := n.sleep(ctx, 500*time.Millisecond); err != nil {
			return fmt.Errorf("testnet: no consensus with %d relays: %w", want, err)
		}
	}
}

func countRelays(hc *http.Client, dirPort int) int {
	req, err := http.NewRequest("GET", fmt.Sprintf("http://127.0.0.1:%d/tor/status-vote/current/consensus-microdesc", dirPort), nil)
	if err != nil {
		return 0
	}
	// Go asks for gzip by default; tor answers with a zlib stream Go does not
	// undo.
	req.Header.Set("Accept-Encoding", "identity")
	resp, err := hc.Do(req)
	if err != nil {
		return 0
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 0
	}
	c := 0
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if strings.HasPrefix(sc.Text(), "r ") {
			c++
		}
	}
	return c
}

// sleep waits d, failing early when ctx ends or a tor exits.
func (n *Network) sleep(ctx context.Context, d time.Duration) error {
	n.mu.Lock()
	nodes := append([]*node(nil), n.nodes...)
	n.mu.Unlock()
	for _, nd := range nodes {
		select {
		case <-nd.done:
			return fmt.Errorf("%s exited (see %s)", nd.name, filepath.Join(nd.dir, "notice.log"))
		default:
		}
	}
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(d):
		return nil
	}
}

func (n *Network) connectControl(ctx context.Context) error {
	var err error
	for range 50 {
		var tc *textproto.Conn
		if tc, err = textproto.Dial("tcp", n.ctlAddr); err == nil {
			c := control.NewConn(tc)
			if err = c.Authenticate(""); err == nil {
				n.mu.Lock()
				n.ctl = c
				n.mu.Unlock()
				return nil
			}
			tc.Close()
		}
		if serr := n.sleep(ctx, 100*time.Millisecond); serr != nil {
			return fmt.Errorf("testnet: client control port: %w", serr)
		}
	}
	return fmt.Errorf("testnet: client control port: %w", err)
}

func (n *Network) waitBootstrap(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	for {
		kv, err := n.control().GetInfo("status/bootstrap-phase")
		if err != nil {
			return fmt.Errorf("testnet: client bootstrap: %w", err)
		}
		if len(kv) == 1 && strings.Contains(kv[0].Val, "PROGRESS=100") {
			return nil
		}
		if err := n.sleep(ctx, 200*time.Millisecond); err != nil {
			return fmt.Errorf("testnet: client bootstrap: %w", err)
		}
	}
}

func (n *Network) control() *control.Conn {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.ctl
}

// AddClientAuth gives the client the private x25519 key (base32, as
// onion.NewClientKey returns it) for the onion, over its control port
// (ONION_CLIENT_AUTH_ADD, Flags=Permanent, so the key is also written to
// the client's ClientOnionAuthDir).
func (n *Network) AddClientAuth(onion, private string) error {
	key, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(strings.ToUpper(private))
	if err != nil || len(key) != 32 {
		return errors.New("testnet: private key is not 32 bytes of base32")
	}
	id := strings.TrimSuffix(onion, ".onion")
	_, err = n.control().SendRequest("ONION_CLIENT_AUTH_ADD %s x25519:%s Flags=Permanent", id, base64.StdEncoding.EncodeToString(key))
	// 251: key replaced an older one; 252: a cached descriptor now decrypts.
	var te *textproto.Error
	if errors.As(err, &te) && (te.Code == 251 || te.Code == 252) {
		err = nil
	}
	if err != nil {
		return fmt.Errorf("testnet: add client auth: %w", err)
	}
	return nil
}

// ControlAddr is the client's control port (127.0.0.1:PORT, cookie
// authentication), for a controller such as Onionbalance.
func (n *Network) ControlAddr() string { return n.ctlAddr }

// NewIdentity sends NEWNYM to the client: new circuits for new streams and
// its onion descriptor cache emptied. Tor delays a second NEWNYM within 10 s.
func (n *Network) NewIdentity() error {
	return n.control().Signal("NEWNYM")
}

// Close stops every tor the network started and waits for them to exit.
func (n *Network) Close() error {
	n.mu.Lock()
	nodes := n.nodes
	ctl := n.ctl
	n.ctl = nil
	n.mu.Unlock()
	if ctl != nil {
		ctl.Close()
	}
	for _, nd := range nodes {
		if nd.cmd.Process != nil {
			nd.cmd.Process.Signal(os.Interrupt) // SIGINT: a relay exits after ShutdownWaitLength, 0 here
		}
	}
	// One deadline for all: once it has passed, every node still running
	// is killed at once. (Waiting on the deadline's channel again for
	// the next slow node would wait forever: it fires once.)
	deadline := time.NewTimer(5 * time.Second)
	defer deadline.Stop()
	expired := false
	var errs []error
	for _, nd := range nodes {
		if !expired {
			select {
			case <-nd.done:
				continue
			case <-deadline.C:
				expired = true
			}
		}
		select {
		case <-nd.done:
		default:
			nd.cmd.Process.Kill()
			<-nd.done
			errs = append(errs, fmt.Errorf("%s killed", nd.name))
		}
	}
	return errors.Join(errs...)
}

// DumpLogs writes every tor's logs to w.
func (n *Network) DumpLogs(w io.Writer) {
	n.mu.Lock()
	nodes := append([]*node(nil), n.nodes...)
	n.mu.Unlock()
	for _, nd := range nodes {
		for _, f := range []string{"notice.log", "stdout.log"} {
			b, err := os.ReadFile(filepath.Join(nd.dir, f))
			if err != nil || len(bytes.TrimSpace(b)) == 0 {
				continue
			}
			fmt.Fprintf(w, "===== %s/%s =====\n%s\n", nd.name, f, b)
		}
	}
}

func lookPath(names ...string) (string, error) {
	for _, n := range names {
		if p, err := exec.LookPath(n); err == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("testnet: %s not found", names[0])
}

// fingerprint makes the relay identity key in dir and returns its
// fingerprint (40 hex digits).
func fingerprint(ctx context.Context, torPath, dir string) (string, error) {
	cmd := exec.CommandContext(ctx, torPath, "--ignore-missing-torrc", "-f", "/dev/null",
		"--orport", "1", "--datadirectory", dir, "--list-fingerprint")
	cmd.SysProcAttr = sysProcAttr()
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("tor --list-fingerprint: %w: %s", err, out)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	f := strings.Fields(lines[len(lines)-1])
	if len(f) < 2 {
		return "", fmt.Errorf("tor --list-fingerprint: unexpected output %q", out)
	}
	fp := strings.Join(f[1:], "")
	if len(fp) != 40 {
		return "", fmt.Errorf("tor --list-fingerprint: unexpected fingerprint %q", fp)
	}
	return fp, nil
}

// authorityKeys makes an authority's v3 identity, signing key and
// certificate in dir/keys (empty passphrase on stdin) and returns the v3
// identity fingerprint.
func authorityKeys(ctx context.Context, gencert, dir string, dirPort int) (string, error) {
	keys := filepath.Join(dir, "keys")
	cmd := exec.CommandContext(ctx, gencert, "--create-identity-key", "--passphrase-fd", "0",
		"-i", filepath.Join(keys, "authority_identity_key"),
		"-s", filepath.Join(keys, "authority_signing_key"),
		"-c", filepath.Join(keys, "authority_certificate"),
		"-m", "12", "-a", fmt.Sprintf("127.0.0.1:%d", dirPort))
	cmd.Stdin = strings.NewReader("\n")
	cmd.SysProcAttr = sysProcAttr()
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("tor-gencert: %w: %s", err, out)
	}
	cert, err := os.ReadFile(filepath.Join(keys, "authority_certificate"))
	if err != nil {
		return "", err
	}
	for line := range strings.SplitSeq(string(cert), "\n") {
		if v, ok := strings.CutPrefix(line, "fingerprint "); ok {
			return strings.TrimSpace(v), nil
		}
	}
	return "", errors.New("tor-gencert: no fingerprint in certificate")
}
