package browsertest

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
)

// navEvents are the events waitLoad reads.
var navEvents = []string{"Page.frameNavigated", "Page.lifecycleEvent", "Network.loadingFailed"}

// Open navigates the tab to url and waits for the page's load event. A
// page that cannot be fetched (refused, unresolvable, proxy failure) is an
// error.
func (b *Browser) Open(url string) error {
	ctx, cancel := b.callCtx()
	defer cancel()
	sub := b.conn.subscribe(b.session, navEvents...)
	defer b.conn.unsubscribe(sub)
	var nav struct {
		LoaderID  string `json:"loaderId"`
		ErrorText string `json:"errorText"`
	}
	if err := b.call(ctx, "Page.navigate", map[string]any{"url": url}, &nav); err != nil {
		return fmt.Errorf("open: %w", err)
	}
	if nav.ErrorText != "" {
		return fmt.Errorf("open: %s", nav.ErrorText)
	}
	if nav.LoaderID == "" { // same-document navigation, e.g. a #fragment
		return nil
	}
	if err := b.waitLoad(ctx, sub, nav.LoaderID); err != nil {
		return fmt.Errorf("open: %w", err)
	}
	return nil
}

// waitLoad waits for the load lifecycle event of loaderID; with loaderID
// empty it takes the loader of the next main-frame navigation. sub must
// carry Page.frameNavigated, Page.lifecycleEvent and
// Network.loadingFailed. A main frame that committed the browser's error
// page is an error.
func (b *Browser) waitLoad(ctx context.Context, sub *subscription, loaderID string) error {
	var netErr string
	for {
		m, err := b.conn.next(ctx, sub)
		if err != nil {
			if netErr != "" {
				return fmt.Errorf("wait for load: %s: %w", netErr, err)
			}
			return fmt.Errorf("wait for load: %w", err)
		}
		switch m.Method {
		case "Network.loadingFailed":
			var ev struct {
				Type      string `json:"type"`
				ErrorText string `json:"errorText"`
			}
			if err := jsonUnmarshal(m.Params, &ev); err != nil {
				return err
			}
			if ev.Type == "Document" {
				netErr = ev.ErrorText
			}
		case "Page.frameNavigated":
			var ev struct {
				Frame struct {
					ParentID       string `json:"parentId"`
					LoaderID       string `json:"loaderId"`
					UnreachableURL string `json:"unreachableUrl"`
				} `json:"frame"`
			}
			if err := jsonUnmarshal(m.Params, &ev); err != nil {
				return err
			}
			if ev.Frame.ParentID != "" {
				break
			}
			if loaderID == "" {
				loaderID = ev.Frame.LoaderID
			}
			if ev.Frame.LoaderID == loaderID && ev.Frame.UnreachableURL != "" {
				if netErr == "" {
					netErr = "error page"
				}
				return fmt.Errorf("navigation failed: %s", netErr)
			}
		case "Page.lifecycleEvent":
			var ev struct {
				LoaderID string `json:"loaderId"`
				Name     string `json:"name"`
			}
			if err := jsonUnmarshal(m.Params, &ev); err != nil {
				return err
			}
			if ev.Name == "load" && loaderID != "" && ev.LoaderID == loaderID {
				return nil
			}
		}
	}
}

// node finds the first element matching the CSS selector in the current
// document.
func (b *Browser) node(ctx context.Context, selector string) (int64, error) {
	var doc struct {
		Root struct {
			NodeID int64 `json:"nodeId"`
		} `json:"root"`
	}
	if err := b.call(ctx, "DOM.getDocument", map[string]any{"depth": 0}, &doc); err != nil {
		return 0, err
	}
	var q struct {
		NodeID int64 `json:"nodeId"`
	}
	if err := b.call(ctx, "DOM.querySelector", map[string]any{"nodeId": doc.Root.NodeID, "selector": selector}, &q); err != nil {
		return 0, err
	}
	if q.NodeID == 0 {
		return 0, fmt.Errorf("no element matches %q", selector)
	}
	return q.NodeID, nil
}

