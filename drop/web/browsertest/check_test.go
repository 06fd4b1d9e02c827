package browsertest

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestCheck(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		io.WriteString(w, `<!DOCTYPE html><html lang="en"><body><form method="post" action="/">
<label><input type="checkbox" id="yes" name="confirm" value="yes"> yes</label>
<label><input type="checkbox" id="off" disabled> disabled</label>
<label><input type="radio" id="r1" name="p" value="a"> a</label>
<label><input type="radio" id="r2" name="p" value="b"> b</label>
<input type="text" id="text" name="t">
</form></body></html>`)
	}))
	t.Cleanup(srv.Close)
	b := newBrowser(t, Options{})
	if err := b.Open(srv.URL + "/"); err != nil {
		t.Fatal(err)
	}
	for _, sel := range []string{"#yes", "#r1", "#r2"} {
		if err := b.Check(sel); err != nil {
			t.Errorf("Check(%s): %v", sel, err)
		}
	}
	// Clicking radio b unchecks a, as in a person's browser.
	var r1 bool
	ctx, cancel := b.callCtx()
	defer cancel()
	id, err := b.node(ctx, "#r1")
	if err != nil {
		t.Fatal(err)
	}
	if err := b.callOn(ctx, id, `function() { return this.checked }`, &r1); err != nil || r1 {
		t.Errorf("radio a still checked after b was clicked: %v", err)
	}
	for sel, want := range map[string]string{"#off": "not a checked", "#text": "not a checked", "#nope": "no element matches"} {
		if err := b.Check(sel); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Check(%s) = %v, want an error containing %q", sel, err, want)
		}
	}
}
