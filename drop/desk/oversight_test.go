package desk

import (
	"encoding/csv"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/go-chi/chi/v5"

	"cleandrop/drop/stage"
	"cleandrop/vault"
)

// genCase is one generated case with what the test knows of it from
// making it: the days (from opening) it was first past the initial stage,
// at "acknowledged", and at closed or referred (-1: never), and whether it
// reached a stage that gives the reporter feedback.
type genCase struct {
	c                     vault.Case
	opened                time.Time
	ackAt, acknowledgedAt int
	closeAt               int
	feedback              bool
}

// paths a generated case may follow after "received".
var genPaths = [][]string{
	{},
	{"acknowledged"},
	{"acknowledged", "review"},
	{"acknowledged", "review", "investigating"},
	{"acknowledged", "review", "investigating", "closed"},
	{"acknowledged", "referred"},
	{"review", "closed"},
	{"closed"},
	{"acknowledged", "investigating", "referred"},
}

// generate makes n cases across agencies, opened from 2025-05-01 to the
// day before today, each a few steps along a path on days that are not
// after today.
func generate(n int, agencies []string, today time.Time) []genCase {
	rng := rand.New(rand.NewPCG(9, 2026))
	first := time.Date(2025, 5, 1, 0, 0, 0, 0, time.UTC)
	span := int(today.Sub(first).Hours() / 24)
	var out []genCase
	for i := range n {
		opened := first.AddDate(0, 0, rng.IntN(span))
		g := genCase{opened: opened, ackAt: -1, acknowledgedAt: -1, closeAt: -1}
		c := vault.Case{
			Ref:     fmt.Sprintf("GENREF%04dX", i),
			Agency:  agencies[rng.IntN(len(agencies))],
			Opened:  opened.Format(time.DateOnly),
			History: []vault.Event{{Day: opened.Format(time.DateOnly), Stage: vault.InitialStage, Batch: 1}},
			Stage:   vault.InitialStage,
		}
		at := 0
		for _, s := range genPaths[rng.IntN(len(genPaths))] {
			at += rng.IntN(40)
			day := opened.AddDate(0, 0, at)
			if day.After(today) {
				break
			}
			c.History = append(c.History, vault.Event{Day: day.Format(time.DateOnly), Stage: s, Batch: 1})
			c.Stage = s
			if g.ackAt < 0 {
				g.ackAt = at
			}
			if s == "acknowledged" {
				g.acknowledgedAt = at
			}
			if g.closeAt < 0 && (s == "closed" || s == "referred") {
				g.closeAt = at
			}
			if s == "investigating" || s == "referred" || s == "closed" {
				g.feedback = true
			}
		}
		g.c = c
		out = append(out, g)
	}
	// Cases on the edges of the deadlines: due today (not overdue) and
	// due yesterday (overdue), for the 7 days and for the 3 months.
	for i, e := range []struct {
		opened string
		ack    int // days to "acknowledged", -1 never
	}{{"2026-02-23", -1}, {"2026-02-22", -1}, {"2025-11-30", 2}, {"2025-11-30", 1}} {
		opened, _ := time.Parse(time.DateOnly, e.opened)
		c := vault.Case{
			Ref: fmt.Sprintf("EDGEREF%02dX", i), Agency: agencies[i%len(agencies)], Opened: e.opened, Stage: vault.InitialStage,
			History: []vault.Event{{Day: e.opened, Stage: vault.InitialStage, Batch: 1}},
		}
		g := genCase{opened: opened, ackAt: -1, acknowledgedAt: -1, closeAt: -1}
		if e.ack >= 0 {
			c.Stage = "acknowledged"
			c.History = append(c.History, vault.Event{Day: opened.AddDate(0, 0, e.ack).Format(time.DateOnly), Stage: "acknowledged", Batch: 1})
			g.ackAt, g.acknowledgedAt = e.ack, e.ack
		}
		g.c = c
		out = append(out, g)
	}
	return out
}

// overdueEU says, on its own, whether g is late under Directive
// 2019/1937 as the EU profile reads it: acknowledged within 7 days of
// opening; feedback within 3 months of the acknowledgement, or of the end
// of those 7 days when none was sent.
func overdueEU(g genCase, today time.Time) bool {
	ackDue := g.opened.AddDate(0, 0, 7)
	if g.ackAt < 0 && today.After(ackDue) {
		return true
	}
	start := ackDue
	if g.acknowledgedAt >= 0 {
		start = g.opened.AddDate(0, 0, g.acknowledgedAt)
	}
	return !g.feedback && today.After(threeMonths(start))
}

