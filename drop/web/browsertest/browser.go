package browsertest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"time"
)

// DefaultBinary is where Debian's chromium package installs its launcher.
const DefaultBinary = "/usr/bin/chromium"

// DefaultTimeout bounds each [Browser] method when [Options.Timeout] is zero.
const DefaultTimeout = 30 * time.Second

// Options configure [New].
type Options struct {
	// Binary is the chromium executable. Empty means [Available]'s answer.
	Binary string
	// Proxy, when set (e.g. "socks5://127.0.0.1:9050"), carries every
	// request, and host names are not resolved locally, so .onion names
	// reach the proxy as names.
	Proxy string
	// Dir is the parent of the fresh user-data-dir (e.g. t.TempDir()).
	// Empty means the system temporary directory. The profile is removed
	// by Close.
	Dir string
	// Timeout bounds each method call; zero means DefaultTimeout.
	Timeout time.Duration

	// Checker leaves JavaScript on, for a checker that the test injects
	// through DevTools and that needs timers, which Chromium stops with
	// page scripts off (axe-core, see [Browser.Evaluate]). The pages still
	// must carry no script of their own: a caller setting Checker checks
	// that itself (the reporter and desk CSPs forbid scripts anyway).
	Checker bool

	// scriptsOn leaves page JavaScript on. Only this package's tests set
	// it, to show that their checks for script effects can fail.
	scriptsOn bool
}

// Browser is one headless chromium with JavaScript disabled for pages,
// driven over DevTools through one tab. Its methods are not meant to be
// called concurrently.
type Browser struct {
	ctx     context.Context
	timeout time.Duration
	cmd     *exec.Cmd
	profile string
	conn    *conn
	session string // DevTools session of the tab
	stderr  *tailBuffer
	exited  chan struct{} // closed when chromium's main process has been waited for

	closeOnce sync.Once
	closeErr  error
}

// Available reports the chromium executable to use: DefaultBinary if it
// is there, else "chromium" on PATH.
func Available() (path string, ok bool) {
	if fi, err := os.Stat(DefaultBinary); err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0 {
		return DefaultBinary, true
	}
	if p, err := exec.LookPath("chromium"); err == nil {
		return p, true
	}
	return "", false
}

// jsOff is the profile preference Tor Browser's "Safest" level amounts to
// for our pages: the content setting that blocks every page script.
const jsOff = `{"profile":{"default_content_setting_values":{"javascript":2}}}`

// New starts chromium with a fresh profile in which JavaScript is off and
// opens one blank tab. ctx bounds start-up and every later method call
// (each also bounded by Options.Timeout); Close must be called in any
// case, and works after ctx is done.
func New(ctx context.Context, opt Options) (*Browser, error) {
	bin := opt.Binary
	if bin == "" {
		p, ok := Available()
		if !ok {
			return nil, errors.New("start chromium: no chromium binary found")
		}
		bin = p
	}
	timeout := opt.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	profile, err := os.MkdirTemp(opt.Dir, "chromium-profile-")
	if err != nil {
		return nil, fmt.Errorf("create profile dir: %w", err)
	}
	if err := os.Mkdir(filepath.Join(profile, "Default"), 0o700); err != nil {
		os.RemoveAll(profile)
		return nil, fmt.Errorf("create profile dir: %w", err)
	}
	prefs := jsOff
	if opt.scriptsOn || opt.Checker {
		prefs = "{}"
	}
	if err := os.WriteFile(filepath.Join(profile, "Default", "Preferences"), []byte(prefs), 0o600); err != nil {
		os.RemoveAll(profile)
		return nil, fmt.Errorf("write preferences: %w", err)
	}

	// Two pipes: chromium reads commands on fd 3 and writes replies on fd 4.
	cmdR, cmdW, err := os.Pipe()
	if err != nil {
		os.RemoveAll(profile)
		return nil, fmt.Errorf("devtools pipe: %w", err)
	}
	respR, respW, err := os.Pipe()
	if err != nil {
		cmdR.Close()
		cmdW.Close()
		os.RemoveAll(profile)
		return nil, fmt.Errorf("devtools pipe: %w", err)
	}

	b := &Browser{
		ctx:     ctx,
		timeout: timeout,
		profile: profile,
		stderr:  &tailBuffer{max: 16 << 10},
		exited:  make(chan struct{}),
	}
	b.cmd = exec.Command(bin, args(profile, opt.Proxy)...)
	b.cmd.Stdout = b.stderr
	b.cmd.Stderr = b.stderr
	b.cmd.ExtraFiles = []*os.File{cmdR, respW}
	b.cmd.WaitDelay = 2 * time.Second // a straggler holding stderr must not stall Wait
	b.cmd.SysProcAttr = sysProcAttr()
	// HOME inside the profile keeps the NSS database, caches and crash
	// reports out of the real home directory.
	b.cmd.Env = append(os.Environ(), "HOME="+profile)
	err = b.cmd.Start()
	cmdR.Close()
	respW.Close()
	if err != nil {
		cmdW.Close()
		respR.Close()
		os.RemoveAll(profile)
		return nil, fmt.Errorf("start chromium: %w", err)
	}
	go func() {
		b.cmd.Wait()
		cmdW.Close()
		respR.Close()
		close(b.exited)
	}()
	b.conn = newConn(cmdW, respR)

	if err := b.attach(); err != nil {
		b.Close()
		return nil, fmt.Errorf("start chromium: %w (stderr: %s)", err, b.stderr.String())
	}
	return b, nil
}

