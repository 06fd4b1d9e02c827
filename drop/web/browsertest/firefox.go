package browsertest

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Driver is what a test walking the drop's forms needs of a browser; a
// [Browser] (chromium) and a [Firefox] both are one, so that one walk runs
// in both.
type Driver interface {
	Open(url string) error
	Click(selector string) error
	Select(selector, value string) error
	SetValue(selector, value string) error
	SetFiles(selector string, paths ...string) error
	Text(selector string) (string, error)
	HTML() (string, error)
	URL() (string, error)
	Screenshot(path string) error
	Close() error
}

var (
	_ Driver = (*Browser)(nil)
	_ Driver = (*Firefox)(nil)
)

// FirefoxBinaries are the Firefox executables [FirefoxAvailable] looks for
// on PATH, in order: Debian's Firefox ESR, the release Tor Browser follows,
// then any Firefox.
var FirefoxBinaries = []string{"firefox-esr", "firefox"}

// FirefoxAvailable reports the Firefox executable to use.
func FirefoxAvailable() (path string, ok bool) {
	for _, name := range FirefoxBinaries {
		if p, err := exec.LookPath(name); err == nil {
			return p, true
		}
	}
	return "", false
}

// Firefox is one headless Firefox with JavaScript off for pages, as at Tor
// Browser's "Safest" level, driven through Marionette, the remote protocol
// built into Firefox. It offers the methods of [Browser] that a reporter's
// forms need. Its methods are not meant to be called concurrently.
type Firefox struct {
	ctx     context.Context
	timeout time.Duration
	cmd     *exec.Cmd
	profile string
	stderr  *tailBuffer
	exited  chan struct{}

	conn net.Conn
	r    *bufio.Reader
	id   int
	lost error // the connection failed: a reply may be half read

	closeOnce sync.Once
	closeErr  error
}

// firefoxPrefs makes a fresh profile quiet and closed to the network:
// page scripts off (javascript.enabled is the preference Tor Browser's
// Safest level sets), Marionette on a port of the system's choice on
// 127.0.0.1, and every request but to loopback through a SOCKS proxy with
// names resolved there: proxy, or, without one, a port where nothing
// listens, so that no background request leaves the machine and no name
// is resolved here. Marionette adds its own preferences against updates,
// telemetry and first-run pages.
func firefoxPrefs(proxy string, scripts bool) (string, error) {
	host, port := "127.0.0.1", 9 // discard: nothing listens there
	if proxy != "" {
		u, ok := strings.CutPrefix(proxy, "socks5://")
		h, p, err := net.SplitHostPort(u)
		n, perr := strconv.Atoi(p)
		if !ok || err != nil || perr != nil || n <= 0 || n > 65535 {
			return "", fmt.Errorf("proxy %q: want socks5://HOST:PORT", proxy)
		}
		host, port = h, n
	}
	prefs := map[string]any{
		"javascript.enabled":                         scripts,
		"marionette.port":                            0,
		"network.proxy.type":                         1,
		"network.proxy.socks":                        host,
		"network.proxy.socks_port":                   port,
		"network.proxy.socks_version":                5,
		"network.proxy.socks_remote_dns":             true,
		"network.proxy.allow_hijacking_localhost":    false,
		"network.proxy.no_proxies_on":                "",
		"network.dns.disablePrefetch":                true,
		"network.http.speculative-parallel-limit":    0,
		"network.captive-portal-service.enabled":     false,
		"network.connectivity-service.enabled":       false,
		"browser.safebrowsing.malware.enabled":       false,
		"browser.safebrowsing.phishing.enabled":      false,
		"browser.safebrowsing.downloads.enabled":     false,
		"dom.security.https_only_mode":               false,
		"browser.shell.checkDefaultBrowser":          false,
		"datareporting.policy.dataSubmissionEnabled": false,
		// Remote settings (blocklists, suggestions) would be fetched
		// through the proxy again and again; Firefox takes this server
		// from the preference only with MOZ_REMOTE_SETTINGS_DEVTOOLS set.
		"services.settings.server": "data:,#remote-settings-off/v1",
		"app.normandy.enabled":     false,
	}
	var b strings.Builder
	for k, v := range prefs {
		j, err := json.Marshal(v)
		if err != nil {
			return "", err
		}
		fmt.Fprintf(&b, "user_pref(%q, %s);\n", k, j)
	}
	return b.String(), nil
}

