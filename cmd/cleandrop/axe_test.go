package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"cleandrop/drop/web/browsertest"
)

// axeLangs are the languages every page is checked in.
var axeLangs = []string{"en", "ko", "mn", "ru", "sq", "sr", "uz"}

// needAxe returns axe-core's source from $CLEANDROP_AXE (make test sets
// it to the copy make deps fetched from npm). Without it the test skips,
// except in CI, where make deps must have fetched it.
func needAxe(t *testing.T) string {
	t.Helper()
	needBrowser(t)
	path := os.Getenv("CLEANDROP_AXE")
	src, err := os.ReadFile(path)
	if path == "" || err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("axe-core is not at CLEANDROP_AXE=%q in CI: make deps should have fetched it", path)
		}
		t.Skipf("axe-core not found (CLEANDROP_AXE=%q; make deps fetches it and make test sets it); skipping the accessibility check", path)
	}
	return string(src)
}

// axeViolation is what the test keeps of one axe-core violation.
type axeViolation struct {
	ID, Impact, Help string
	Nodes            []struct {
		Target  []any
		Summary string
	}
}

// axeRun is evaluated after axe-core's source: the violations of the
// current document, every rule axe runs by default (WCAG 2.x A and AA and
// best practices).
const axeRun = `axe.run(document, {resultTypes: ["violations"]}).then(r => r.violations.map(v => ({
	ID: v.id, Impact: v.impact || "", Help: v.help,
	Nodes: v.nodes.map(n => ({Target: n.target, Summary: n.failureSummary || ""})),
})))`

// axeChecker checks pages in one browser and keeps the list of pages.
type axeChecker struct {
	t       *testing.T
	b       *browsertest.Browser
	src     string
	checked []string
	serious int
	lesser  map[string]int // moderate and minor violations by rule, reported but allowed
}

// check runs axe-core on the page in the tab, named name, and reports
// every serious or critical violation. It also fails a page that carries
// a script of its own: only the checker may run.
func (c *axeChecker) check(name string) {
	c.t.Helper()
	var scripts int
	must(c.t, c.b.Evaluate(`document.querySelectorAll("script").length`, &scripts))
	if scripts != 0 {
		c.t.Errorf("%s: the page carries %d <script> elements", name, scripts)
	}
	var lang string
	must(c.t, c.b.Evaluate(`document.documentElement.lang`, &lang))
	if lang == "" {
		c.t.Errorf("%s: <html> names no language", name)
	}
	var skip string
	must(c.t, c.b.Evaluate(skipLinkFirst, &skip))
	if skip != "" {
		c.t.Errorf("%s: %s", name, skip)
	}
	must(c.t, c.b.Evaluate(c.src, nil))
	var vs []axeViolation
	must(c.t, c.b.Evaluate(axeRun, &vs))
	c.checked = append(c.checked, name)
	for _, v := range vs {
		if v.Impact != "serious" && v.Impact != "critical" {
			c.lesser[v.ID+" ("+v.Impact+")"] += len(v.Nodes)
			continue
		}
		c.serious++
		var targets []string
		for _, n := range v.Nodes {
			targets = append(targets, fmt.Sprint(n.Target))
		}
		c.t.Errorf("%s: %s (%s): %s; at %s; %s", name, v.ID, v.Impact, v.Help, strings.Join(targets, " "), firstSummary(v))
	}
}

func firstSummary(v axeViolation) string {
	if len(v.Nodes) == 0 {
		return ""
	}
	return strings.ReplaceAll(v.Nodes[0].Summary, "\n", " ")
}

// canFail shows that the checker finds what it must: on the landing page
// with an unlabelled field and an image without alt text added (through
// DevTools, not by the page), axe-core reports both as critical.
func (c *axeChecker) canFail(base string) {
	c.t.Helper()
	must(c.t, c.b.Open(base+"/"))
	must(c.t, c.b.Evaluate(`document.querySelector("main").insertAdjacentHTML("beforeend", '<input id="axe-probe"><img src="/no-such.png">')`, nil))
	must(c.t, c.b.Evaluate(c.src, nil))
	var vs []axeViolation
	must(c.t, c.b.Evaluate(axeRun, &vs))
	found := map[string]string{}
	for _, v := range vs {
		found[v.ID] = v.Impact
	}
	if found["label"] != "critical" || found["image-alt"] != "critical" {
		c.t.Fatalf("axe-core missed an unlabelled field or an image without alt text: %v", found)
	}
}