// threeMonths is the day three months after t, counted as the Directive
// counts periods: the same day of the month, or the last day of a shorter
// month (30 November + 3 months = 28 February).
func threeMonths(t time.Time) time.Time {
	end := time.Date(t.Year(), t.Month()+3, 1, 0, 0, 0, 0, time.UTC)
	if last := end.AddDate(0, 1, -1).Day(); t.Day() > last {
		return end.AddDate(0, 0, last-1)
	}
	return end.AddDate(0, 0, t.Day()-1)
}

// expect is the test's own count of one group of cases.
type expect struct {
	opened, overdue int
	stages          map[string]int
	ack, close      []int
}

func med(v []int) string {
	if len(v) == 0 {
		return ""
	}
	s := slices.Sorted(slices.Values(v))
	var m float64
	if len(s)%2 == 1 {
		m = float64(s[len(s)/2])
	} else {
		m = float64(s[len(s)/2-1]+s[len(s)/2]) / 2
	}
	return strconv.FormatFloat(m, 'f', -1, 64)
}

func (e *expect) add(g genCase, today time.Time) {
	e.opened++
	e.stages[g.c.Stage]++
	if overdueEU(g, today) {
		e.overdue++
	}
	if g.ackAt >= 0 {
		e.ack = append(e.ack, g.ackAt)
	}
	if g.closeAt >= 0 {
		e.close = append(e.close, g.closeAt)
	}
}

func orNone(s string) string {
	if s == "" {
		return "none yet"
	}
	return s
}

var euStages = []string{"received", "acknowledged", "review", "investigating", "referred", "closed"}

// cells is what the page's row shows after its header cell.
func (e *expect) cells(byMonth bool) []string {
	out := []string{strconv.Itoa(e.opened)}
	for _, s := range euStages {
		out = append(out, strconv.Itoa(e.stages[s]))
	}
	out = append(out, strconv.Itoa(e.overdue))
	if byMonth {
		return append(out, strconv.Itoa(len(e.ack)), orNone(med(e.ack)), strconv.Itoa(len(e.close)), orNone(med(e.close)))
	}
	return append(out, orNone(med(e.ack)), orNone(med(e.close)))
}

var (
	rowRe  = regexp.MustCompile(`(?s)<tr>\s*<th scope="row">(?:<a [^>]*>)?([^<]+)(?:</a>)?</th>(.*?)</tr>`)
	cellRe = regexp.MustCompile(`<td>(?:<strong[^>]*>)?([^<]*)`)
)

// tableRows reads a table of the page by id: row header -> cells.
func tableRows(t *testing.T, body, id string) map[string][]string {
	t.Helper()
	i := strings.Index(body, `<table id="`+id+`"`)
	if i < 0 {
		t.Fatalf("no table %s", id)
	}
	tbl := body[i:]
	tbl = tbl[:strings.Index(tbl, "</table>")]
	out := map[string][]string{}
	for _, m := range rowRe.FindAllStringSubmatch(tbl, -1) {
		var cells []string
		for _, c := range cellRe.FindAllStringSubmatch(m[2], -1) {
			cells = append(cells, c[1])
		}
		out[m[1]] = cells
	}
	return out
}

