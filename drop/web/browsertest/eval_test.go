package browsertest

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestEvaluateAndTab: with page scripts off, Evaluate still reads the
// page (and reports a thrown error), the page's own script has not run,
// and PressTab moves the focus through the form in order, Shift+Tab back.
func TestEvaluateAndTab(t *testing.T) {
	b := newBrowser(t, Options{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Write([]byte(formPage))
	}))
	defer srv.Close()
	if err := b.Open(srv.URL + "/"); err != nil {
		t.Fatal(err)
	}
	var status string
	if err := b.Evaluate(`document.getElementById("status").textContent`, &status); err != nil || status != "scripts are off" {
		t.Fatalf("evaluate: %q, %v", status, err)
	}
	var n int
	if err := b.Evaluate(`Promise.resolve(6 * 7)`, &n); err != nil || n != 42 {
		t.Fatalf("evaluate a promise: %d, %v", n, err)
	}
	if err := b.Evaluate(`(() => { throw new Error("boom") })()`, nil); err == nil || !strings.Contains(err.Error(), "boom") {
		t.Fatalf("a thrown error: %v", err)
	}
	var ids []string
	for range 3 {
		if err := b.PressTab(false); err != nil {
			t.Fatal(err)
		}
		var id string
		if err := b.Evaluate(`document.activeElement.id`, &id); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	if err := b.PressTab(true); err != nil {
		t.Fatal(err)
	}
	var back string
	if err := b.Evaluate(`document.activeElement.id`, &back); err != nil {
		t.Fatal(err)
	}
	if strings.Join(ids, " ") != "alias message lang" || back != "message" {
		t.Fatalf("Tab focused %v, then Shift+Tab %q", ids, back)
	}
}
