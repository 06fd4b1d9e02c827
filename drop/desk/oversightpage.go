package desk

import (
	"cmp"
	"encoding/csv"
	"fmt"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"cleandrop/drop/web"
)

// chartMonths is how many months, the latest, the chart draws; the table
// under it has them all.
const chartMonths = 24

type oversightData struct {
	Nav      nav
	Policy   string
	Today    string
	Stages   []stageOption
	Agencies []oversightAgency
	// Focus is the agency the monthly part is narrowed to, "" for all.
	Focus, FocusName string
	Months           []oversightMonth
	Chart            *chart
}

// oversightAgency is one line of the summary: an agency in all months.
type oversightAgency struct {
	ID, Name string
	Opened   int
	Stages   []int // in the policy's order of stages
	Overdue  int
	Ack      string
	Close    string
}

type oversightMonth struct {
	Month           string
	Opened, Overdue int
	Acknowledged    int
	AckMedian       string
	Closed          int
	CloseMedian     string
	Stages          []int
}

// chart is a bar chart of the monthly medians, drawn by the template as
// inline SVG (no script; CSP allows it, as it loads nothing).
type chart struct {
	Width, Height int
	Left, Bottom  int // the plot area's left and bottom edges
	Bars          []bar
	Ticks         []tick
	Labels        []tick // months under the bars
}

// LegendY is the top of the legend's line i (0 or 1), under the month
// labels: one line each, as translations can be long.
func (c *chart) LegendY(i int) int { return c.Bottom + 26 + 18*i }

type bar struct {
	X, Y, W, H float64
	Close      bool // a bar of days to close; else days to acknowledge
	Month      string
	Value      string
}

type tick struct {
	X, Y  float64
	Label string
}

// overseen is what the signed-in overseer may see, computed afresh. Anyone
// else gets 403; ok is false once the answer is written.
func (h *handler) overseen(w http.ResponseWriter, r *http.Request) (me who, all []*agencyOversight, ok bool) {
	me = whoOf(r)
	if !me.Overseer() {
		h.fail(w, r, http.StatusForbidden, "desk.error.not_overseer", "/")
		return me, nil, false
	}
	cs, err := h.cfg.Store.Cases()
	if err != nil {
		h.internal(w, r, "cases")
		return me, nil, false
	}
	return me, oversee(cs, h.cfg.Policy, h.today(), me.oversees), true
}

// agencyNames maps the configured agencies' IDs to their names; an
// agency no longer configured shows by its ID.
func (h *handler) agencyNames() func(id string) string {
	names := make(map[string]string, len(h.cfg.Agencies))
	for _, a := range h.cfg.Agencies {
		names[a.ID] = a.Name
	}
	return func(id string) string {
		if n, ok := names[id]; ok {
			return n
		}
		return id
	}
}

func stageCounts(stages []string, t *tally) []int {
	out := make([]int, len(stages))
	for i, s := range stages {
		out[i] = t.Stages[s]
	}
	return out
}

// oversightPage shows an overseer, per agency, the cases by stage, the
// overdue ones and the median days to acknowledge and to close, and by
// month of opening for all agencies or the one ?agency= names. It names
// no case. Anyone else gets 403. The view is audited first.
func (h *handler) oversightPage(w http.ResponseWriter, r *http.Request) {
	me, all, ok := h.overseen(w, r)
	if !ok {
		return
	}
	// Agencies of the configuration without cases show as zeros.
	seen := map[string]bool{}
	for _, a := range all {
		seen[a.Agency] = true
	}
	for _, a := range h.cfg.Agencies {
		if !seen[a.ID] && me.oversees(a.ID) {
			all = append(all, &agencyOversight{Agency: a.ID, All: newTally(), Months: map[string]*tally{}})
		}
	}
	focus := strings.TrimSpace(r.URL.Query().Get("agency"))
	var focused []*agencyOversight
	for _, a := range all {
		if focus == "" || a.Agency == focus {
			focused = append(focused, a)
		}
	}
	if focus != "" && len(focused) == 0 {
		h.fail(w, r, http.StatusNotFound, "error.not_found", "/oversight")
		return
	}
	if h.audit(r, "oversight.view", "", focus) != nil {
		h.internal(w, r, "audit")
		return
	}
	name := h.agencyNames()
	d := oversightData{Nav: h.navOf(r), Policy: h.cfg.Policy.Name, Today: h.today(), Stages: h.stageOptions(""), Focus: focus}
	if focus != "" {
		d.FocusName = name(focus)
	}
	for _, a := range all {
		d.Agencies = append(d.Agencies, oversightAgency{
			ID: a.Agency, Name: name(a.Agency), Opened: a.All.Opened,
			Stages: stageCounts(h.cfg.Policy.Stages, a.All), Overdue: a.All.Overdue,
			Ack: a.All.AckMedian(), Close: a.All.CloseMedian(),
		})
	}
	// The agencies that let most cases run late come first.
	slices.SortStableFunc(d.Agencies, func(x, y oversightAgency) int {
		if c := cmp.Compare(y.Overdue, x.Overdue); c != 0 {
			return c
		}
		return cmp.Compare(x.ID, y.ID)
	})
	months := mergeMonths(focused)
	var keys []string
	for m := range months {
		keys = append(keys, m)
	}
	slices.Sort(keys)
	for _, m := range keys {
		t := months[m]
		d.Months = append(d.Months, oversightMonth{
			Month: m, Opened: t.Opened, Overdue: t.Overdue,
			Acknowledged: t.Acknowledged(), AckMedian: t.AckMedian(),
			Closed: t.Closed(), CloseMedian: t.CloseMedian(),
			Stages: stageCounts(h.cfg.Policy.Stages, t),
		})
	}
	d.Chart = drawChart(keys, months)
	h.page(w, r, http.StatusOK, "oversight", web.Page{Data: d})
}

