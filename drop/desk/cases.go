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

	"cleandrop/drop/casework"
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
	// IdentityKey names the purpose of the latest identity on file ("" for
	// none): that it exists and what for, nothing else.
	IdentityKey string
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
		if ids := casework.Identities(c); len(ids) > 0 {
			row.IdentityKey = "desk.identity.purpose." + string(ids[len(ids)-1].Purpose)
		}
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
	// Only ever forward: a page built from an older view of the case, at
	// this front-end or another, does not mark fewer items seen.
	return h.cfg.Store.UpdateRecord(kindSeen, seenID(officer, c.Ref), func(old []byte) ([]byte, error) {
		if seen, err := strconv.Atoi(string(old)); err == nil && seen >= last {
			return old, nil
		}
		return []byte(strconv.Itoa(last)), nil
	})
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
	return nav{Name: me.Name, Supervisor: me.Supervisor(), Overseer: me.Overseer()}
}

// caseList shows the officer's cases, filtered by ?stage= and ?overdue=1.
func (h *handler) caseList(w http.ResponseWriter, r *http.Request) {
	me := whoOf(r)
	if me.Overseer() {
		// An overseer has no cases: their desk is the oversight page.
		http.Redirect(w, r, "/oversight", http.StatusSeeOther)
		return
	}
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
	h.page(w, r, http.StatusOK, "cases", web.Page{Data: d, Flash: h.takeFlash(r)})
}

// actor is the signed-in officer as the operations layer sees them.
func (h *handler) actor(r *http.Request) casework.Actor {
	me := whoOf(r)
	path := casework.Page
	if me.api {
		path = casework.API
	}
	return casework.Officer(me.Name, me.Role, me.Agencies, path)
}

// loadOr404 returns the case the request names if the officer may act on
// it; a case of another agency is as absent as one that never existed.
func (h *handler) loadOr404(w http.ResponseWriter, r *http.Request) (vault.Case, bool) {
	c, err := h.ops.Load(h.actor(r), chi.URLParam(r, "ref"))
	if err != nil {
		h.opFailed(w, r, "/", "case", err)
		return c, false
	}
	return c, true
}

// viewOr404 is loadOr404 for showing the case: the view is audited.
func (h *handler) viewOr404(w http.ResponseWriter, r *http.Request) (vault.Case, bool) {
	c, err := h.ops.View(h.actor(r), chi.URLParam(r, "ref"))
	if err != nil {
		h.opFailed(w, r, "/", "case", err)
		return c, false
	}
	return c, true
}

// opProblem maps an error of the operations layer to a status, a message
// key and an English text for the API; ok is false for an internal error.
// The pages and the API answer alike because both use it.
func (h *handler) opProblem(err error) (status int, key, text string, ok bool) {
	r, ok := casework.Refused(err)
	if !ok {
		return http.StatusInternalServerError, "error.internal", "", false
	}
	w := deskRefusals[r.ID]
	if r.ID == casework.RefusedStage {
		w.text += "; stages: " + strings.Join(h.cfg.Policy.Stages, ", ")
	}
	return r.Status, w.key, w.text, true
}

// deskRefusals word the operations layer's refusals: a message key for
// the pages, English text for the API.
var deskRefusals = map[string]struct{ key, text string }{
	casework.RefusedNoItem:     {"error.not_found", "no such item"},
	casework.RefusedNotFound:   {"error.not_found", "no such case"},
	casework.RefusedForbidden:  {"desk.error.not_allowed", "your role may not do this on a case"},
	casework.RefusedStage:      {"desk.error.stage", "unknown stage"},
	casework.RefusedSameStage:  {"desk.error.same_stage", "case is already at that stage"},
	casework.RefusedEmpty:      {"desk.error.empty", "the text is empty"},
	casework.RefusedTooLong:    {"error.too_large", "too long (at most 1 MiB of text)"},
	casework.RefusedNotText:    {"desk.error.not_text", "the text is not UTF-8"},
	casework.RefusedIdentity:   {"desk.error.identity", "the identity is sealed to the agency's custodian: only the custodian may download it or mark it opened"},
	casework.RefusedNoIdentity: {"desk.error.no_identity", "no identity on file"},
	casework.RefusedNoReporter: {"desk.error.no_reporter", "the case came by referral: nothing can be sealed to its reporter from here"},
	casework.RefusedUncertain:  {"desk.error.uncertain", "the store lost its answer to the commit: the change may or may not have been made; look at the case before doing it again"},
	casework.RefusedStorage:    {"desk.error.store", "the store failed: nothing was changed; try again later"},
	casework.RefusedNoRoom:     {"error.no_room", "the store has no room: nothing was changed"},
	casework.RefusedLowSpace:   {"error.low_space", "free space is below the configured floor: nothing was changed"},
}