// callOn runs a function declaration with the element as this. It runs
// through DevTools, which works with the page's JavaScript disabled.
func (b *Browser) callOn(ctx context.Context, nodeID int64, fn string, result any, args ...any) error {
	var obj struct {
		Object struct {
			ObjectID string `json:"objectId"`
		} `json:"object"`
	}
	if err := b.call(ctx, "DOM.resolveNode", map[string]any{"nodeId": nodeID}, &obj); err != nil {
		return err
	}
	defer b.call(ctx, "Runtime.releaseObject", map[string]any{"objectId": obj.Object.ObjectID}, nil)
	cargs := make([]map[string]any, len(args))
	for i, a := range args {
		cargs[i] = map[string]any{"value": a}
	}
	var res evalResult
	if err := b.call(ctx, "Runtime.callFunctionOn", map[string]any{
		"objectId":            obj.Object.ObjectID,
		"functionDeclaration": fn,
		"arguments":           cargs,
		"returnByValue":       true,
	}, &res); err != nil {
		return err
	}
	return res.decode(result)
}

// SetValue replaces the text of an input or textarea the way typing does:
// it focuses the field, clears it and inserts value as keyboard text.
func (b *Browser) SetValue(selector, value string) error {
	ctx, cancel := b.callCtx()
	defer cancel()
	id, err := b.node(ctx, selector)
	if err != nil {
		return fmt.Errorf("set value: %w", err)
	}
	const clear = `function() {
		const t = this.localName;
		if (t !== "textarea" && !(t === "input" && !["file", "checkbox", "radio", "submit", "button", "image", "reset", "hidden"].includes(this.type))) {
			throw new Error("not a text field: <" + t + (this.type ? " type=" + this.type : "") + ">");
		}
		this.value = "";
	}`
	if err := b.callOn(ctx, id, clear, nil); err != nil {
		return fmt.Errorf("set value %q: %w", selector, err)
	}
	if err := b.call(ctx, "DOM.focus", map[string]any{"nodeId": id}, nil); err != nil {
		return fmt.Errorf("set value %q: %w", selector, err)
	}
	if value != "" {
		if err := b.call(ctx, "Input.insertText", map[string]any{"text": value}, nil); err != nil {
			return fmt.Errorf("set value %q: %w", selector, err)
		}
	}
	var got string
	if err := b.callOn(ctx, id, `function() { return this.value }`, &got); err != nil {
		return fmt.Errorf("set value %q: %w", selector, err)
	}
	if got != normalizeNewlines(value) {
		return fmt.Errorf("set value %q: field holds %q, not %q (maxlength?)", selector, got, value)
	}
	return nil
}

// normalizeNewlines mirrors what a text field does to typed line breaks.
func normalizeNewlines(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "\r\n", "\n"), "\r", "\n")
}

// Select chooses the option whose value is value in a <select>.
func (b *Browser) Select(selector, value string) error {
	ctx, cancel := b.callCtx()
	defer cancel()
	id, err := b.node(ctx, selector)
	if err != nil {
		return fmt.Errorf("select: %w", err)
	}
	const choose = `function(v) {
		if (this.localName !== "select") throw new Error("not a <select>: <" + this.localName + ">");
		const o = Array.from(this.options).find(o => o.value === v);
		if (!o) throw new Error("no option with value " + JSON.stringify(v));
		if (o.disabled) throw new Error("option " + JSON.stringify(v) + " is disabled");
		o.selected = true;
		this.dispatchEvent(new Event("input", {bubbles: true}));
		this.dispatchEvent(new Event("change", {bubbles: true}));
	}`
	if err := b.callOn(ctx, id, choose, nil, value); err != nil {
		return fmt.Errorf("select %q: %w", selector, err)
	}
	return nil
}

// SetFiles attaches files to an <input type=file>, as the file chooser
// does; more than one path needs the multiple attribute.
func (b *Browser) SetFiles(selector string, paths ...string) error {
	ctx, cancel := b.callCtx()
	defer cancel()
	id, err := b.node(ctx, selector)
	if err != nil {
		return fmt.Errorf("set files: %w", err)
	}
	abs := make([]string, len(paths))
	for i, p := range paths {
		a, err := filepath.Abs(p)
		if err != nil {
			return fmt.Errorf("set files: %w", err)
		}
		if _, err := os.Stat(a); err != nil {
			return fmt.Errorf("set files: %w", err)
		}
		abs[i] = a
	}
	var kind struct {
		File, Multiple bool
	}
	if err := b.callOn(ctx, id, `function() { return {File: this.localName === "input" && this.type === "file", Multiple: !!this.multiple} }`, &kind); err != nil {
		return fmt.Errorf("set files %q: %w", selector, err)
	}
	if !kind.File {
		return fmt.Errorf("set files %q: not an <input type=file>", selector)
	}
	if len(abs) > 1 && !kind.Multiple {
		return fmt.Errorf("set files %q: %d files for an input without multiple", selector, len(abs))
	}
	if err := b.call(ctx, "DOM.setFileInputFiles", map[string]any{"nodeId": id, "files": abs}, nil); err != nil {
		return fmt.Errorf("set files %q: %w", selector, err)
	}
	return nil
}

