package desk

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/go-chi/chi/v5"

	"cleandrop/drop/stage"
	"cleandrop/drop/web"
	"cleandrop/vault"
)

// deadlineRow is one running legal deadline as pages and the API show it.
type deadlineRow struct {
	Rule    string `json:"rule"`
	RuleKey string `json:"-"` // message key, "" when the catalogue has none
	Due     string `json:"due"`
	Left    int    `json:"days_left"` // negative when overdue
	Late    int    `json:"-"`         // days overdue
	Overdue bool   `json:"overdue"`
}

// caseRow is one line of the case list.
type caseRow struct {
	Ref, Agency, Stage, StageKey, Opened string
	Next                                 *deadlineRow
	Unread                               int
}

func (h *handler) stageKey(s string) string {
	if k := "stage." + s; h.cfg.Catalog.HasKey(k) {
		return k
	}
	return ""
}

func (h *handler) deadline(d stage.Deadline) deadlineRow {
	row := deadlineRow{Rule: d.Rule, Due: d.Due, Left: d.Left, Overdue: d.Overdue, Late: max(0, -d.Left)}
	if k := "desk.deadline." + d.Rule; h.cfg.Catalog.HasKey(k) {
		row.RuleKey = k
	}
	return row
}

// readable returns the cases of the officer's agencies, by reference.
func (h *handler) readable(o Officer) ([]vault.Case, error) {
	all, err := h.cfg.Store.Cases()
	if err != nil {
		return nil, err
	}
	return slices.DeleteFunc(all, func(c vault.Case) bool { return !o.mayRead(c.Agency) }), nil
}

// scoped returns the cases of the officer's agencies, overdue first, then
// by the next deadline, then those with none, each by reference.
func (h *handler) scoped(o Officer) ([]vault.Case, []caseRow, error) {
	all, err := h.readable(o)
	if err != nil {
		return nil, nil, err
	}
	today := h.today()
	var cs []vault.Case
	var rows []caseRow
	for _, c := range all {
		row := caseRow{Ref: c.Ref, Agency: c.Agency, Stage: c.Stage, StageKey: h.stageKey(c.Stage), Opened: c.Opened}
		if d, ok := h.cfg.Policy.Next(c, today); ok {
			dr := h.deadline(d)
			row.Next = &dr
		}
		if row.Unread, err = h.unread(o.Name, c); err != nil {
			return nil, nil, err
		}
		cs = append(cs, c)
		rows = append(rows, row)
	}
	idx := make([]int, len(rows))
	for i := range idx {
		idx[i] = i
	}
	slices.SortStableFunc(idx, func(a, b int) int {
		ra, rb := rows[a], rows[b]
		switch {
		case ra.Next != nil && rb.Next == nil:
			return -1
		case ra.Next == nil && rb.Next != nil:
			return 1
		case ra.Next != nil && ra.Next.Left != rb.Next.Left:
			return ra.Next.Left - rb.Next.Left
		}
		return strings.Compare(ra.Ref, rb.Ref)
	})
	sc, sr := make([]vault.Case, len(idx)), make([]caseRow, len(idx))
	for i, j := range idx {
		sc[i], sr[i] = cs[j], rows[j]
	}
	return sc, sr, nil
}

// reporterKind reports whether items of kind come from the reporter.
func reporterKind(k vault.Kind) bool {
	return k == vault.KindReport || k == vault.KindAnswer || k == vault.KindAttachment
}

func seenID(officer, ref string) string { return officer + "/" + ref }

// unread counts the reporter's items added since the officer last opened
// the case.
func (h *handler) unread(officer string, c vault.Case) (int, error) {
	return unread(h.cfg.Store, officer, c)
}