// TestOversightMatchesIndependentCounts generates 240 cases across six
// agencies over ten months and checks the overseer's page and CSV against
// counts the test makes itself from what it generated.
func TestOversightMatchesIndependentCounts(t *testing.T) {
	genAgencies := []string{"gen-a", "gen-b", "gen-c", "gen-d", "gen-e", "gen-f"}
	var extra []Agency
	for _, a := range genAgencies {
		extra = append(extra, Agency{ID: a, Name: "Agency " + strings.ToUpper(a[4:])})
	}
	day := time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC) // the fixture's day
	gen := generate(240, genAgencies, day)
	var cases []vault.Case
	for _, g := range gen {
		cases = append(cases, g.c)
	}
	f := newFixtureWith(t, cases, extra)
	realRef, _ := f.newCase("acc", "a real report")
	eve := f.login("eve", f.enrol("eve", RoleOverseer))

	// The test's own counts: per agency, and per agency and month.
	newExp := func() *expect { return &expect{stages: map[string]int{}} }
	byAgency := map[string]*expect{}
	byMonth := map[string]map[string]*expect{} // agency -> month
	all := map[string]*expect{}
	months := map[string]bool{}
	for _, g := range append(gen, genCase{c: vault.Case{Agency: "acc", Stage: "received", Opened: "2026-03-02"}, opened: day, ackAt: -1, acknowledgedAt: -1, closeAt: -1}) {
		a, m := g.c.Agency, g.c.Opened[:7]
		months[m] = true
		if byAgency[a] == nil {
			byAgency[a], byMonth[a] = newExp(), map[string]*expect{}
		}
		if byMonth[a][m] == nil {
			byMonth[a][m] = newExp()
		}
		if all[m] == nil {
			all[m] = newExp()
		}
		for _, e := range []*expect{byAgency[a], byMonth[a][m], all[m]} {
			e.add(g, day)
		}
	}
	if len(months) < 6 || len(byAgency) < 6 {
		t.Fatalf("generated data too narrow: %d months, %d agencies", len(months), len(byAgency))
	}
	overdue := 0
	for _, e := range byAgency {
		overdue += e.overdue
	}
	if overdue == 0 || overdue == len(gen) {
		t.Fatalf("%d of %d overdue: the data does not test overdue counts", overdue, len(gen))
	}

	names := map[string]string{"acc": "ACC", "other": "Other"}
	for _, a := range extra {
		names[a.ID] = a.Name
	}
	resp, body := eve.get("/oversight")
	if resp.StatusCode != 200 {
		t.Fatalf("oversight page: %d\n%s", resp.StatusCode, body)
	}
	checkHeaders(t, resp.Header, body)
	rows := tableRows(t, body, "agencies")
	for id, name := range names {
		e := byAgency[id]
		if e == nil {
			e = newExp()
		}
		if got, want := rows[name], e.cells(false); !slices.Equal(got, want) {
			t.Errorf("agency %s: page shows %q, want %q", id, got, want)
		}
	}
	if len(rows) != len(names) {
		t.Errorf("page has %d agency rows, want %d", len(rows), len(names))
	}
	check := func(page string, want map[string]*expect) {
		t.Helper()
		_, body := eve.get(page)
		rows := tableRows(t, body, "months")
		if len(rows) != len(want) {
			t.Errorf("%s: %d month rows, want %d", page, len(rows), len(want))
		}
		for m, e := range want {
			if got := rows[m]; !slices.Equal(got, e.cells(true)) {
				t.Errorf("%s month %s: page shows %q, want %q", page, m, got, e.cells(true))
			}
		}
		if !strings.Contains(body, "<svg") || !strings.Contains(body, `<title id="chart-title">`) || !strings.Contains(body, `<desc id="chart-desc">`) {
			t.Errorf("%s: no accessible SVG chart", page)
		}
		noRef(t, page, body, gen, realRef)
	}
	check("/oversight", all)
	for _, a := range genAgencies {
		check("/oversight?agency="+a, byMonth[a])
	}
	noRef(t, "/oversight", body, gen, realRef)

	// The CSV: one line per agency and month.
	resp, body = eve.get("/oversight.csv")
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/csv") {
		t.Fatalf("csv: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	checkHeaders(t, resp.Header, body)
	noRef(t, "/oversight.csv", body, gen, realRef)
	recs, err := csv.NewReader(strings.NewReader(body)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	head := "agency,month,opened,stage_received,stage_acknowledged,stage_review,stage_investigating,stage_referred,stage_closed,overdue,acknowledged,median_days_to_acknowledge,closed,median_days_to_close"
	if strings.Join(recs[0], ",") != head {
		t.Fatalf("csv header %q", recs[0])
	}
	lines := 0
	for a, ms := range byMonth {
		for m, e := range ms {
			lines++
			want := []string{a, m, strconv.Itoa(e.opened)}
			for _, s := range euStages {
				want = append(want, strconv.Itoa(e.stages[s]))
			}
			want = append(want, strconv.Itoa(e.overdue), strconv.Itoa(len(e.ack)), med(e.ack), strconv.Itoa(len(e.close)), med(e.close))
			if !slices.ContainsFunc(recs[1:], func(r []string) bool { return slices.Equal(r, want) }) {
				t.Errorf("csv lacks %q", want)
			}
		}
	}
	if len(recs)-1 != lines {
		t.Errorf("csv has %d lines, want %d", len(recs)-1, lines)
	}

	// Every view was audited, and names no case.
	var views []string
	for _, a := range actions(t, f.audit) {
		if strings.HasPrefix(a, "eve oversight.") {
			views = append(views, a)
		}
	}
	// The sign-in lands on the page too: 3 full views, one per agency,
	// and the CSV.
	if len(views) != 3+len(genAgencies)+1 {
		t.Errorf("audited views %q", views)
	}
	for _, v := range views {
		if !strings.HasSuffix(v, " ") {
			t.Errorf("audit entry %q names a case", v)
		}
	}
}

func noRef(t *testing.T, page, body string, gen []genCase, real string) {
	t.Helper()
	if strings.Contains(body, real) {
		t.Errorf("%s names the real case %s", page, real)
	}
	for _, g := range gen {
		if strings.Contains(body, g.c.Ref) {
			t.Fatalf("%s names case %s", page, g.c.Ref)
		}
	}
}

// TestOversightOnlyForOverseers: officers and supervisors get a translated
// 403 on the page and the CSV; an overseer gets no case, and one limited
// to some agencies sees only theirs.
func TestOversightOnlyForOverseers(t *testing.T) {
	f := newFixture(t)
	ref, _ := f.newCase("acc", "report")
	f.newCase("other", "report")
	alice := f.login("alice", f.enrol("alice", RoleOfficer, "acc"))
	sam := f.login("sam", f.enrol("sam", RoleSupervisor, "acc"))
	for who, b := range map[string]*browser{"officer": alice, "supervisor": sam} {
		for _, p := range []string{"/oversight", "/oversight.csv", "/oversight?lang=ko"} {
			resp, body := b.get(p)
			if resp.StatusCode != http.StatusForbidden {
				t.Errorf("%s %s: %d, want 403", who, p, resp.StatusCode)
			}
			want := "Only the oversight body can see this page."
			if strings.HasSuffix(p, "ko") {
				want = "이 페이지는 감독 기관만 볼 수 있습니다."
			}
			if !strings.Contains(body, want) {
				t.Errorf("%s %s: no translated refusal", who, p)
			}
		}
	}

	// An overseer limited to "other" has no case list, no case, no API
	// case, and oversees only "other".
	olga := f.login("olga", f.enrol("olga", RoleOverseer, "other"))
	if resp, body := olga.get("/"); resp.Request.URL.Path != "/oversight" || strings.Contains(body, ref) {
		t.Errorf("overseer's desk: %s", resp.Request.URL.Path)
	}
	if resp, _ := olga.get("/cases/" + ref); resp.StatusCode == 200 {
		t.Error("an overseer opened a case")
	}
	_, body := olga.get("/oversight.csv")
	recs, _ := csv.NewReader(strings.NewReader(body)).ReadAll()
	if len(recs) != 2 || recs[1][0] != "other" || recs[1][2] != "1" {
		t.Errorf("limited overseer's csv: %q", recs)
	}
	if resp, _ := olga.get("/oversight?agency=acc"); resp.StatusCode != http.StatusNotFound {
		t.Errorf("limited overseer asked for another agency: %d", resp.StatusCode)
	}
	tok, err := f.acc.NewToken("olga", "t")
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest("GET", f.srv.URL+"/api/v1/cases", nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	list, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || strings.TrimSpace(string(list)) != "[]" {
		t.Errorf("an overseer's API case list: %d %s", resp.StatusCode, list)
	}
	if n, err := CountWaiting(f.store, []vault.Case{{Ref: ref, Agency: "other", Stage: "received", Opened: "2026-03-01"}}, stage.EU, Officer{Name: "olga", Role: RoleOverseer, Agencies: []string{"other"}}, "2026-03-02"); err != nil || n != (Waiting{}) {
		t.Errorf("an overseer's digest counts cases: %+v", n)
	}
}

// TestSecurityHeadersAsOverseer walks every route of the desk signed in
// as an overseer: each answer, whatever its status, has the headers.
func TestSecurityHeadersAsOverseer(t *testing.T) {
	f := newFixture(t)
	ref, _ := f.newCase("acc", "report")
	eve := f.login("eve", f.enrol("eve", RoleOverseer))
	var routes []string
	chi.Walk(f.h.(chi.Routes), func(method, route string, _ http.Handler, _ ...func(http.Handler) http.Handler) error {
		routes = append(routes, method+" "+route)
		return nil
	})
	if !slices.Contains(routes, "GET /oversight") || !slices.Contains(routes, "GET /oversight.csv") {
		t.Fatalf("oversight routes not walked: %v", routes)
	}
	fill := strings.NewReplacer("{ref}", ref, "{id}", "1", "{token}", "x", "/*", "")
	for _, rt := range routes {
		method, path, _ := strings.Cut(rt, " ")
		path = fill.Replace(path)
		if path == "/logout" {
			continue // the rest stays signed in
		}
		var resp *http.Response
		var body string
		if method == http.MethodGet {
			resp, body = eve.get(path)
		} else {
			resp, body = eve.post(path, nil)
		}
		checkHeaders(t, resp.Header, body)
		if resp.StatusCode == http.StatusUnauthorized && !strings.HasPrefix(path, "/api/") && !strings.HasPrefix(path, "/enrol/") && path != "/login" {
			t.Fatalf("%s: signed out", rt)
		}
		if strings.HasPrefix(path, "/cases/") && resp.StatusCode < 400 {
			t.Errorf("%s: an overseer got %d", rt, resp.StatusCode)
		}
	}
}
