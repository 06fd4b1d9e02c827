package source

import (
	"errors"
	"io"
	"net/http"
	"slices"
	"strings"

	"filippo.io/age"

	"cleandrop/drop/receipt"
	"cleandrop/drop/web"
	"cleandrop/vault"
)

func (h *handler) loginForm(w http.ResponseWriter, r *http.Request) {
	if _, ok := h.sessions.Get(r); ok {
		http.Redirect(w, r, "/case", http.StatusSeeOther)
		return
	}
	h.page(w, r, http.StatusOK, "login", web.Page{})
}

var shapeErrors = map[error]string{
	receipt.ErrEmpty:       "login.error.empty",
	receipt.ErrWordCount:   "login.error.words",
	receipt.ErrUnknownWord: "login.error.unknown_word",
	receipt.ErrDigitCount:  "login.error.digits",
	receipt.ErrMixed:       "login.error.mixed",
}

// login checks a receipt. A wrong receipt and one that never existed are
// the same thing here: both run the full derivation and get the same page
// and status.
func (h *handler) login(w http.ResponseWriter, r *http.Request) {
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/x-www-form-urlencoded") {
		h.page(w, r, http.StatusBadRequest, "login", web.Page{ErrorKey: "error.bad_form"})
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 4<<10)
	if err := r.ParseForm(); err != nil {
		h.page(w, r, http.StatusBadRequest, "login", web.Page{ErrorKey: "error.bad_form"})
		return
	}
	norm, err := receipt.Normalize(r.PostForm.Get("receipt"))
	if err != nil {
		key := shapeErrors[err]
		if key == "" {
			key = "login.error.wrong"
		}
		h.page(w, r, http.StatusBadRequest, "login", web.Page{ErrorKey: key})
		return
	}
	// The try is taken before the derivation and given back only on
	// success: requests arriving together cannot evaluate more guesses
	// than the circuit's bucket holds.
	try := h.throttle.Get(web.Circuit(r.Context()))
	if !try.Take() {
		h.page(w, r, http.StatusTooManyRequests, "login", web.Page{ErrorKey: "login.error.busy"})
		return
	}
	keys, err := h.derive(r, norm)
	if err != nil {
		try.Refund() // nothing was evaluated
		if errors.Is(err, web.ErrBusy) {
			h.page(w, r, http.StatusTooManyRequests, "login", web.Page{ErrorKey: "login.error.busy"})
			return
		}
		if r.Context().Err() == nil {
			h.internal(w, r, "derive")
		}
		return
	}
	ref, access, err := h.cfg.Store.AccessByLookup(keys.Lookup)
	var rk *receipt.ReplyKey
	if err == nil {
		rk, err = keys.Unwrap(access.WrappedReply)
	}
	if err != nil {
		if !errors.Is(err, vault.ErrNotFound) && !errors.Is(err, receipt.ErrUnwrap) {
			try.Refund() // the store failed, not the guess
			h.internal(w, r, "lookup")
			return
		}
		h.page(w, r, http.StatusUnauthorized, "login", web.Page{ErrorKey: "login.error.wrong"})
		return
	}
	try.Refund()
	if err := h.sessions.Start(w, &reporter{ref: ref, reply: rk.Identity}); err != nil {
		h.internal(w, r, "session")
		return
	}
	http.Redirect(w, r, "/case", http.StatusSeeOther)
}

func (h *handler) logout(w http.ResponseWriter, r *http.Request) {
	h.sessions.End(w, r)
	h.landing(w, r, "logout.done")
}

func (h *handler) expired(w http.ResponseWriter, r *http.Request) {
	h.page(w, r, http.StatusUnauthorized, "login", web.Page{ErrorKey: "session.expired"})
}

type entry struct {
	Kind       string
	PurposeKey string // an identity filed: what for
	Day        string
	Text       string
	Files      int
	StageKey   string
	Agency     string // "referred": the agency the case went to
	// Unreadable marks an officer message the reply key could not open.
	Unreadable bool
}