// drawChart lays out two bars per month (median days to acknowledge, to
// close) for the latest [chartMonths] months; nil when there are none.
func drawChart(months []string, by map[string]*tally) *chart {
	if len(months) == 0 {
		return nil
	}
	if len(months) > chartMonths {
		months = months[len(months)-chartMonths:]
	}
	c := &chart{Width: 640, Height: 290, Left: 48, Bottom: 240}
	top, right := 16.0, float64(c.Width-8)
	peak := 1.0
	for _, m := range months {
		for _, days := range [][]int{by[m].ack, by[m].close} {
			if v, ok := medianValue(days); ok {
				peak = max(peak, v)
			}
		}
	}
	// A round top for the axis: 1, 2 or 5 times a power of ten.
	step := math.Pow(10, math.Floor(math.Log10(peak)))
	for _, f := range []float64{1, 2, 5, 10} {
		if f*step >= peak {
			step *= f
			break
		}
	}
	axisTop := step
	height := float64(c.Bottom) - top
	for i := 0; i <= 4; i++ {
		v := axisTop * float64(i) / 4
		c.Ticks = append(c.Ticks, tick{X: float64(c.Left) - 6, Y: float64(c.Bottom) - height*float64(i)/4, Label: strconv.FormatFloat(v, 'f', -1, 64)})
	}
	slot := (right - float64(c.Left)) / float64(len(months))
	bw := slot * 0.35
	for i, m := range months {
		x := float64(c.Left) + slot*float64(i) + slot*0.12
		for j, days := range [][]int{by[m].ack, by[m].close} {
			v, ok := medianValue(days)
			if !ok {
				continue
			}
			bh := height * v / axisTop
			c.Bars = append(c.Bars, bar{X: x + float64(j)*bw, Y: float64(c.Bottom) - bh, W: bw, H: bh, Close: j == 1, Month: m, Value: median(days)})
		}
		// Label every month when they fit, else every third.
		if len(months) <= 12 || i%3 == 0 {
			c.Labels = append(c.Labels, tick{X: float64(c.Left) + slot*float64(i) + slot/2, Y: float64(c.Bottom) + 18, Label: m})
		}
	}
	return c
}

// oversightCSV sends the overseer's aggregates, one line per agency and
// month of opening; the columns are in docs/interfaces.md. It names no
// case. The download is audited first.
func (h *handler) oversightCSV(w http.ResponseWriter, r *http.Request) {
	_, all, ok := h.overseen(w, r)
	if !ok {
		return
	}
	if h.audit(r, "oversight.csv", "", "") != nil {
		h.internal(w, r, "audit")
		return
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="oversight-%s.csv"`, h.today()))
	cw := csv.NewWriter(w)
	head := []string{"agency", "month", "opened"}
	for _, s := range h.cfg.Policy.Stages {
		head = append(head, "stage_"+s)
	}
	head = append(head, "overdue", "acknowledged", "median_days_to_acknowledge", "closed", "median_days_to_close")
	cw.Write(head)
	for _, a := range all {
		for _, m := range a.sortedMonths() {
			t := a.Months[m]
			row := []string{csvSafe(a.Agency), m, strconv.Itoa(t.Opened)}
			for _, n := range stageCounts(h.cfg.Policy.Stages, t) {
				row = append(row, strconv.Itoa(n))
			}
			row = append(row, strconv.Itoa(t.Overdue), strconv.Itoa(t.Acknowledged()), t.AckMedian(), strconv.Itoa(t.Closed()), t.CloseMedian())
			cw.Write(row)
		}
	}
	cw.Flush()
}

// csvSafe keeps a spreadsheet from reading a field as a formula.
func csvSafe(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}