func unread(st Store, officer string, c vault.Case) (int, error) {
	seen := 0
	b, err := st.Record(kindSeen, seenID(officer, c.Ref))
	switch {
	case err == nil:
		seen, _ = strconv.Atoi(string(b))
	case !errors.Is(err, vault.ErrNotFound):
		return 0, err
	}
	n := 0
	for _, it := range c.Items {
		if it.ID > seen && reporterKind(it.Kind) {
			n++
		}
	}
	return n, nil
}

func (h *handler) markSeen(officer string, c vault.Case) error {
	last := 0
	for _, it := range c.Items {
		last = max(last, it.ID)
	}
	return h.cfg.Store.PutRecord(kindSeen, seenID(officer, c.Ref), []byte(strconv.Itoa(last)))
}

type stageOption struct {
	Name, Key string
	Current   bool
}

type listData struct {
	Nav     nav
	Rows    []caseRow
	Stages  []stageOption
	Overdue bool
	Total   int
}

func (h *handler) stageOptions(current string) []stageOption {
	var out []stageOption
	for _, s := range h.cfg.Policy.Stages {
		out = append(out, stageOption{Name: s, Key: h.stageKey(s), Current: s == current})
	}
	return out
}

func (h *handler) navOf(r *http.Request) nav {
	me := whoOf(r)
	return nav{Name: me.Name, Supervisor: me.Supervisor()}
}

// caseList shows the officer's cases, filtered by ?stage= and ?overdue=1.
func (h *handler) caseList(w http.ResponseWriter, r *http.Request) {
	me := whoOf(r)
	_, rows, err := h.scoped(me.Officer)
	if err != nil {
		h.internal(w, r, "cases")
		return
	}
	q := r.URL.Query()
	want, overdue := q.Get("stage"), q.Get("overdue") == "1"
	d := listData{Nav: h.navOf(r), Stages: h.stageOptions(want), Overdue: overdue, Total: len(rows)}
	for _, row := range rows {
		if (want == "" || row.Stage == want) && (!overdue || (row.Next != nil && row.Next.Overdue)) {
			d.Rows = append(d.Rows, row)
		}
	}
	h.page(w, r, http.StatusOK, "cases", web.Page{Data: d, Flash: me.s.takeFlash()})
}

// load returns case ref if it exists and is in the officer's scope; a case
// of another agency is as absent as one that never existed.
func (h *handler) load(r *http.Request) (vault.Case, error) {
	ref := chi.URLParam(r, "ref")
	if ref == "" || len(ref) > 64 {
		return vault.Case{}, vault.ErrNotFound
	}
	c, err := h.cfg.Store.Case(ref)
	if err != nil {
		return c, err
	}
	if !whoOf(r).mayRead(c.Agency) {
		return vault.Case{}, vault.ErrNotFound
	}
	return c, nil
}

// loadOr404 is load with the error answered.
func (h *handler) loadOr404(w http.ResponseWriter, r *http.Request) (vault.Case, bool) {
	c, err := h.load(r)
	switch {
	case errors.Is(err, vault.ErrNotFound):
		if whoOf(r).api {
			apiErr(w, http.StatusNotFound, "no such case")
		} else {
			h.fail(w, r, http.StatusNotFound, "error.not_found", "/")
		}
		return c, false
	case err != nil:
		h.internal(w, r, "case")
		return c, false
	}
	return c, true
}

type itemRow struct {
	ID, Batch int
	Kind      vault.Kind
	KindKey   string
	Day       string
	Size      int64
	Named     bool
	Reporter  bool
	New       bool
}

type eventRow struct {
	Day, Stage, StageKey string
}

type caseData struct {
	Nav            nav
	Ref, Agency    string
	Stage          string
	StageKey       string
	Opened         string
	Updated        string
	ReplyRecipient string
	Custody        []vault.Custody
	// SigningFingerprint is the export signing key's, for the officer to
	// compare with the one they were given.
	SigningFingerprint string
	Targets            []Agency // where the case may be referred
	Deadlines          []deadlineRow
	Items              []itemRow
	History            []eventRow
	Stages             []stageOption
	MaxMiB             int64
}

