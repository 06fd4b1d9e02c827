package servers

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// missing skips t, or fails it in CI, because a program is not there.
func missing(t testing.TB, format string, args ...any) {
	t.Helper()
	msg := fmt.Sprintf(format, args...)
	if os.Getenv("CI") != "" {
		t.Fatalf("%s; in CI make deps must install it", msg)
	}
	t.Skipf("%s; skipping (make deps installs it)", msg)
}

// freePort returns a port on 127.0.0.1 that nobody listens on now, and
// for which port+10000 is free too (SeaweedFS puts its gRPC there). Both
// lie below the kernel's range of ephemeral ports, from which every
// outgoing connection (and every listener on port 0) takes its port: a
// port in that range that is free when it is checked can be a client's a
// moment later, before the server binds it (SeaweedFS's volume gRPC port
// was, once in CI). The Tor test network takes its ports below 10000
// (onion/testnet.FreePorts), so the two never pick the same one.
func freePort(t testing.TB) int {
	t.Helper()
	lo, hi := 10000, ephemeralLow()-10000
	if hi-lo < 1000 { // an unusual range: take what there is above it
		lo, hi = 20000, 50000
	}
	for range 200 {
		p := lo + rand.IntN(hi-lo)
		if listenable(p) && listenable(p+10000) {
			return p
		}
	}
	t.Fatal("no free port pair on 127.0.0.1")
	return 0
}

// ephemeralLow is the first port of the kernel's ephemeral range (32768
// where it cannot be read).
func ephemeralLow() int {
	b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range")
	if err != nil {
		return 32768
	}
	f := strings.Fields(string(b))
	if len(f) != 2 {
		return 32768
	}
	n, err := strconv.Atoi(f[0])
	if err != nil || n < 1024 {
		return 32768
	}
	return n
}

var taken sync.Map // ports handed out in this process

func listenable(p int) bool {
	if _, dup := taken.LoadOrStore(p, true); dup {
		return false
	}
	l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(p)))
	if err != nil {
		return false
	}
	l.Close()
	return true
}

// process is a server started for a test, with its output kept for the
// test's log.
type process struct {
	name string
	cmd  *exec.Cmd
	out  *lockedBuffer
	done chan struct{}
	err  error
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// start starts cmd in its own process group.
func start(t testing.TB, name string, cmd *exec.Cmd) *process {
	t.Helper()
	p := &process{name: name, cmd: cmd, out: &lockedBuffer{}, done: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = p.out, p.out
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Setpgid = true
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	return p
}

func (p *process) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// stop sends sig to the process group, waits up to grace, then kills it.
func (p *process) stop(sig syscall.Signal, grace time.Duration) {
	if p.exited() {
		return
	}
	syscall.Kill(-p.cmd.Process.Pid, sig)
	select {
	case <-p.done:
	case <-time.After(grace):
		syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
		<-p.done
	}
}

// Kill stops the process at once, as a crash would.
func (p *process) kill() {
	if !p.exited() {
		syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
		<-p.done
	}
}

// waitFor calls ready until it returns nil, the process exits, or the
// timeout passes.
func (p *process) waitFor(t testing.TB, timeout time.Duration, ready func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	var err error
	for time.Now().Before(deadline) {
		if err = ready(); err == nil {
			return
		}
		if p.exited() {
			t.Fatalf("%s exited (%v) before it was ready; its output:\n%s", p.name, p.err, p.out)
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("%s not ready after %v (%v); its output:\n%s", p.name, timeout, err, p.out)
}