type caseData struct {
	Ref          string
	StageKey     string
	StageHelpKey string
	StageDay     string
	Next         next
	Entries      []entry
	MaxMiB       int64
	MaxFiles     int
	// Files says what became of the files of the answer just sent.
	Files []fileView
	// Linked are the cases this one was referred to: the reporter follows
	// them here, and may answer their officers.
	Linked []linked
	// Targets are where an answer can go, when there is a choice.
	Targets []target
	// Identity is the form to put the reporter's identity on file for the
	// custodian, and what is already on file (its purpose, never its text).
	Identity identityData
	// Purposes are the purposes the identity form offers.
	Purposes []purposeOption
}

// purposeOption is one radio button of the identity form.
type purposeOption struct {
	Value, Key string
	Checked    bool
}

// linked is a case the reporter's case was referred to, as they see it.
type linked struct {
	Agency       string // name
	StageKey     string
	StageHelpKey string
	StageDay     string
	Next         next
	Entries      []entry
}

// target is one choice of where an answer goes.
type target struct {
	Ref, Agency string
	Selected    bool
}

// maxQuestion bounds how much of one officer message is decrypted for a page.
const maxQuestion = 1 << 20

func (h *handler) casePage(w http.ResponseWriter, r *http.Request) {
	s, ok := h.sessions.Get(r)
	if !ok {
		h.expired(w, r)
		return
	}
	flash, files := h.takeNotice(r, s)
	h.showCase(w, r, s, http.StatusOK, web.Page{Flash: flash, Data: files})
}

func (h *handler) caseError(w http.ResponseWriter, r *http.Request, s *reporter, status int, key string) {
	h.showCase(w, r, s, status, web.Page{ErrorKey: key})
}

func (h *handler) showCase(w http.ResponseWriter, r *http.Request, s *reporter, status int, p web.Page) {
	c, err := h.cfg.Store.Case(s.ref)
	if err != nil {
		h.internal(w, r, "case")
		return
	}
	d := caseData{
		Ref:          c.Ref,
		StageKey:     h.stageKey(c.Stage),
		StageHelpKey: h.stageKey(c.Stage) + ".help",
		StageDay:     c.Opened,
		MaxMiB:       h.cfg.MaxUpload >> 20,
		MaxFiles:     h.cfg.MaxFiles,
	}
	if n := len(c.History); n > 0 {
		d.StageDay = c.History[n-1].Day
	}
	d.Next = h.next(c, s.reply)
	d.Entries = h.entries(c, s.reply, 1)
	if files, ok := p.Data.([]fileNote); ok {
		d.Files = h.fileViews(web.Lang(r), files) // what the answer just sent became
	}
	if back, ok := p.Data.(identityData); ok {
		d.Identity = back // the form as the reporter sent it, with an error
	}
	d.Identity.Available = h.agencies[c.Agency].Custodian
	for _, it := range c.Items {
		if it.Kind == vault.KindIdentity {
			d.Identity.OnFile = append(d.Identity.OnFile, identityOnFile{Day: it.Day, PurposeKey: purposeKey(it.Purpose)})
		}
	}
	for _, pu := range identityPurposes {
		d.Purposes = append(d.Purposes, purposeOption{Value: string(pu), Key: purposeKey(pu), Checked: string(pu) == d.Identity.Purpose})
	}
	cases, err := h.referredTo(c)
	if err != nil {
		h.internal(w, r, "referred case")
		return
	}
	for i, lc := range cases {
		l := linked{Agency: h.agencyName(lc.Agency), StageKey: h.stageKey(lc.Stage),
			StageHelpKey: h.stageKey(lc.Stage) + ".help", StageDay: lc.Opened}
		if n := len(lc.History); n > 0 {
			l.StageDay = lc.History[n-1].Day
		}
		l.Next = h.next(lc, s.reply)
		// Batch 1 is what the referral carried, sealed to that agency only.
		l.Entries = h.entries(lc, s.reply, 2)
		d.Linked = append(d.Linked, l)
		if i == 0 {
			d.Targets = append(d.Targets, target{Ref: c.Ref, Agency: h.agencyName(c.Agency)})
		}
		d.Targets = append(d.Targets, target{Ref: lc.Ref, Agency: l.Agency, Selected: i == len(cases)-1})
	}
	p.Data = d
	h.page(w, r, status, "case", p)
}