func (h *handler) casePage(w http.ResponseWriter, r *http.Request) {
	me := whoOf(r)
	c, ok := h.loadOr404(w, r)
	if !ok {
		return
	}
	seen := 0
	if b, err := h.cfg.Store.Record(kindSeen, seenID(me.Name, c.Ref)); err == nil {
		seen, _ = strconv.Atoi(string(b))
	}
	if h.audit(r, "case.view", c.Ref, "") != nil {
		h.internal(w, r, "audit")
		return
	}
	if err := h.markSeen(me.Name, c); err != nil {
		h.internal(w, r, "seen")
		return
	}
	d := caseData{
		Nav: h.navOf(r), Ref: c.Ref, Agency: c.Agency, Stage: c.Stage, StageKey: h.stageKey(c.Stage),
		Opened: c.Opened, Updated: c.Updated, ReplyRecipient: c.Access.ReplyRecipient,
		Stages: h.stageOptions(c.Stage), MaxMiB: h.cfg.MaxUpload >> 20, SigningFingerprint: h.cfg.SigningFingerprint,
	}
	for _, dl := range h.cfg.Policy.Running(c, h.today()) {
		d.Deadlines = append(d.Deadlines, h.deadline(dl))
	}
	for _, it := range c.Items {
		d.Items = append(d.Items, itemRow{
			ID: it.ID, Batch: it.Batch, Kind: it.Kind, KindKey: "desk.kind." + string(it.Kind),
			Day: it.Day, Size: it.Size, Named: it.Name != nil,
			Reporter: reporterKind(it.Kind), New: it.ID > seen && reporterKind(it.Kind),
		})
	}
	for _, ev := range c.History {
		d.History = append(d.History, eventRow{Day: ev.Day, Stage: ev.Stage, StageKey: h.stageKey(ev.Stage)})
	}
	d.Custody = c.Custody
	d.Targets = h.referTargets(c.Agency)
	h.page(w, r, http.StatusOK, "case", web.Page{Data: d, Flash: me.s.takeFlash()})
}

// download sends one item's ciphertext exactly as stored.
func (h *handler) download(w http.ResponseWriter, r *http.Request) {
	c, ok := h.loadOr404(w, r)
	if !ok {
		return
	}
	id, err := strconv.Atoi(chi.URLParam(r, "id"))
	idx := slices.IndexFunc(c.Items, func(it vault.Item) bool { return it.ID == id })
	if err != nil || idx < 0 {
		if whoOf(r).api {
			apiErr(w, http.StatusNotFound, "no such item")
		} else {
			h.fail(w, r, http.StatusNotFound, "error.not_found", "/cases/"+c.Ref)
		}
		return
	}
	it := c.Items[idx]
	rc, err := h.cfg.Store.OpenItem(c.Ref, it.ID)
	if err != nil {
		h.internal(w, r, "open item")
		return
	}
	defer rc.Close()
	if h.audit(r, "item.download", c.Ref, "item "+strconv.Itoa(it.ID)) != nil {
		h.internal(w, r, "audit")
		return
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="%03d-%s.age"`, it.ID, it.Kind))
	w.Header().Set("Content-Length", strconv.FormatInt(it.Size, 10))
	if _, err := io.Copy(w, rc); err != nil && r.Context().Err() == nil {
		h.log.Warn("item download cut short")
		panic(http.ErrAbortHandler)
	}
}

// export sends the case's bundle of ciphertext and its manifest.
func (h *handler) export(w http.ResponseWriter, r *http.Request) {
	c, ok := h.loadOr404(w, r)
	if !ok {
		return
	}
	if h.audit(r, "export", c.Ref, "") != nil {
		h.internal(w, r, "audit")
		return
	}
	w.Header().Set("Content-Type", "application/x-tar")
	w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="%s.tar"`, c.Ref))
	if err := h.cfg.Store.ExportWith(w, c.Ref, vault.ExportOptions{Sign: h.cfg.Sign}); err != nil {
		// Headers are gone; cut the stream so the client sees a short body.
		h.log.Error("export failed")
		panic(http.ErrAbortHandler)
	}
}

