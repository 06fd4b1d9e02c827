package source

import (
	"errors"
	"mime"
	"net/http"
	"strings"

	"cleandrop/drop/exposure"
	"cleandrop/drop/guide"
	"cleandrop/drop/jurisdiction"
	"cleandrop/drop/web"
)

// The two steps before a report is sent, both plain form posts
// (urlencoded, no JavaScript): POST /report/guide asks the guide what the
// draft is about and shows step 1 again with its answer; POST
// /report/check shows step 2, the identifying details found in the
// draft, the draft to edit, and the file input with the button that
// sends everything to POST /report.
//
// A draft is read into memory, bounded by [MaxDraft], looked at and
// answered; it is never logged, stored or kept after the answer, and
// nothing about it (not even its length) reaches the log.

// Guide is what the report page needs from the report guide
// ([guide.Guide]).
type Guide interface {
	Suggest(text, lang string) guide.Result
}

// MaxDraft bounds the body of a guide or check request: the draft and
// the few fields beside it.
const MaxDraft = 1 << 20

// DraftsPerCircuit is how many guide or check answers one circuit may
// have waiting or being computed at once; more are refused with 429.
const DraftsPerCircuit = 2

// draftView is what steps 1 and 2 show beyond the empty form.
type draftView struct {
	Message  string
	Asked    bool          // the guide was asked: show its answer
	Guide    *guideView    // its answer (nil: nothing suggested)
	Checked  bool          // the check ran (step 2, or with the guide)
	Findings []findingView // what it found
}

type guideView struct {
	Categories []categoryView
	Agency     *agencyView // the body to pick, if one is configured
	Picked     bool        // it is the one chosen already
	Template   string
	// TemplateIn: the draft holds the template already.
	TemplateIn bool
}

type categoryView struct {
	ID, NameKey          string
	Laws                 []jurisdiction.Basis
	Explain, ExplainLang string // ExplainLang is "" when in the page's language
	Matched              []string
}

type findingView struct{ Kind, KindKey, Passage string }

// readDraft reads an urlencoded guide or check request. It answers the
// error itself and returns false when the request cannot be read.
func (h *handler) readDraft(w http.ResponseWriter, r *http.Request) bool {
	r.Body = http.MaxBytesReader(w, r.Body, MaxDraft)
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if ct != "application/x-www-form-urlencoded" {
		h.reportError(w, r, http.StatusBadRequest, "error.bad_form")
		return false
	}
	if err := r.ParseForm(); err != nil {
		var tooBig *http.MaxBytesError
		switch {
		case errors.As(err, &tooBig):
			h.reportError(w, r, http.StatusRequestEntityTooLarge, "draft.error.too_large")
		case errors.Is(err, web.ErrBodyIdle):
			h.reportError(w, r, http.StatusRequestTimeout, "error.idle")
		default:
			h.reportError(w, r, http.StatusBadRequest, "error.bad_form")
		}
		return false
	}
	return true
}

// draftPage renders the report page, step 1 or 2, keeping what was typed.
func (h *handler) draftPage(w http.ResponseWriter, r *http.Request, status int, errKey, agency string, step2 bool, v draftView) {
	d := h.reportData(r, agency)
	d.Step2 = step2
	d.Draft = v
	h.page(w, r, status, "report", web.Page{ErrorKey: errKey, Data: d})
}