// NewFirefox starts Firefox with a fresh profile in which JavaScript is
// off, and a Marionette session on its one tab. Options.Binary, Proxy
// (socks5://HOST:PORT only), Dir and Timeout mean what they mean for
// [New]; Checker is not supported. Close must be called in any case.
func NewFirefox(ctx context.Context, opt Options) (*Firefox, error) {
	if opt.Checker {
		return nil, errors.New("start firefox: Options.Checker is for chromium only")
	}
	bin := opt.Binary
	if bin == "" {
		p, ok := FirefoxAvailable()
		if !ok {
			return nil, errors.New("start firefox: no firefox-esr or firefox on PATH")
		}
		bin = p
	}
	prefs, err := firefoxPrefs(opt.Proxy, opt.scriptsOn)
	if err != nil {
		return nil, fmt.Errorf("start firefox: %w", err)
	}
	timeout := opt.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	profile, err := os.MkdirTemp(opt.Dir, "firefox-profile-")
	if err != nil {
		return nil, fmt.Errorf("create profile dir: %w", err)
	}
	if err := os.WriteFile(filepath.Join(profile, "user.js"), []byte(prefs), 0o600); err != nil {
		os.RemoveAll(profile)
		return nil, fmt.Errorf("write preferences: %w", err)
	}
	f := &Firefox{ctx: ctx, timeout: timeout, profile: profile, stderr: &tailBuffer{max: 16 << 10}, exited: make(chan struct{})}
	f.cmd = exec.Command(bin, "--headless", "--marionette", "--no-remote", "--profile", profile, "about:blank")
	f.cmd.Stdout = f.stderr
	f.cmd.Stderr = f.stderr
	f.cmd.WaitDelay = 2 * time.Second
	f.cmd.SysProcAttr = sysProcAttr()
	f.cmd.Env = append(os.Environ(), "HOME="+profile, "MOZ_HEADLESS=1", "MOZ_CRASHREPORTER_DISABLE=1", "MOZ_REMOTE_SETTINGS_DEVTOOLS=1")
	if err := f.cmd.Start(); err != nil {
		os.RemoveAll(profile)
		return nil, fmt.Errorf("start firefox: %w", err)
	}
	go func() {
		f.cmd.Wait()
		close(f.exited)
	}()
	if err := f.connect(); err != nil {
		f.Close()
		return nil, fmt.Errorf("start firefox: %w (output: %s)", err, f.stderr.String())
	}
	return f, nil
}

// connect waits for Marionette's port, which Firefox writes into the
// profile once it listens, and opens a session.
func (f *Firefox) connect() error {
	ctx, cancel := context.WithTimeout(f.ctx, f.timeout)
	defer cancel()
	portFile := filepath.Join(f.profile, "MarionetteActivePort")
	var port string
	for port == "" {
		if b, err := os.ReadFile(portFile); err == nil {
			port = strings.TrimSpace(string(b))
		}
		if port != "" {
			break
		}
		select {
		case <-ctx.Done():
			return errors.New("marionette did not start listening")
		case <-f.exited:
			return errors.New("firefox exited")
		case <-time.After(50 * time.Millisecond):
		}
	}
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", net.JoinHostPort("127.0.0.1", port))
	if err != nil {
		return fmt.Errorf("marionette: %w", err)
	}
	f.conn, f.r = conn, bufio.NewReader(conn)
	if dl, ok := ctx.Deadline(); ok {
		conn.SetDeadline(dl)
	}
	var hello struct {
		Protocol int `json:"marionetteProtocol"`
	}
	if m, err := f.read(); err != nil {
		return fmt.Errorf("marionette: %w", err)
	} else if err := json.Unmarshal(m, &hello); err != nil || hello.Protocol != 3 {
		return fmt.Errorf("marionette: unexpected greeting %q", m)
	}
	if err := f.call("WebDriver:NewSession", map[string]any{"strictFileInteractability": true}, nil); err != nil {
		return err
	}
	ms := f.timeout.Milliseconds()
	return f.call("WebDriver:SetTimeouts", map[string]any{"implicit": 0, "pageLoad": ms, "script": ms}, nil)
}