func args(profile, proxy string) []string {
	a := []string{
		"--headless",
		"--no-sandbox",
		"--disable-gpu",
		"--disable-quic",
		"--no-first-run",
		"--no-default-browser-check",
		"--disable-background-networking",
		"--disable-component-update",
		"--disable-sync",
		"--disable-default-apps",
		"--disable-extensions",
		"--disable-dev-shm-usage",
		"--mute-audio",
		"--hide-scrollbars",
		// HttpsUpgrades would first try https://<onion>:443 for every
		// http:// address; the others are background requests to Google
		// that the switches above leave on.
		"--disable-features=HttpsUpgrades,NetworkTimeServiceQuerying,OptimizationHints,OptimizationGuideModelDownloading,OptimizationGuideOnDeviceModel,Translate,MediaRouter,AutofillServerCommunication",
		// No name is resolved on this machine: with a proxy, names go to
		// the proxy (tor resolves .onion); without one, only loopback works.
		"--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1 , EXCLUDE localhost",
		"--window-size=1280,900",
		"--user-data-dir=" + profile,
		"--remote-debugging-pipe",
	}
	if proxy != "" {
		a = append(a, "--proxy-server="+proxy)
	}
	return append(a, "about:blank")
}

// attach opens a tab and a flat DevTools session on it.
func (b *Browser) attach() error {
	ctx, cancel := b.callCtx()
	defer cancel()
	var target struct {
		TargetID string `json:"targetId"`
	}
	if err := b.conn.call(ctx, "", "Target.createTarget", map[string]any{"url": "about:blank"}, &target); err != nil {
		return err
	}
	var att struct {
		SessionID string `json:"sessionId"`
	}
	if err := b.conn.call(ctx, "", "Target.attachToTarget", map[string]any{"targetId": target.TargetID, "flatten": true}, &att); err != nil {
		return err
	}
	b.session = att.SessionID
	for _, m := range []string{"Page.enable", "DOM.enable", "Runtime.enable", "Network.enable"} {
		if err := b.call(ctx, m, nil, nil); err != nil {
			return err
		}
	}
	return b.call(ctx, "Page.setLifecycleEventsEnabled", map[string]any{"enabled": true}, nil)
}

func (b *Browser) callCtx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(b.ctx, b.timeout)
}

func (b *Browser) call(ctx context.Context, method string, params, result any) error {
	return b.conn.call(ctx, b.session, method, params, result)
}

// Close ends chromium and every process it started, and removes the
// profile. It is safe to call more than once.
func (b *Browser) Close() error {
	b.closeOnce.Do(func() { b.closeErr = b.close() })
	return b.closeErr
}

func (b *Browser) close() error {
	// Snapshot the process tree first: once the main process is gone its
	// children are re-parented and can no longer be found from it.
	tree := descendants(b.cmd.Process.Pid)

	// Ask politely, then insist.
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	_ = b.conn.call(ctx, "", "Browser.close", nil, nil)
	cancel()
	return endProcesses("chromium", b.cmd.Process.Pid, tree, b.profile, b.exited)
}

// endProcesses waits a moment for a browser asked to quit, whose main
// process pid closes exited once waited for, then kills its process
// group, the processes of tree (its descendants, taken before it was
// asked) and any process naming its profile, waits until all are gone
// and removes the profile.
func endProcesses(name string, pid int, tree []int, profile string, exited <-chan struct{}) error {
	select {
	case <-exited:
	case <-time.After(3 * time.Second):
	}
	killGroup(pid)
	for _, pid := range alive(tree) {
		_ = syscall.Kill(pid, syscall.SIGKILL)
	}
	for _, pid := range procsMentioning(profile) {
		_ = syscall.Kill(pid, syscall.SIGKILL)
	}
	select {
	case <-exited:
	case <-time.After(5 * time.Second):
		return fmt.Errorf("close %s: process did not exit", name)
	}
	// Children may take a moment to be reaped by init.
	deadline := time.Now().Add(5 * time.Second)
	for {
		left := alive(tree)
		left = append(left, procsMentioning(profile)...)
		if len(left) == 0 {
			break
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("close %s: processes left: %v", name, left)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := os.RemoveAll(profile); err != nil {
		return fmt.Errorf("remove profile: %w", err)
	}
	return nil
}

// tailBuffer keeps the last max bytes written to it.
type tailBuffer struct {
	mu  sync.Mutex
	max int
	buf []byte
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, p...)
	if over := len(t.buf) - t.max; over > 0 {
		t.buf = t.buf[over:]
	}
	return len(p), nil
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(bytes.TrimSpace(t.buf))
}
