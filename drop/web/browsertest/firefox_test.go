package browsertest

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

// newFirefox starts Firefox for t or skips t when it is missing.
func newFirefox(t *testing.T, opt Options) *Firefox {
	t.Helper()
	bin, ok := FirefoxAvailable()
	if !ok {
		t.Skip("Firefox not installed: no " + strings.Join(FirefoxBinaries, " or ") + " on PATH")
	}
	opt.Binary = bin
	if opt.Dir == "" {
		opt.Dir = t.TempDir()
	}
	start := time.Now()
	f, err := NewFirefox(context.Background(), opt)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("firefox started in %v", time.Since(start).Round(time.Millisecond))
	t.Cleanup(func() { closeAndCheck(t, "firefox", f.cmd.Process.Pid, f.profile, f.Close) })
	return f
}

// Firefox, the engine of Tor Browser, with page scripts off as at its
// Safest level, fills and submits the same form as chromium, and the
// server receives every field and file byte for byte.
func TestFirefoxSubmitFormWithJavaScriptOff(t *testing.T) {
	srv, got := formServer(t)
	submitForm(t, newFirefox(t, Options{}), srv, got)
}

func TestFirefoxErrors(t *testing.T) {
	srv, _ := formServer(t)
	f := newFirefox(t, Options{Timeout: 10 * time.Second})
	if err := f.Open(srv.URL + "/"); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		do   func() error
		want string
	}{
		{"missing element", func() error { return f.SetValue("#nope", "x") }, "no such element"},
		{"unknown option", func() error { return f.Select("#lang", "xx") }, "no option"},
		{"two files, single input", func() error { return f.SetFiles("#doc", "browser.go", "page.go") }, "multiple"},
		{"text of missing element", func() error { _, err := f.Text("#receipt"); return err }, "no such element"},
		// Every name goes to the proxy, here one that is not there:
		// nothing is resolved on this machine.
		{"names are not resolved locally", func() error { return f.Open("http://drop.example/") }, "proxyConnectFailure"},
		{"refused connection", func() error { return f.Open("http://" + closedPort(t) + "/") }, "connectionFailure"},
		{"click into a refused connection", func() error {
			if err := f.Open(srv.URL + "/dead"); err != nil {
				return err
			}
			return f.Click("#dead")
		}, "connectionFailure"},
		{"localhost still works", func() error {
			if err := f.Open(strings.Replace(srv.URL, "127.0.0.1", "localhost", 1) + "/"); err != nil {
				return err
			}
			return errors.New("loaded")
		}, "loaded"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.do()
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want one containing %q", err, tt.want)
			}
		})
	}
}

// TestFirefoxScriptsOnControl runs the page with JavaScript on, to show
// that the checks above would catch a page script that ran.
func TestFirefoxScriptsOnControl(t *testing.T) {
	srv, _ := formServer(t)
	f := newFirefox(t, Options{scriptsOn: true})
	if err := f.Open(srv.URL + "/"); err != nil {
		t.Fatal(err)
	}
	if s, err := f.Text("#status"); err != nil || s != "script ran" {
		t.Errorf(`Text("#status") = %q, %v; want "script ran" with scripts on`, s, err)
	}
	if _, err := f.Text("#noscript"); err == nil {
		t.Error("<noscript> content parsed as elements with scripts on")
	}
}

// The profile's preferences: scripts off unless asked, the proxy as given,
// and anything but a socks5://HOST:PORT proxy refused.
func TestFirefoxPrefs(t *testing.T) {
	p, err := firefoxPrefs("socks5://127.0.0.1:9050", false)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		`user_pref("javascript.enabled", false);`,
		`user_pref("network.proxy.socks", "127.0.0.1");`,
		`user_pref("network.proxy.socks_port", 9050);`,
		`user_pref("network.proxy.socks_remote_dns", true);`,
	} {
		if !strings.Contains(p, want) {
			t.Errorf("preferences lack %s:\n%s", want, p)
		}
	}
	if p, _ := firefoxPrefs("", true); !strings.Contains(p, `user_pref("javascript.enabled", true);`) || !strings.Contains(p, `user_pref("network.proxy.socks_port", 9);`) {
		t.Errorf("no proxy, scripts on:\n%s", p)
	}
	for _, bad := range []string{"http://127.0.0.1:8080", "socks5://127.0.0.1", "socks5://127.0.0.1:0", "socks5://127.0.0.1:70000", "127.0.0.1:9050"} {
		if _, err := firefoxPrefs(bad, false); err == nil {
			t.Errorf("proxy %q accepted", bad)
		}
	}
}
