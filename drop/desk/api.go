package desk

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"

	"github.com/go-chi/chi/v5"

	"cleandrop/drop/casework"
	"cleandrop/vault"
)

// bearer lets an API request through only with a live officer's token.
// A malformed token is refused before it touches any budget; a
// well-formed wrong one spends a try of the officer it names and of the
// request's circuit, taken before the check.
func (h *handler) bearer(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		token = strings.TrimSpace(token)
		if !ok || token == "" {
			w.Header().Set("WWW-Authenticate", `Bearer realm="desk"`)
			apiErr(w, http.StatusUnauthorized, "missing bearer token")
			return
		}
		name, ok := tokenName(token)
		if !ok {
			invalidToken(w)
			return
		}
		try, ok, err := h.throttle.token(r.Context(), name)
		if err != nil {
			h.log.Error("request failed", "step", "token budget")
			apiErr(w, http.StatusInternalServerError, "internal error: token")
			return
		}
		if !ok {
			apiErr(w, http.StatusTooManyRequests, "too many failed attempts; wait a minute")
			return
		}
		o, err := h.acc.byAPIToken(name, token)
		if err != nil {
			if !errors.Is(err, errLogin) {
				h.refund(try)
				apiErr(w, http.StatusInternalServerError, "internal error: token")
				return
			}
			invalidToken(w)
			return
		}
		h.refund(try)
		next.ServeHTTP(w, withWho(r, who{Officer: o.public(), api: true}))
	})
}

func invalidToken(w http.ResponseWriter) {
	w.Header().Set("WWW-Authenticate", `Bearer realm="desk", error="invalid_token"`)
	apiErr(w, http.StatusUnauthorized, "invalid token")
}

// CaseSummary is one case in the API's list.
type CaseSummary struct {
	Ref       string        `json:"ref"`
	Agency    string        `json:"agency"`
	Stage     string        `json:"stage"`
	Opened    string        `json:"opened"`
	Updated   string        `json:"updated"`
	Items     int           `json:"items"`
	Unread    int           `json:"unread"`
	Deadlines []deadlineRow `json:"deadlines"`
	// Identities on file: their item, day and purpose only; the content is
	// sealed to the agency's custodian.
	Identities []APIIdentity `json:"identities"`
}

// CaseDetail is one case with its items and stage history.
type CaseDetail struct {
	CaseSummary
	ReplyRecipient string          `json:"reply_recipient"`
	ItemList       []apiItem       `json:"item_list"`
	History        []apiEvent      `json:"history"`
	Custody        []vault.Custody `json:"custody"`
}

type apiItem struct {
	ID     int        `json:"id"`
	Batch  int        `json:"batch"`
	Kind   vault.Kind `json:"kind"`
	Day    string     `json:"day"`
	Size   int64      `json:"size"`
	SHA256 string     `json:"sha256"`
	Named  bool       `json:"named"`
	// Purpose of an identity item.
	Purpose vault.Purpose `json:"purpose,omitempty"`
}

type apiEvent struct {
	Day   string `json:"day"`
	Stage string `json:"stage"`
	Batch int    `json:"batch"`
}

// StageChange is the body of POST /api/v1/cases/{ref}/stage.
type StageChange struct {
	Stage string `json:"stage"`
	Note  string `json:"note,omitempty"`
}

func (h *handler) summary(c vault.Case, unread int) CaseSummary {
	s := CaseSummary{Ref: c.Ref, Agency: c.Agency, Stage: c.Stage, Opened: c.Opened, Updated: c.Updated,
		Items: len(c.Items), Unread: unread, Deadlines: []deadlineRow{}, Identities: []APIIdentity{}}
	for _, it := range casework.Identities(c) {
		s.Identities = append(s.Identities, APIIdentity{Item: it.ID, Day: it.Day, Purpose: it.Purpose})
	}
	for _, d := range h.cfg.Policy.Running(c, h.today()) {
		s.Deadlines = append(s.Deadlines, h.deadline(d))
	}
	return s
}

func (h *handler) apiList(w http.ResponseWriter, r *http.Request) {
	me := whoOf(r)
	cs, rows, err := h.scoped(me.Officer)
	if err != nil {
		h.internal(w, r, "cases")
		return
	}
	out := make([]CaseSummary, 0, len(cs))
	for i, c := range cs {
		out = append(out, h.summary(c, rows[i].Unread))
	}
	writeJSON(w, http.StatusOK, out)
}

func (h *handler) apiCase(w http.ResponseWriter, r *http.Request) {
	me := whoOf(r)
	c, ok := h.viewOr404(w, r)
	if !ok {
		return
	}
	unread, err := h.unread(me.Name, c)
	if err != nil {
		h.internal(w, r, "unread")
		return
	}
	s := h.summary(c, unread)
	d := CaseDetail{CaseSummary: s, ReplyRecipient: c.Access.ReplyRecipient, ItemList: []apiItem{}, History: []apiEvent{},
		Custody: append([]vault.Custody{}, c.Custody...)}
	for _, it := range c.Items {
		d.ItemList = append(d.ItemList, apiItem{ID: it.ID, Batch: it.Batch, Kind: it.Kind, Day: it.Day, Size: it.Size, SHA256: it.SHA256, Named: it.Name != nil, Purpose: it.Purpose})
	}
	for _, ev := range c.History {
		d.History = append(d.History, apiEvent(ev))
	}
	writeJSON(w, http.StatusOK, d)
}

func (h *handler) apiAsk(w http.ResponseWriter, r *http.Request) {
	if ct := r.Header.Get("Content-Type"); ct != "" && !strings.HasPrefix(ct, "text/plain") {
		apiErr(w, http.StatusUnsupportedMediaType, "send the question as text/plain")
		return
	}
	text, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxTextBody))
	if err != nil {
		h.opFailed(w, r, "/", "question", err)
		return
	}
	c, err := h.ops.Ask(h.actor(r), chi.URLParam(r, "ref"), string(text))
	if err != nil {
		h.opFailed(w, r, "/", "question", err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"ref": c.Ref})
}

func (h *handler) apiStage(w http.ResponseWriter, r *http.Request) {
	var sc StageChange
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxTextBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&sc); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			h.opFailed(w, r, "/", "stage", err)
			return
		}
		apiErr(w, http.StatusBadRequest, "stage change is not valid JSON")
		return
	}
	c, err := h.ops.SetStage(h.actor(r), chi.URLParam(r, "ref"), sc.Stage, sc.Note)
	if err != nil {
		h.opFailed(w, r, "/", "stage", err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"ref": c.Ref, "stage": strings.TrimSpace(sc.Stage)})
}

// apiUpload stores the request body, an age file sealed offline, as an
// item of ?kind= (note by default).
func (h *handler) apiUpload(w http.ResponseWriter, r *http.Request) {
	c, ok := h.loadOr404(w, r)
	if !ok {
		return
	}
	k := r.URL.Query().Get("kind")
	if k == "" {
		k = string(vault.KindNote)
	}
	kind, err := casework.UploadKind(k)
	if err != nil {
		h.uploadFailed(w, r, c.Ref, err)
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, h.cfg.MaxUpload)
	if err := h.ops.Upload(h.actor(r), c, kind, r.Body, nil); err != nil {
		h.uploadFailed(w, r, c.Ref, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"ref": c.Ref})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

func apiErr(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]string{"error": msg})
}