func (h *handler) stageKey(stage string) string {
	if k := "stage." + stage; h.cfg.Catalog.HasKey(k) {
		return k
	}
	return "stage.other"
}

// entries builds the reporter's timeline, one batch at a time: what they
// sent (counted, not shown: it is sealed to the agency only), officers'
// questions and notes (decrypted with the session's reply key), and stage
// changes.
func (h *handler) entries(c vault.Case, reply age.Identity, first int) []entry {
	maxBatch := 0
	for _, it := range c.Items {
		maxBatch = max(maxBatch, it.Batch)
	}
	for _, ev := range c.History {
		maxBatch = max(maxBatch, ev.Batch)
	}
	var out []entry
	for b := first; b <= maxBatch; b++ {
		var sent *entry
		for _, it := range c.Items {
			if it.Batch != b {
				continue
			}
			switch it.Kind {
			case vault.KindReport, vault.KindAnswer, vault.KindAttachment:
				if sent == nil {
					kind := "answer"
					if b == 1 {
						kind = "report"
					}
					sent = &entry{Kind: kind, Day: it.Day}
				}
				if it.Kind == vault.KindAttachment {
					sent.Files++
				}
			case vault.KindIdentity:
				out = append(out, entry{Kind: "identity", Day: it.Day, PurposeKey: purposeKey(it.Purpose)})
			case vault.KindQuestion, vault.KindNote:
				text, ok := h.decrypt(c.Ref, it.ID, reply)
				out = append(out, entry{Kind: string(it.Kind), Day: it.Day, Text: text, Unreadable: !ok})
			}
		}
		if sent != nil {
			out = append(out, *sent)
		}
		for _, ev := range c.History {
			if ev.Batch == b && !(b == 1 && ev.Stage == vault.InitialStage) {
				out = append(out, entry{Kind: "stage", Day: ev.Day, StageKey: h.stageKey(ev.Stage)})
			}
		}
	}
	// Where the case was referred, after what happened on or before that day.
	for _, l := range c.Custody {
		if l.Action != vault.CustodyOut {
			continue
		}
		name := h.agencyName(l.Agency)
		i := len(out)
		for i > 0 && out[i-1].Day > l.Day {
			i--
		}
		out = slices.Insert(out, i, entry{Kind: "referred", Day: l.Day, Agency: name})
	}
	return out
}

func (h *handler) decrypt(ref string, id int, reply age.Identity) (string, bool) {
	rc, err := h.cfg.Store.OpenItem(ref, id)
	if err == nil {
		defer rc.Close()
		var pr io.Reader
		if pr, err = age.Decrypt(rc, reply); err == nil {
			var b []byte
			if b, err = io.ReadAll(io.LimitReader(pr, maxQuestion)); err == nil {
				return string(b), true
			}
		}
	}
	h.log.Warn("officer message could not be decrypted with the reply key")
	return "", false
}

// agencyName is the name of agency id, or id when it is not configured.
func (h *handler) agencyName(id string) string {
	if a, ok := h.agencies[id]; ok {
		return a.Name
	}
	return id
}

// maxReferrals bounds how many referred cases one reporter's page follows.
const maxReferrals = 16

// referredTo returns the cases c was referred to, and the cases those were
// referred to in turn, that can reach its reporter: in the order the
// referrals were made, each once.
func (h *handler) referredTo(c vault.Case) ([]vault.Case, error) {
	var out []vault.Case
	seen := map[string]bool{c.Ref: true}
	queue := []vault.Case{c}
	for len(queue) > 0 && len(out) < maxReferrals {
		from := queue[0]
		queue = queue[1:]
		for _, l := range from.Custody {
			if l.Action != vault.CustodyOut || seen[l.Ref] || len(out) == maxReferrals {
				continue
			}
			seen[l.Ref] = true
			lc, err := h.cfg.Store.Case(l.Ref)
			if errors.Is(err, vault.ErrNotFound) {
				continue
			}
			if err != nil {
				return nil, err
			}
			if lc.Access.ReplyRecipient == c.Access.ReplyRecipient {
				out = append(out, lc)
				queue = append(queue, lc)
			}
		}
	}
	return out, nil
}
