package browsertest

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// History counts the pages a user waited for (a redirect is not one), and
// ClearCookies makes the browser a new visitor to a server it has seen.
func TestHistoryAndClearCookies(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("/set", func(w http.ResponseWriter, r *http.Request) {
		http.SetCookie(w, &http.Cookie{Name: "visit", Value: "seen", Path: "/"})
		fmt.Fprint(w, `<!DOCTYPE html><p><a id="on" href="/hop">on</a></p>`)
	})
	mux.HandleFunc("/hop", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/show", http.StatusSeeOther)
	})
	mux.HandleFunc("/show", func(w http.ResponseWriter, r *http.Request) {
		v := "none"
		if c, err := r.Cookie("visit"); err == nil {
			v = c.Value
		}
		fmt.Fprintf(w, `<!DOCTYPE html><p id="cookie">%s</p>`, v)
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	b := newBrowser(t, Options{})

	if err := b.Open(srv.URL + "/set"); err != nil {
		t.Fatal(err)
	}
	if err := b.Click("#on"); err != nil {
		t.Fatal(err)
	}
	h, err := b.History()
	if err != nil {
		t.Fatal(err)
	}
	// The tab starts at about:blank; the redirect through /hop adds no
	// entry.
	if n := len(h); n < 2 || !strings.HasSuffix(h[n-2], "/set") || !strings.HasSuffix(h[n-1], "/show") || strings.Contains(strings.Join(h, " "), "/hop") {
		t.Errorf("history %v, want /set then /show", h)
	}
	if got, _ := b.Text("#cookie"); got != "seen" {
		t.Fatalf("cookie before clearing: %q", got)
	}
	if err := b.ClearCookies(); err != nil {
		t.Fatal(err)
	}
	if err := b.Open(srv.URL + "/show"); err != nil {
		t.Fatal(err)
	}
	if got, _ := b.Text("#cookie"); got != "none" {
		t.Errorf("cookie after clearing: %q", got)
	}
}