// read reads one message: its length in decimal, a colon, then the JSON.
func (f *Firefox) read() ([]byte, error) {
	s, err := f.r.ReadString(':')
	if err != nil {
		return nil, err
	}
	n, err := strconv.Atoi(strings.TrimSuffix(s, ":"))
	if err != nil || n < 0 || n > 64<<20 {
		return nil, fmt.Errorf("bad message length %q", s)
	}
	m := make([]byte, n)
	_, err = io.ReadFull(f.r, m)
	return m, err
}

// call sends one command and decodes its result's into result (when not
// nil), bounded by the timeout and the browser's context.
func (f *Firefox) call(command string, params, result any) error {
	if err := f.ctx.Err(); err != nil {
		return err
	}
	if f.lost != nil {
		return fmt.Errorf("%s: marionette connection lost earlier: %w", command, f.lost)
	}
	dl := time.Now().Add(f.timeout)
	if d, ok := f.ctx.Deadline(); ok && d.Before(dl) {
		dl = d
	}
	f.conn.SetDeadline(dl)
	f.id++
	msg, err := json.Marshal([]any{0, f.id, command, params})
	if err != nil {
		return err
	}
	if _, err := fmt.Fprintf(f.conn, "%d:%s", len(msg), msg); err != nil {
		f.lost = err
		return fmt.Errorf("%s: %w", command, err)
	}
	for {
		m, err := f.read()
		if err != nil {
			f.lost = err
			return fmt.Errorf("%s: %w", command, err)
		}
		var resp []json.RawMessage
		if err := json.Unmarshal(m, &resp); err != nil || len(resp) != 4 {
			return fmt.Errorf("%s: bad reply %.200q", command, m)
		}
		var id int
		if json.Unmarshal(resp[1], &id) != nil || id != f.id {
			continue // not this command's reply
		}
		if string(resp[2]) != "null" {
			var e struct{ Error, Message string }
			json.Unmarshal(resp[2], &e)
			return fmt.Errorf("%s: %s: %s", command, e.Error, e.Message)
		}
		if result == nil {
			return nil
		}
		return json.Unmarshal(resp[3], result)
	}
}

// webElement is the key of a WebDriver element reference.
const webElement = "element-6066-11e4-a52e-4f735466cecf"

// find returns the element reference of the first element matching the
// CSS selector, within the element from when from is not empty.
func (f *Firefox) find(selector, from string) (string, error) {
	p := map[string]any{"using": "css selector", "value": selector}
	if from != "" {
		p["element"] = from
	}
	var r struct {
		Value map[string]string `json:"value"`
	}
	if err := f.call("WebDriver:FindElement", p, &r); err != nil {
		return "", err
	}
	return r.Value[webElement], nil
}

func (f *Firefox) property(id, name string, v any) error {
	var r struct {
		Value json.RawMessage `json:"value"`
	}
	if err := f.call("WebDriver:GetElementProperty", map[string]any{"id": id, "name": name}, &r); err != nil {
		return err
	}
	return json.Unmarshal(r.Value, v)
}

// Open loads url and waits until it has loaded.
func (f *Firefox) Open(url string) error {
	if err := f.call("WebDriver:Navigate", map[string]any{"url": url}, nil); err != nil {
		return fmt.Errorf("open %s: %w", url, err)
	}
	return nil
}

// Click clicks the element with the mouse and waits for the navigation it
// starts, if any, to load.
func (f *Firefox) Click(selector string) error {
	id, err := f.find(selector, "")
	if err == nil {
		err = f.call("WebDriver:ElementClick", map[string]any{"id": id}, nil)
	}
	if err != nil {
		return fmt.Errorf("click %q: %w", selector, err)
	}
	return nil
}

// SetValue clears an input or textarea and types value into it.
func (f *Firefox) SetValue(selector, value string) error {
	id, err := f.find(selector, "")
	if err == nil {
		err = f.call("WebDriver:ElementClear", map[string]any{"id": id}, nil)
	}
	if err == nil && value != "" {
		err = f.call("WebDriver:ElementSendKeys", map[string]any{"id": id, "text": value}, nil)
	}
	var got string
	if err == nil {
		err = f.property(id, "value", &got)
	}
	if err != nil {
		return fmt.Errorf("set value %q: %w", selector, err)
	}
	if got != normalizeNewlines(value) {
		return fmt.Errorf("set value %q: field holds %q, not %q (maxlength?)", selector, got, value)
	}
	return nil
}

