package source

import (
	"net/http"

	"cleandrop/drop/jurisdiction"
	"cleandrop/drop/web"
)

// infoData is the protection or the rewards page: the pack's text in the
// reporter's language, or in English (then marked with its own lang) when
// the pack has no text in it.
type infoData struct {
	Title    infoText
	Sections []infoSection
	Checked  string
	Fallback bool // some text is not in the page's language
	Other    string
	OtherKey string
	// ReportHref is where "Make a report" leads, as on the landing page;
	// MaxQuery bounds the directory search offered beside it, so that a
	// reporter who has read the page finds the body in one more load.
	ReportHref string
	MaxQuery   int
}

// SearchForm is the directory's search form offered on the page, empty.
func (d infoData) SearchForm() searchForm { return searchForm{MaxQuery: d.MaxQuery} }

type infoText struct{ Text, Lang string }

type infoSection struct {
	ID            string
	Heading, Text infoText
	Verify        bool
}

func (h *handler) protection(w http.ResponseWriter, r *http.Request) {
	h.info(w, r, h.cfg.Pack.Protection, "/rewards", "index.rewards")
}

func (h *handler) rewards(w http.ResponseWriter, r *http.Request) {
	h.info(w, r, h.cfg.Pack.Rewards, "/protection", "index.protection")
}

func (h *handler) info(w http.ResponseWriter, r *http.Request, pg jurisdiction.Page, other, otherKey string) {
	lang := web.Lang(r)
	p := h.cfg.Pack
	d := infoData{Checked: p.Checked, Other: other, OtherKey: otherKey, ReportHref: h.reportHref(), MaxQuery: MaxQuery}
	pick := func(t jurisdiction.Text) infoText {
		s, in := p.In(t, lang)
		if in != lang {
			d.Fallback = true
		}
		return infoText{s, in}
	}
	d.Title = pick(pg.Title)
	for _, s := range pg.Sections {
		d.Sections = append(d.Sections, infoSection{ID: s.ID, Heading: pick(s.Heading), Text: pick(s.Text), Verify: s.Verify})
	}
	h.page(w, r, http.StatusOK, "info", web.Page{Data: d})
}