// Click scrolls the element into view and clicks its centre with the
// mouse, then waits until the navigation the click starts has loaded. A
// click that starts no navigation fails when the timeout ends; a
// navigation that ends on the browser's error page is an error.
func (b *Browser) Click(selector string) error {
	ctx, cancel := b.callCtx()
	defer cancel()
	sub := b.conn.subscribe(b.session, navEvents...)
	defer b.conn.unsubscribe(sub)
	if err := b.mouseClick(ctx, selector); err != nil {
		return err
	}
	if err := b.waitLoad(ctx, sub, ""); err != nil {
		return fmt.Errorf("click %q: %w", selector, err)
	}
	return nil
}

// Check clicks a checkbox or radio button with the mouse, as a person
// does, and fails unless it is checked afterwards. It waits for no
// navigation.
func (b *Browser) Check(selector string) error {
	ctx, cancel := b.callCtx()
	defer cancel()
	if err := b.mouseClick(ctx, selector); err != nil {
		return err
	}
	id, err := b.node(ctx, selector)
	if err != nil {
		return fmt.Errorf("check: %w", err)
	}
	var checked bool
	if err := b.callOn(ctx, id, `function() { return this.localName === "input" && (this.type === "checkbox" || this.type === "radio") && this.checked }`, &checked); err != nil {
		return fmt.Errorf("check %q: %w", selector, err)
	}
	if !checked {
		return fmt.Errorf("check %q: not a checked checkbox or radio button after the click", selector)
	}
	return nil
}

// mouseClick scrolls the element into view and clicks its centre.
func (b *Browser) mouseClick(ctx context.Context, selector string) error {
	id, err := b.node(ctx, selector)
	if err != nil {
		return fmt.Errorf("click: %w", err)
	}
	if err := b.call(ctx, "DOM.scrollIntoViewIfNeeded", map[string]any{"nodeId": id}, nil); err != nil {
		return fmt.Errorf("click %q: %w", selector, err)
	}
	var quads struct {
		Quads [][]float64 `json:"quads"`
	}
	if err := b.call(ctx, "DOM.getContentQuads", map[string]any{"nodeId": id}, &quads); err != nil {
		return fmt.Errorf("click %q: %w", selector, err)
	}
	if len(quads.Quads) == 0 || len(quads.Quads[0]) != 8 {
		return fmt.Errorf("click %q: element is not visible", selector)
	}
	q := quads.Quads[0]
	x := (q[0] + q[2] + q[4] + q[6]) / 4
	y := (q[1] + q[3] + q[5] + q[7]) / 4
	x, y = math.Round(x), math.Round(y)
	for _, ev := range []map[string]any{
		{"type": "mouseMoved", "x": x, "y": y},
		{"type": "mousePressed", "x": x, "y": y, "button": "left", "buttons": 1, "clickCount": 1},
		{"type": "mouseReleased", "x": x, "y": y, "button": "left", "buttons": 0, "clickCount": 1},
	} {
		if err := b.call(ctx, "Input.dispatchMouseEvent", ev, nil); err != nil {
			return fmt.Errorf("click %q: %w", selector, err)
		}
	}
	return nil
}

// Text returns the textContent of the first element matching selector.
func (b *Browser) Text(selector string) (string, error) {
	ctx, cancel := b.callCtx()
	defer cancel()
	id, err := b.node(ctx, selector)
	if err != nil {
		return "", fmt.Errorf("text: %w", err)
	}
	var s string
	if err := b.callOn(ctx, id, `function() { return this.textContent }`, &s); err != nil {
		return "", fmt.Errorf("text %q: %w", selector, err)
	}
	return s, nil
}