// open opens base+path in lang and checks it.
func (c *axeChecker) open(base, path, lang string) {
	c.t.Helper()
	sep := "?"
	if strings.Contains(path, "?") {
		sep = "&"
	}
	must(c.t, c.b.Open(base+path+sep+"lang="+lang))
	c.check(pageName(path) + " [" + lang + "]")
}

// pageName hides the enrolment token in the list of pages checked.
func pageName(path string) string {
	if strings.HasPrefix(path, "/enrol/") {
		return "/enrol/TOKEN"
	}
	return path
}

// demoAgency is the demo's agency with a custodian (the pack's central
// body with --jurisdiction).
func (s *server) demoAgency(t *testing.T) string {
	t.Helper()
	m, _ := filepath.Glob(filepath.Join(s.data, "demo", "custodian-*.key"))
	if len(m) != 1 {
		t.Fatalf("demo custodian keys: %v", m)
	}
	return strings.TrimSuffix(strings.TrimPrefix(filepath.Base(m[0]), "custodian-"), ".key")
}

// TestAccessibility runs axe-core, from npm, inside the real headless
// Chromium over every reporter and desk page in every language, and fails
// on any serious or critical violation. axe-core runs through DevTools,
// as the checker, not as the page: every page checked must carry no
// script.
func TestAccessibility(t *testing.T) {
	src := needAxe(t)
	s := startDemo(t, "--jurisdiction", "mn")
	desk := s.deskURL(t)
	agency := s.demoAgency(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	// Chromium stops timers with page scripts off, and axe-core needs
	// them: this browser leaves JavaScript on for the checker, and check
	// fails a page that carries a script.
	b, err := browsertest.New(ctx, browsertest.Options{Dir: t.TempDir(), Checker: true})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	c := &axeChecker{t: t, b: b, src: src, lesser: map[string]int{}}
	c.canFail(s.url)

	// A report with a question from the officer: the case page shows the
	// answer form and the identity form.
	rc, ref := newReporter(t, s.url).report(agency, "The tender was awarded before the bids were opened.", nil)
	if ref == "" {
		t.Fatal("no case reference on the receipt page")
	}

	// Desk: a supervisor (case list, case page, audit page).
	const password = "a long passphrase for the desk"
	enrol := s.cli(t, "officer", "add", "--agency", agency, "--name", "sara", "--role", "supervisor")
	deskSignIn(t, c, desk, enrolPathRe.FindString(enrol), "sara", password)
	must(t, b.Open(desk+"/cases/"+ref))
	must(t, b.SetValue("#question", "Who signed the contract?"))
	must(t, b.Click(`form[action="/cases/`+ref+`/questions"] button[type="submit"]`))
	for _, l := range axeLangs {
		for _, p := range []string{"/", "/cases/" + ref, "/audit", "/cases/NO-SUCH-CASE"} {
			c.open(desk, p, l)
		}
	}
	must(t, b.Open(desk+"/"))
	must(t, b.Click(`form[action="/logout"] button[type="submit"]`))
	// An overseer (the oversight page); the enrolment and login pages in
	// every language on the way.
	enrol = s.cli(t, "officer", "add", "--name", "otto", "--role", "overseer")
	for _, l := range axeLangs {
		c.open(desk, "/login", l)
		c.open(desk, enrolPathRe.FindString(enrol), l)
	}
	deskSignIn(t, c, desk, enrolPathRe.FindString(enrol), "otto", password)
	for _, l := range axeLangs {
		c.open(desk, "/oversight", l)
	}
	must(t, b.Open(desk+"/oversight"))
	must(t, b.Click(`form[action="/logout"] button[type="submit"]`))

	// Reporter pages.
	for _, l := range axeLangs {
		for _, p := range []string{"/", "/protection", "/rewards", "/agencies", "/agencies?q=police", "/report", "/report?agency=" + agency, "/followup", "/no-such-page"} {
			c.open(s.url, p, l)
		}
		// An agency name not in the page's language names its own: in the
		// drop-down (12 agencies or fewer), or as the chosen agency.
		must(t, b.Open(s.url+"/report?agency=nao&lang="+l))
		var optLang string
		must(t, b.Evaluate(`(document.querySelector("#agency option[value=nao]") || document.querySelector("#agency-chosen strong")).lang`, &optLang))
		must(t, b.Open(s.url+"/report?agency="+agency+"&lang="+l))
		if want := map[bool]string{true: "", false: "en"}[l == "mn" || l == "en"]; optLang != want {
			t.Errorf("/report [%s]: the option of nao is marked lang=%q, want %q", l, optLang, want)
		}
		// The two steps before sending: the guide's answer (with a
		// suggestion, a warning and the outline put in) and the check.
		must(t, b.SetValue("#message", "A report in "+l+" about bribery. Call me on 9911-2233."))
		must(t, b.Click("#guide-ask"))
		c.check("/report/guide [" + l + "]")
		if _, err := b.Text("#findings"); err != nil {
			t.Errorf("/report/guide [%s]: no warning about the phone number: %v", l, err)
		}
		if _, err := b.Text("#guide-use"); err == nil {
			must(t, b.Click("#guide-use"))
			c.check("/report/guide with the outline [" + l + "]")
		}
		must(t, b.Click("#check"))
		c.check("/report/check [" + l + "]")
		must(t, b.Click("#send"))
		c.check("receipt [" + l + "]")
		fresh, err := b.Text("#receipt")
		must(t, err)
		// The new case: its reporter files their identity, and the case
		// page then shows it on file.
		must(t, b.Open(s.url+"/followup?lang="+l))
		must(t, b.SetValue("#receipt", strings.TrimSpace(fresh)))
		must(t, b.Click(`button[type="submit"]`))
		must(t, b.SetValue("#identity-name", "A. Reporter"))
		must(t, b.SetValue("#identity-contact", "a.reporter@example.org"))
		must(t, b.Check(`input[name="purpose"][value="protection"]`))
		must(t, b.Check(`input[name="confirm"]`))
		must(t, b.Click(`#identity button[type="submit"]`))
		if _, err := b.Text("#identity-on-file"); err != nil {
			t.Fatalf("identity not on file [%s]: %v", l, err)
		}
		c.check("/case with identity on file [" + l + "]")
		must(t, b.Click(`form[action="/logout"] button[type="submit"]`))
		must(t, b.Open(s.url+"/followup?lang="+l))
		must(t, b.SetValue("#receipt", "not a receipt"))
		must(t, b.Click(`button[type="submit"]`))
		c.check("followup error [" + l + "]")
		must(t, b.SetValue("#receipt", rc))
		must(t, b.Click(`button[type="submit"]`))
		c.check("/case [" + l + "]")
		must(t, b.Click(`form[action="/logout"] button[type="submit"]`))
	}

	// The public statistics page: the same data with public_stats on.
	s.stop()
	cfgPath := filepath.Join(s.data, "demo", "config.json")
	cfg, err := os.ReadFile(cfgPath)
	must(t, err)
	cfg = []byte(strings.Replace(string(cfg), "{", `{"public_stats": true,`, 1))
	must(t, os.WriteFile(cfgPath, cfg, 0o600))
	s = startServer(t, s.data, readyURL, "demo", "--data", s.data, "--listen", "127.0.0.1:0", "--desk-listen", "127.0.0.1:0", "--no-tor", "--jurisdiction", "mn")
	for _, l := range axeLangs {
		c.open(s.url, "/stats", l)
		if _, err := b.Text("#stats"); err != nil {
			t.Errorf("/stats [%s] shows no statistics table: %v", l, err)
		}
	}
	s.stop()

	// The other packs: their landing, protection, rewards, directory and
	// report pages hold their own content (Korean, Albanian, Serbian,
	// Uzbek, Russian), each also checked in every language.
	for _, code := range []string{"kr", "xk", "uz", "eu"} {
		ps := startDemo(t, "--jurisdiction", code)
		for _, l := range axeLangs {
			for _, p := range []string{"/", "/protection", "/rewards", "/agencies", "/agencies?q=police", "/report"} {
				must(t, b.Open(ps.url+p+map[bool]string{true: "&", false: "?"}[strings.Contains(p, "?")]+"lang="+l))
				c.check(code + " " + p + " [" + l + "]")
			}
		}
		ps.stop()
	}

	t.Logf("pages checked (%d):\n%s", len(c.checked), strings.Join(c.checked, "\n"))
	if len(c.lesser) > 0 {
		t.Logf("moderate and minor findings (elements, over all pages): %v", c.lesser)
	}
	measured(t, "axe-core: %d pages checked (reporter and desk, %d languages), %d serious or critical violations", len(c.checked), len(axeLangs), c.serious)
}

// deskSignIn enrols an officer from their enrolment path and signs them
// in, in the browser, checking the enrolment's second step on the way.
func deskSignIn(t *testing.T, c *axeChecker, desk, enrol, name, password string) {
	t.Helper()
	b := c.b
	must(t, b.Open(desk+enrol+"?lang=en"))
	must(t, b.SetValue("#password", password))
	must(t, b.SetValue("#confirm", password))
	must(t, b.Click(`button[type="submit"]`))
	c.check(pageName(enrol) + " TOTP step [en]")
	secret, err := b.Text("#totp-secret")
	must(t, err)
	app := newAuthenticator(t, secret)
	must(t, b.SetValue("#code", app.code()))
	must(t, b.Click(`button[type="submit"]`))
	c.check(pageName(enrol) + " done [en]")
	must(t, b.Open(desk+"/login"))
	must(t, b.SetValue("#name", name))
	must(t, b.SetValue("#password", password))
	must(t, b.SetValue("#code", app.early()))
	must(t, b.Click(`button[type="submit"]`))
	if _, err := b.Text("#cases"); err != nil && !strings.Contains(name, "otto") {
		t.Fatalf("%s not signed in: %v", name, err)
	}
}

// tabStops is evaluated in the page: the elements a keyboard user must be
// able to reach, in document order (no page uses a positive tabindex), as
// short descriptions. A radio group is one stop: its checked button, or
// its first.
const tabStops = `(() => {
	const all = [...document.querySelectorAll("a[href], button, input, select, textarea, [tabindex]")].filter(e =>
		!e.disabled && e.type !== "hidden" && e.getClientRects().length > 0 && e.tabIndex >= 0);
	const stops = all.filter(e => {
		if (e.type !== "radio") return true;
		const group = all.filter(o => o.type === "radio" && o.name === e.name && o.form === e.form);
		return e === (group.find(o => o.checked) || group[0]);
	});
	window.__stops = stops;
	return stops.map(e => e.localName + (e.id ? "#" + e.id : "") + (e.name ? "[name=" + e.name + "]" : "") + (e.getAttribute("href") ? "[href=" + e.getAttribute("href") + "]" : ""));
})()`

// skipLinkFirst is evaluated in the page: "" when the first element that
// can take the focus is the skip link to the main landmark, else what is
// wrong.
const skipLinkFirst = `(() => {
	const first = document.querySelector("a[href], button, input, select, textarea, [tabindex]:not([tabindex='-1'])");
	const main = document.querySelector("main");
	if (!main || main.id !== "main") return "no <main id=main>";
	if (!first || !first.matches("a.skip[href='#main']")) return "the first focusable element is " + (first ? first.outerHTML.slice(0, 80) : "none") + ", not the skip link";
	if (first.textContent.trim() === "") return "the skip link has no text";
	return "";
})()`

// focused is evaluated after each Tab: which stop has the focus (-1 for
// none of them) and whether its focus is visible: a solid outline at
// least 2px wide, as style.css draws it.
const focused = `(() => {
	const e = document.activeElement, s = getComputedStyle(e);
	return {Index: window.__stops.indexOf(e), Visible: e.matches(":focus-visible") && s.outlineStyle === "solid" && parseFloat(s.outlineWidth) >= 2,
		Outline: s.outlineStyle + " " + s.outlineWidth + " " + s.outlineColor};
})()`

// afterSkip is evaluated after Enter on the skip link: the fragment, and
// whether main has the focus and its top is in the viewport (to the
// subpixel), with the page's scroll for the message.
const afterSkip = `(() => {
	const m = document.querySelector("main"), r = m.getBoundingClientRect();
	return {Hash: location.hash, InMain: document.activeElement === m, MainInView: r.top > -1 && r.top < innerHeight, Top: r.top, Y: scrollY};
})()`

// TestKeyboard: with the keyboard alone (Tab presses, JavaScript off as
// at Tor Browser's Safest level), every link, field and button of the
// reporter's landing page, report form, follow-up form and the desk's
// sign-in form takes the focus, in document order, and shows it with a
// visible outline. The first stop is the skip link, and Enter on it puts
// the focus (and the view) on main.
func TestKeyboard(t *testing.T) {
	needBrowser(t)
	s := startDemo(t, "--jurisdiction", "mn")
	desk := s.deskURL(t)
	agency := s.demoAgency(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	b, err := browsertest.New(ctx, browsertest.Options{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	pages := []string{s.url + "/", s.url + "/report", s.url + "/report?agency=" + agency, s.url + "/followup", s.url + "/protection", desk + "/login",
		"/report/guide", "/report/check"}
	total, skips := 0, 0
	open := func(p, l string) {
		switch p {
		case "/report/guide", "/report/check":
			// The answers to the report form's two buttons: reached by
			// filling the form, as a reporter does.
			must(t, b.Open(s.url+"/report?agency="+agency+"&lang="+l))
			must(t, b.SetValue("#message", "A report about bribery. Call me on 9911-2233."))
			// By the keyboard, as the test is about keyboard users: focus
			// the button and press Enter. (After a mouse click, Chromium
			// may not show the next page's first Tab focus as
			// :focus-visible: it judges by the last input.)
			var ok bool
			must(t, b.Evaluate(`(document.querySelector("`+map[string]string{"/report/guide": "#guide-ask", "/report/check": "#check"}[p]+`").focus(), true)`, &ok))
			must(t, b.PressEnter())
			deadline := time.Now().Add(time.Minute)
			for {
				var at string
				if b.Evaluate(`location.pathname + " " + document.readyState`, &at) == nil && at == p+" complete" {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("%s [%s]: Enter on the form's button did not load %s (at %q)", p, l, p, at)
				}
				time.Sleep(50 * time.Millisecond)
			}
		default:
			sep := "?"
			if strings.Contains(p, "?") {
				sep = "&"
			}
			must(t, b.Open(p+sep+"lang="+l))
		}
	}
	for _, p := range pages {
		for _, l := range []string{"en", "mn"} {
			open(p, l)
			var stops []string
			must(t, b.Evaluate(tabStops, &stops))
			if len(stops) < 3 {
				t.Fatalf("%s [%s]: only %d tab stops: %v", p, l, len(stops), stops)
			}
			var order []int
			for range len(stops) + 2 {
				must(t, b.PressTab(false))
				var f struct {
					Index   int
					Visible bool
					Outline string
				}
				must(t, b.Evaluate(focused, &f))
				if f.Index < 0 {
					continue
				}
				if !f.Visible {
					t.Errorf("%s [%s]: %s has the focus without a visible outline (%s)", p, l, stops[f.Index], f.Outline)
				}
				order = append(order, f.Index)
			}
			for i := range stops {
				if i >= len(order) || order[i] != i {
					t.Errorf("%s [%s]: Tab reached %v of the stops %v, want each in order", p, l, order, stops)
					break
				}
			}
			total += len(stops)

			// The first stop is the skip link; Enter on it moves the
			// focus into main, and the next Tab reaches main's first
			// stop.
			open(p, l)
			must(t, b.Evaluate(tabStops, &stops))
			if stops[0] != "a[href=#main]" {
				t.Errorf("%s [%s]: the first tab stop is %s, not the skip link", p, l, stops[0])
				continue
			}
			must(t, b.PressTab(false))
			var f struct{ Index int }
			must(t, b.Evaluate(focused, &f))
			if f.Index != 0 {
				t.Errorf("%s [%s]: the first Tab focused stop %d, not the skip link", p, l, f.Index)
				continue
			}
			must(t, b.PressEnter())
			var skipped struct {
				Hash       string
				InMain     bool
				MainInView bool
				Top, Y     float64
			}
			must(t, b.Evaluate(afterSkip, &skipped))
			if skipped.Hash != "#main" || !skipped.InMain || !skipped.MainInView {
				t.Errorf("%s [%s]: Enter on the skip link: %+v, want the focus on main and main in view", p, l, skipped)
			}
			must(t, b.PressTab(false))
			var next struct{ InMain bool }
			must(t, b.Evaluate(`({InMain: document.querySelector("main").contains(document.activeElement) && document.activeElement !== document.querySelector("main")})`, &next))
			if !next.InMain {
				t.Errorf("%s [%s]: the Tab after the skip link left main", p, l)
			}
			skips++
		}
	}
	measured(t, "keyboard: %d tab stops on %d pages in 2 languages, each reached by Tab in order with a visible outline; the skip link first and into main on %d", total, len(pages), skips)
}