// opFailed answers a refused operation; back is the page to go back to.
func (h *handler) opFailed(w http.ResponseWriter, r *http.Request, back, step string, err error) {
	status, key, text, ok := h.opProblem(err)
	switch {
	case !ok:
		h.internal(w, r, step)
	case whoOf(r).api:
		apiErr(w, status, text)
	default:
		h.fail(w, r, status, key, back)
	}
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
	// Sealed marks an identity the viewer may not download (it is the
	// custodian's) or, for the custodian, an item that is not an identity.
	Sealed bool
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
	Targets            []Agency       // where the case may be referred
	Reasons            []reasonOption // why again, once the case was referred
	Deadlines          []deadlineRow
	Items              []itemRow
	History            []eventRow
	Stages             []stageOption
	MaxMiB             int64
	// Identities on file: that they exist and what for, never what.
	Identities []identityRow
	// Custodian: the viewer is the agency's custodian, who may mark an
	// identity opened and changes nothing else.
	Custodian bool
}

func (h *handler) casePage(w http.ResponseWriter, r *http.Request) {
	me := whoOf(r)
	c, ok := h.viewOr404(w, r)
	if !ok {
		return
	}
	seen := 0
	if b, err := h.cfg.Store.Record(kindSeen, seenID(me.Name, c.Ref)); err == nil {
		seen, _ = strconv.Atoi(string(b))
	}
	var err error
	if err = h.markSeen(me.Name, c); err != nil {
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
			Sealed: (it.Kind == vault.KindIdentity) != me.Custodian(),
		})
	}
	d.Custodian = me.Custodian()
	if d.Identities, err = h.identities(c); err != nil {
		h.internal(w, r, "identities")
		return
	}
	for _, ev := range c.History {
		d.History = append(d.History, eventRow{Day: ev.Day, Stage: ev.Stage, StageKey: h.stageKey(ev.Stage)})
	}
	d.Custody = c.Custody
	d.Targets = h.referTargets(c.Agency)
	d.Reasons = referReasons(c)
	h.page(w, r, http.StatusOK, "case", web.Page{Data: d, Flash: h.takeFlash(r)})
}

// download sends one item's ciphertext exactly as stored.
func (h *handler) download(w http.ResponseWriter, r *http.Request) {
	ref := chi.URLParam(r, "ref")
	id, err := strconv.Atoi(chi.URLParam(r, "id"))
	if err != nil {
		id = -1
	}
	it, rc, err := h.ops.Download(h.actor(r), ref, id)
	if err != nil {
		h.opFailed(w, r, "/", "item", err)
		return
	}
	defer rc.Close()
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
	w.Header().Set("Content-Type", "application/x-tar")
	w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="%s.tar"`, c.Ref))
	if err := h.ops.Export(r.Context(), h.actor(r), c, w); err != nil {
		if errors.Is(err, casework.ErrUnaudited) {
			// Nothing was written: the export was refused.
			w.Header().Del("Content-Disposition")
			h.internal(w, r, "audit")
			return
		}
		// Headers are gone; cut the stream so the client sees a short body.
		h.log.Error("export failed")
		panic(http.ErrAbortHandler)
	}
}

// done finishes a page action: a notice on the case page.
func (h *handler) done(w http.ResponseWriter, r *http.Request, ref, flash string) {
	h.setFlash(r, flash)
	http.Redirect(w, r, "/cases/"+ref, http.StatusSeeOther)
}

func (h *handler) changeStage(w http.ResponseWriter, r *http.Request) {
	ref := chi.URLParam(r, "ref")
	if err := readForm(w, r); err != nil {
		h.formFailed(w, r, err)
		return
	}
	c, err := h.ops.SetStage(h.actor(r), ref, r.PostForm.Get("stage"), r.PostForm.Get("note"))
	if err != nil {
		h.opFailed(w, r, caseBack(c, ref), "stage", err)
		return
	}
	h.done(w, r, c.Ref, "desk.done.stage")
}

func (h *handler) ask(w http.ResponseWriter, r *http.Request) {
	ref := chi.URLParam(r, "ref")
	if err := readForm(w, r); err != nil {
		h.formFailed(w, r, err)
		return
	}
	c, err := h.ops.Ask(h.actor(r), ref, r.PostForm.Get("question"))
	if err != nil {
		h.opFailed(w, r, caseBack(c, ref), "question", err)
		return
	}
	h.done(w, r, c.Ref, "desk.done.question")
}

// maxTextBody bounds a request that carries a question or a note: room
// for the longest text the operations layer takes, and its encoding.
const maxTextBody = 2*casework.MaxMessage + 64<<10

var errNotForm = errors.New("desk: not a form")

// readForm parses a small url-encoded form (a question, a stage change).
func readForm(w http.ResponseWriter, r *http.Request) error {
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/x-www-form-urlencoded") {
		return errNotForm
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxTextBody)
	return r.ParseForm()
}

// formFailed answers a form that could not be read: too large, or not a
// form. A case out of scope is not found, whatever the form.
func (h *handler) formFailed(w http.ResponseWriter, r *http.Request, err error) {
	c, ok := h.loadOr404(w, r)
	if !ok {
		return
	}
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		h.fail(w, r, http.StatusRequestEntityTooLarge, "error.too_large", "/cases/"+c.Ref)
		return
	}
	h.fail(w, r, http.StatusBadRequest, "error.bad_form", "/cases/"+c.Ref)
}

// caseBack is where a refused action on case c (or ref, if c was not
// found) sends the officer back to.
func caseBack(c vault.Case, ref string) string {
	if c.Ref == "" {
		return "/"
	}
	return "/cases/" + c.Ref
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