// HTML returns the serialized current DOM of the page.
func (b *Browser) HTML() (string, error) {
	ctx, cancel := b.callCtx()
	defer cancel()
	var doc struct {
		Root struct {
			NodeID int64 `json:"nodeId"`
		} `json:"root"`
	}
	if err := b.call(ctx, "DOM.getDocument", map[string]any{"depth": 0}, &doc); err != nil {
		return "", fmt.Errorf("html: %w", err)
	}
	var out struct {
		OuterHTML string `json:"outerHTML"`
	}
	if err := b.call(ctx, "DOM.getOuterHTML", map[string]any{"nodeId": doc.Root.NodeID}, &out); err != nil {
		return "", fmt.Errorf("html: %w", err)
	}
	return out.OuterHTML, nil
}

// URL returns the address of the document in the tab.
func (b *Browser) URL() (string, error) {
	ctx, cancel := b.callCtx()
	defer cancel()
	u, err := b.url(ctx)
	if err != nil {
		return "", fmt.Errorf("url: %w", err)
	}
	return u, nil
}

// History lists the URLs of the tab's session history, oldest first, up
// to the current entry: one entry per page loaded (a redirect adds none,
// so the length counts the page loads a user waited for).
func (b *Browser) History() ([]string, error) {
	ctx, cancel := b.callCtx()
	defer cancel()
	var h struct {
		CurrentIndex int `json:"currentIndex"`
		Entries      []struct {
			URL string `json:"url"`
		} `json:"entries"`
	}
	if err := b.call(ctx, "Page.getNavigationHistory", nil, &h); err != nil {
		return nil, fmt.Errorf("history: %w", err)
	}
	var out []string
	for i, e := range h.Entries {
		if i > h.CurrentIndex {
			break
		}
		out = append(out, e.URL)
	}
	return out, nil
}

// ClearCookies drops every cookie the browser holds. Cookies are kept per
// host, not per port, so one browser visiting several servers on
// 127.0.0.1 calls it to arrive at each as a new visitor.
func (b *Browser) ClearCookies() error {
	ctx, cancel := b.callCtx()
	defer cancel()
	if err := b.call(ctx, "Network.clearBrowserCookies", nil, nil); err != nil {
		return fmt.Errorf("clear cookies: %w", err)
	}
	return nil
}

func (b *Browser) url(ctx context.Context) (string, error) {
	var h struct {
		CurrentIndex int `json:"currentIndex"`
		Entries      []struct {
			URL string `json:"url"`
		} `json:"entries"`
	}
	if err := b.call(ctx, "Page.getNavigationHistory", nil, &h); err != nil {
		return "", err
	}
	if h.CurrentIndex < 0 || h.CurrentIndex >= len(h.Entries) {
		return "", errors.New("no current history entry")
	}
	return h.Entries[h.CurrentIndex].URL, nil
}

// Screenshot writes a PNG of the whole page, not only the viewport, to path.
func (b *Browser) Screenshot(path string) error {
	ctx, cancel := b.callCtx()
	defer cancel()
	var lm struct {
		CSSContentSize struct {
			Width  float64 `json:"width"`
			Height float64 `json:"height"`
		} `json:"cssContentSize"`
	}
	if err := b.call(ctx, "Page.getLayoutMetrics", nil, &lm); err != nil {
		return fmt.Errorf("screenshot: %w", err)
	}
	var shot struct {
		Data string `json:"data"`
	}
	if err := b.call(ctx, "Page.captureScreenshot", map[string]any{
		"format":                "png",
		"captureBeyondViewport": true,
		"clip": map[string]any{
			"x": 0, "y": 0, "scale": 1,
			"width":  math.Ceil(lm.CSSContentSize.Width),
			"height": math.Ceil(lm.CSSContentSize.Height),
		},
	}, &shot); err != nil {
		return fmt.Errorf("screenshot: %w", err)
	}
	return writePNG(path, shot.Data)
}

// writePNG writes a screenshot that came base64-encoded to path.
func writePNG(path, b64 string) error {
	png, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		return fmt.Errorf("screenshot: decode: %w", err)
	}
	if err := os.WriteFile(path, png, 0o644); err != nil {
		return fmt.Errorf("screenshot: %w", err)
	}
	return nil
}
