package source

import (
	"net/http"
	"slices"
	"sync"
	"time"

	"cleandrop/drop/stage"
	"cleandrop/drop/web"
	"cleandrop/vault"
)

// Cases is what the public statistics page reads: case metadata, of
// which it uses only each case's agency and the day it was opened.
type Cases interface {
	Cases() ([]vault.Case, error)
}

// Statistics published on the page.
const (
	// StatsFew is the smallest count shown as a number; smaller ones
	// (zero too) read "fewer than 5".
	StatsFew = 5
	// StatsMonths is how many complete months the page shows at most.
	StatsMonths = 12
)

// statsTable is the page's table, computed at most once a day ([stats]).
type statsTable struct {
	Months []string // complete months, oldest first, "2006-01"
	Rows   []statsRow
	Total  statsRow
}

type statsRow struct {
	ID    string      // the agency's; the page shows its name in the page's language
	Cells []statsCell // by month
}

// statsPage is the table as one page shows it: names in its language.
type statsPage struct {
	Months []string
	Rows   []statsRowView
	Total  statsRow
}

type statsRowView struct {
	Name, NameLang string
	Cells          []statsCell
}

// statsCell is one count. Few hides it ("fewer than 5"); Hidden hides a
// larger count that would give a smaller one away ("not shown").
type statsCell struct {
	N      int
	Few    bool
	Hidden bool
}

// statsCache holds the table of one day. The table is never changed once
// made: a request takes it under mu and renders it after.
type statsCache struct {
	mu    sync.Mutex
	day   string
	table *statsTable
}

// stats shows the number of reports each agency received per month, for
// the complete months before the current one. The table is computed on
// the first request of a day and served as is until the next day, so
// watching the page tells nothing finer than a day; only complete months
// are shown, so the figures change once a month. A count below
// [StatsFew] reads "fewer than 5", and when one agency's count is hidden
// in a month whose total shows, the next smallest is hidden too, so that
// no hidden count is the total minus the others.
func (h *handler) stats(w http.ResponseWriter, r *http.Request) {
	table, err := h.statsTable(stage.Today(h.cfg.Now()))
	if err != nil {
		h.log.Error("statistics failed")
		h.fail(w, r, http.StatusInternalServerError, "error.internal", "/")
		return
	}
	lang := web.Lang(r)
	page := statsPage{Months: table.Months, Total: table.Total, Rows: make([]statsRowView, len(table.Rows))}
	for i, row := range table.Rows {
		v := statsRowView{Name: row.ID, NameLang: "en", Cells: row.Cells}
		if e := h.dir.byID[row.ID]; e != nil {
			av := h.dir.view(e, lang)
			v.Name, v.NameLang = av.Name, av.NameLang
		}
		page.Rows[i] = v
	}
	h.page(w, r, http.StatusOK, "stats", web.Page{Data: page})
}

// statsTable returns today's table, computing it on the day's first
// request. Only that is done under the cache's lock; rendering is not.
func (h *handler) statsTable(today string) (*statsTable, error) {
	c := &h.statsCache
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.day != today || c.table == nil {
		cs, err := h.cfg.Stats.Cases()
		if err != nil {
			return nil, err
		}
		t := statsOf(cs, h.cfg.Agencies, today)
		c.table, c.day = &t, today
	}
	return c.table, nil
}

// statsOf counts cases by agency and month of opening, for the complete
// months (at most [StatsMonths]) before today's, from the first month
// that has a case. Cases of agencies not in agencies are left out.
func statsOf(cases []vault.Case, agencies []Agency, today string) statsTable {
	t, err := time.Parse(time.DateOnly, today)
	if err != nil {
		return statsTable{}
	}
	current := t.Format("2006-01")
	idx := map[string]int{}
	for i, a := range agencies {
		idx[a.ID] = i
	}
	counts := map[string][]int{} // month -> by agency
	first := ""
	for _, c := range cases {
		i, ok := idx[c.Agency]
		if !ok || len(c.Opened) < 7 {
			continue
		}
		m := c.Opened[:7]
		if m >= current {
			continue
		}
		if counts[m] == nil {
			counts[m] = make([]int, len(agencies))
		}
		counts[m][i]++
		if first == "" || m < first {
			first = m
		}
	}
	var st statsTable
	if first == "" {
		return st
	}
	start := time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, time.UTC)
	for k := StatsMonths; k >= 1; k-- {
		m := start.AddDate(0, -k, 0).Format("2006-01")
		if m >= first {
			st.Months = append(st.Months, m)
		}
	}
	st.Rows = make([]statsRow, len(agencies))
	for i, a := range agencies {
		st.Rows[i].ID = a.ID
	}
	for _, m := range st.Months {
		by := counts[m]
		if by == nil {
			by = make([]int, len(agencies))
		}
		total := 0
		var hidden []int
		for i, n := range by {
			total += n
			few := n < StatsFew
			if few {
				hidden = append(hidden, i)
			}
			st.Rows[i].Cells = append(st.Rows[i].Cells, statsCell{N: n, Few: few})
		}
		tc := statsCell{N: total, Few: total < StatsFew}
		st.Total.Cells = append(st.Total.Cells, tc)
		if len(hidden) == 1 && !tc.Few {
			// Hide the smallest shown count too.
			j := -1
			for i, n := range by {
				if i != hidden[0] && (j < 0 || n < by[j]) {
					j = i
				}
			}
			if j >= 0 {
				st.Rows[j].Cells[len(st.Rows[j].Cells)-1].Hidden = true
			}
		}
	}
	// An agency whose every count is hidden says nothing: leave it out,
	// which keeps the page small with a thousand agencies.
	st.Rows = slices.DeleteFunc(st.Rows, func(r statsRow) bool {
		return !slices.ContainsFunc(r.Cells, func(c statsCell) bool { return !c.Few && !c.Hidden })
	})
	slices.Reverse(st.Months) // newest first on the page
	for i := range st.Rows {
		slices.Reverse(st.Rows[i].Cells)
	}
	slices.Reverse(st.Total.Cells)
	return st
}