// Select clicks the option whose value is value in a <select>.
func (f *Firefox) Select(selector, value string) error {
	sel, err := f.find(selector, "")
	if err != nil {
		return fmt.Errorf("select %q: %w", selector, err)
	}
	var options []map[string]string
	if err := f.call("WebDriver:FindElements", map[string]any{"using": "css selector", "value": "option", "element": sel}, &options); err != nil {
		return fmt.Errorf("select %q: %w", selector, err)
	}
	for _, o := range options {
		var v string
		if err := f.property(o[webElement], "value", &v); err != nil {
			return fmt.Errorf("select %q: %w", selector, err)
		}
		if v == value {
			if err := f.call("WebDriver:ElementClick", map[string]any{"id": o[webElement]}, nil); err != nil {
				return fmt.Errorf("select %q: %w", selector, err)
			}
			return nil
		}
	}
	return fmt.Errorf("select %q: no option with value %q", selector, value)
}

// SetFiles attaches files to an <input type=file>, as the file chooser
// does; more than one path needs the multiple attribute.
func (f *Firefox) SetFiles(selector string, paths ...string) error {
	abs := make([]string, len(paths))
	for i, p := range paths {
		a, err := filepath.Abs(p)
		if err != nil {
			return fmt.Errorf("set files: %w", err)
		}
		if strings.Contains(a, "\n") {
			return fmt.Errorf("set files: %q: Marionette takes no line break in a path", a)
		}
		abs[i] = a
	}
	id, err := f.find(selector, "")
	if err == nil {
		err = f.call("WebDriver:ElementSendKeys", map[string]any{"id": id, "text": strings.Join(abs, "\n")}, nil)
	}
	if err != nil {
		return fmt.Errorf("set files %q: %w", selector, err)
	}
	return nil
}

// Text returns the textContent of the first element matching selector.
func (f *Firefox) Text(selector string) (string, error) {
	var s string
	id, err := f.find(selector, "")
	if err == nil {
		err = f.property(id, "textContent", &s)
	}
	if err != nil {
		return "", fmt.Errorf("text %q: %w", selector, err)
	}
	return s, nil
}

// HTML returns the serialized current DOM of the page.
func (f *Firefox) HTML() (string, error) {
	var r struct {
		Value string `json:"value"`
	}
	if err := f.call("WebDriver:GetPageSource", map[string]any{}, &r); err != nil {
		return "", fmt.Errorf("html: %w", err)
	}
	return r.Value, nil
}

// URL returns the address of the current page.
func (f *Firefox) URL() (string, error) {
	var r struct {
		Value string `json:"value"`
	}
	if err := f.call("WebDriver:GetCurrentURL", map[string]any{}, &r); err != nil {
		return "", fmt.Errorf("url: %w", err)
	}
	return r.Value, nil
}

// Screenshot writes a PNG of the whole page to path.
func (f *Firefox) Screenshot(path string) error {
	var r struct {
		Value string `json:"value"`
	}
	if err := f.call("WebDriver:TakeScreenshot", map[string]any{"full": true}, &r); err != nil {
		return fmt.Errorf("screenshot: %w", err)
	}
	return writePNG(path, r.Value)
}

// Close ends Firefox and every process it started, and removes the
// profile. It is safe to call more than once.
func (f *Firefox) Close() error {
	f.closeOnce.Do(func() {
		tree := descendants(f.cmd.Process.Pid)
		if f.conn != nil {
			// Ask politely, then insist: the reply comes as Firefox
			// begins to shut down.
			f.timeout, f.ctx = 2*time.Second, context.Background()
			_ = f.call("Marionette:Quit", map[string]any{}, nil)
			f.conn.Close()
		}
		f.closeErr = endProcesses("firefox", f.cmd.Process.Pid, tree, f.profile, f.exited)
	})
	return f.closeErr
}