// askGuide serves POST /report/guide: step 1 again, with the guide's
// answer and the identifying details in the draft. A "pick" field chooses
// the suggested body; "use_template" puts the template above the draft.
func (h *handler) askGuide(w http.ResponseWriter, r *http.Request) {
	if !h.readDraft(w, r) {
		return
	}
	f := r.PostForm
	msg := f.Get("message")
	agency := f.Get("agency")
	if pick := f.Get("pick"); pick != "" {
		agency = pick
	}
	if agency != "" && h.agencies[agency].ID == "" {
		h.draftPage(w, r, http.StatusBadRequest, "report.error.agency", "", false, draftView{Message: msg})
		return
	}
	if strings.TrimSpace(msg) == "" {
		h.draftPage(w, r, http.StatusBadRequest, "guide.error.empty", agency, false, draftView{Message: msg})
		return
	}
	var res guide.Result
	var found []exposure.Finding
	lang := web.Lang(r)
	used := false
	err := h.drafts.Do(r.Context(), web.Circuit(r.Context()), func() {
		res = h.cfg.Guide.Suggest(msg, "")
		if f.Get("use_template") != "" && res.Template != "" && !strings.Contains(msg, res.Template) {
			msg = res.Template + "\n\n" + msg
			used = true
		}
		found = exposure.Check(msg)
	})
	if err != nil {
		h.draftBusy(w, r, err, agency, msg)
		return
	}
	v := draftView{Message: msg, Asked: true, Checked: true, Findings: findingViews(found)}
	if v.Guide = h.guideView(res, agency, msg, lang); v.Guide != nil && used {
		v.Guide.TemplateIn = true
	}
	h.draftPage(w, r, http.StatusOK, "", agency, false, v)
}

// checkDraft serves POST /report/check: step 2.
func (h *handler) checkDraft(w http.ResponseWriter, r *http.Request) {
	if !h.readDraft(w, r) {
		return
	}
	msg := r.PostForm.Get("message")
	agency := r.PostForm.Get("agency")
	if h.agencies[agency].ID == "" {
		h.draftPage(w, r, http.StatusBadRequest, "report.error.agency", "", false, draftView{Message: msg})
		return
	}
	var found []exposure.Finding
	err := h.drafts.Do(r.Context(), web.Circuit(r.Context()), func() {
		found = exposure.Check(msg)
	})
	if err != nil {
		h.draftBusy(w, r, err, agency, msg)
		return
	}
	h.draftPage(w, r, http.StatusOK, "", agency, true, draftView{Message: msg, Checked: true, Findings: findingViews(found)})
}

// draftBusy answers a guide or check request that got no turn: the
// circuit has its share running (429), or it went away while waiting.
func (h *handler) draftBusy(w http.ResponseWriter, r *http.Request, err error, agency, msg string) {
	if r.Context().Err() != nil {
		return
	}
	status := http.StatusServiceUnavailable
	key := "error.busy"
	if errors.Is(err, web.ErrBusy) {
		status, key = http.StatusTooManyRequests, "error.circuit_busy"
	}
	h.draftPage(w, r, status, key, agency, false, draftView{Message: msg})
}

func findingViews(fs []exposure.Finding) []findingView {
	var out []findingView
	for _, f := range fs {
		out = append(out, findingView{Kind: f.Kind, KindKey: "exposure.kind." + f.Kind, Passage: f.Passage})
	}
	return out
}

// guideView is the guide's answer as the page shows it (with or without
// categories: the outline is offered either way): each category
// with the pack's laws and plain-language line, and the body to pick,
// when it is configured here (else the central body, when there is one).
func (h *handler) guideView(res guide.Result, chosen, msg, lang string) *guideView {
	g := &guideView{Template: res.Template}
	g.TemplateIn = res.Template != "" && strings.Contains(msg, res.Template)
	for _, m := range res.Categories {
		c := categoryView{ID: m.ID, NameKey: "category." + m.ID, Matched: m.Matched}
		if p := h.cfg.Pack; p != nil {
			law := p.Laws[m.ID]
			c.Laws = law.Laws
			var in string
			if c.Explain, in = p.In(law.Explain, lang); in != lang {
				c.ExplainLang = in
			}
		}
		g.Categories = append(g.Categories, c)
	}
	if len(g.Categories) == 0 {
		return g
	}
	e := h.dir.byID[res.Agency]
	if e == nil {
		e = h.dir.central
	}
	if e != nil {
		v := h.dir.view(e, lang)
		g.Agency = &v
		g.Picked = e.ID == chosen
	}
	return g
}

// draftKeys are the message keys the draft steps pick at run time.
func draftKeys() []string {
	keys := []string{"draft.error.too_large", "guide.error.empty"}
	for _, k := range exposure.Kinds {
		keys = append(keys, "exposure.kind."+k)
	}
	for _, c := range jurisdiction.Categories {
		keys = append(keys, "category."+c)
	}
	return keys
}