// errSameStage is a stage change to the stage the case is at, with no note.
var errSameStage = errors.New("desk: case already at that stage")

// setStage moves c to stg, with an optional note sealed to the reporter and
// the agency, in one batch.
func (h *handler) setStage(c vault.Case, stg, note string) error {
	if stg == c.Stage && note == "" {
		return errSameStage
	}
	if stg == c.Stage {
		stg = ""
	}
	return h.cfg.Store.Post(c.Ref, stg, vault.KindNote, []byte(note))
}

// done finishes a page action: a notice on the case page.
func (h *handler) done(w http.ResponseWriter, r *http.Request, ref, flash string) {
	whoOf(r).s.setFlash(flash)
	http.Redirect(w, r, "/cases/"+ref, http.StatusSeeOther)
}

func (h *handler) changeStage(w http.ResponseWriter, r *http.Request) {
	c, ok := h.loadOr404(w, r)
	if !ok {
		return
	}
	if !parseSmallForm(w, r) {
		h.fail(w, r, http.StatusBadRequest, "error.bad_form", "/cases/"+c.Ref)
		return
	}
	stg := r.PostForm.Get("stage")
	note := strings.TrimSpace(r.PostForm.Get("note"))
	if !h.cfg.Policy.Has(stg) {
		h.fail(w, r, http.StatusBadRequest, "desk.error.stage", "/cases/"+c.Ref)
		return
	}
	switch err := h.setStage(c, stg, note); {
	case errors.Is(err, errSameStage):
		h.fail(w, r, http.StatusConflict, "desk.error.same_stage", "/cases/"+c.Ref)
		return
	case errors.Is(err, vault.ErrNoReporter):
		h.fail(w, r, http.StatusConflict, "desk.error.no_reporter", "/cases/"+c.Ref)
		return
	case err != nil:
		h.internal(w, r, "stage")
		return
	}
	detail := stg
	if note != "" {
		detail += " +note"
	}
	h.audit(r, "stage.change", c.Ref, detail)
	h.done(w, r, c.Ref, "desk.done.stage")
}

func (h *handler) ask(w http.ResponseWriter, r *http.Request) {
	c, ok := h.loadOr404(w, r)
	if !ok {
		return
	}
	if !parseSmallForm(w, r) {
		h.fail(w, r, http.StatusBadRequest, "error.bad_form", "/cases/"+c.Ref)
		return
	}
	text := strings.TrimSpace(r.PostForm.Get("question"))
	if text == "" {
		h.fail(w, r, http.StatusBadRequest, "desk.error.empty", "/cases/"+c.Ref)
		return
	}
	switch err := h.cfg.Store.Post(c.Ref, "", vault.KindQuestion, []byte(text)); {
	case errors.Is(err, vault.ErrNoReporter):
		h.fail(w, r, http.StatusConflict, "desk.error.no_reporter", "/cases/"+c.Ref)
		return
	case err != nil:
		h.internal(w, r, "question")
		return
	}
	h.audit(r, "question", c.Ref, "")
	h.done(w, r, c.Ref, "desk.done.question")
}

// signingKey serves the public key that checks export manifests. It is
// public: officers fetch it once and compare its fingerprint out of band.
func (h *handler) signingKey(w http.ResponseWriter, r *http.Request) {
	if len(h.cfg.SigningKey) == 0 {
		h.fail(w, r, http.StatusNotFound, "error.not_found", "/")
		return
	}
	w.Header().Set("Content-Type", "application/pgp-keys")
	w.Header().Set("Content-Disposition", `attachment; filename="cleandrop-signing-key.asc"`)
	w.Write(h.cfg.SigningKey)
}
