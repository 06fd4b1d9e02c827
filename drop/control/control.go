package control

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"slices"

	"github.com/go-chi/chi/v5"

	"cleandrop/vault"
)

// Store is what the control API needs from the vault.
type Store interface {
	Cases() ([]vault.Case, error)
	Case(ref string) (vault.Case, error)
	Post(ref, stage string, kind vault.Kind, text []byte) error
	Export(w io.Writer, ref string) error
}

// CaseInfo is one case as the API lists it: metadata only.
type CaseInfo struct {
	Ref     string `json:"ref"`
	Agency  string `json:"agency"`
	Stage   string `json:"stage"`
	Opened  string `json:"opened"`
	Updated string `json:"updated"`
	Items   int    `json:"items"`
}

// StageChange is the body of a stage change.
type StageChange struct {
	Stage string `json:"stage"`
	Note  string `json:"note,omitempty"` // sealed to the reporter and the agency
}

// Added answers a request that added items.
type Added struct {
	Ref string `json:"ref"`
}

// apiError is every error the API returns.
type apiError struct {
	Error string `json:"error"`
	Hint  string `json:"hint,omitempty"`
}

// MaxMessage bounds an officer's question or note.
const MaxMessage = 1 << 20

// Handler serves the control API. stages lists the stages a case may move
// to; off, when not nil, manages officer accounts.
func Handler(st Store, stages []string, off Officers, log *slog.Logger) http.Handler {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	a := &api{st: st, stages: stages, log: log.With("component", "control")}
	r := chi.NewRouter()
	r.Route("/v1/cases", func(r chi.Router) {
		r.Get("/", a.list)
		r.Route("/{ref}", func(r chi.Router) {
			r.Get("/", a.get)
			r.Get("/export", a.export)
			r.Post("/questions", a.question)
			r.Post("/stage", a.stage)
		})
	})
	if off != nil {
		a.officerRoutes(r, off)
	}
	r.NotFound(func(w http.ResponseWriter, r *http.Request) {
		writeErr(w, http.StatusNotFound, "no such endpoint", "")
	})
	return r
}

type api struct {
	st     Store
	stages []string
	log    *slog.Logger
}

func info(c vault.Case) CaseInfo {
	return CaseInfo{Ref: c.Ref, Agency: c.Agency, Stage: c.Stage, Opened: c.Opened, Updated: c.Updated, Items: len(c.Items)}
}

func (a *api) list(w http.ResponseWriter, r *http.Request) {
	cs, err := a.st.Cases()
	if err != nil {
		a.internal(w, "list", err)
		return
	}
	out := make([]CaseInfo, 0, len(cs))
	for _, c := range cs {
		out = append(out, info(c))
	}
	writeJSON(w, http.StatusOK, out)
}

func (a *api) get(w http.ResponseWriter, r *http.Request) {
	c, ok := a.load(w, r)
	if ok {
		writeJSON(w, http.StatusOK, info(c))
	}
}

func (a *api) load(w http.ResponseWriter, r *http.Request) (vault.Case, bool) {
	ref := chi.URLParam(r, "ref")
	c, err := a.st.Case(ref)
	if errors.Is(err, vault.ErrNotFound) {
		writeErr(w, http.StatusNotFound, fmt.Sprintf("no case %q", ref), "list the cases with: cleandrop cases")
		return c, false
	}
	if err != nil {
		a.internal(w, "case", err)
		return c, false
	}
	return c, true
}

func (a *api) export(w http.ResponseWriter, r *http.Request) {
	c, ok := a.load(w, r)
	if !ok {
		return
	}
	w.Header().Set("Content-Type", "application/x-tar")
	if err := a.st.Export(w, c.Ref); err != nil {
		// Headers are gone; cut the stream so the client sees a short body.
		a.log.Error("export failed", "err", err)
		panic(http.ErrAbortHandler)
	}
}

func (a *api) question(w http.ResponseWriter, r *http.Request) {
	c, ok := a.load(w, r)
	if !ok {
		return
	}
	text, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxMessage))
	if err != nil {
		writeErr(w, http.StatusRequestEntityTooLarge, "question is too long", "keep it under 1 MiB")
		return
	}
	if len(text) == 0 {
		writeErr(w, http.StatusBadRequest, "question is empty", "")
		return
	}
	a.post(w, c.Ref, "", vault.KindQuestion, text)
}

func (a *api) stage(w http.ResponseWriter, r *http.Request) {
	c, ok := a.load(w, r)
	if !ok {
		return
	}
	var sc StageChange
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, MaxMessage+4096))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&sc); err != nil {
		writeErr(w, http.StatusBadRequest, "stage change is not valid JSON", "")
		return
	}
	if !slices.Contains(a.stages, sc.Stage) {
		writeErr(w, http.StatusBadRequest, fmt.Sprintf("unknown stage %q", sc.Stage), "stages: "+fmt.Sprint(a.stages))
		return
	}
	if sc.Stage == c.Stage && sc.Note == "" {
		writeErr(w, http.StatusConflict, fmt.Sprintf("case is already at stage %q", sc.Stage), "")
		return
	}
	stage := sc.Stage
	if stage == c.Stage {
		stage = "" // a note only
	}
	a.post(w, c.Ref, stage, vault.KindNote, []byte(sc.Note))
}

func (a *api) post(w http.ResponseWriter, ref, stage string, kind vault.Kind, text []byte) {
	switch err := a.st.Post(ref, stage, kind, text); {
	case errors.Is(err, vault.ErrNoReporter):
		writeErr(w, http.StatusConflict, "the case came by referral: nothing can be sealed to its reporter from here",
			"the reporter follows the case at the referring agency; change its stage without a note")
		return
	case err != nil:
		a.internal(w, "post", err)
		return
	}
	writeJSON(w, http.StatusOK, Added{Ref: ref})
}

func (a *api) internal(w http.ResponseWriter, step string, err error) {
	a.log.Error("control request failed", "step", step, "err", err)
	writeErr(w, http.StatusInternalServerError, step+" failed", "see the server's log")
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

func writeErr(w http.ResponseWriter, status int, msg, hint string) {
	writeJSON(w, status, apiError{Error: msg, Hint: hint})
}

// Listen opens the control socket at path with mode 0600, replacing a
// stale socket left by a server that died.
func Listen(path string) (net.Listener, error) {
	if c, err := net.Dial("unix", path); err == nil {
		c.Close()
		return nil, fmt.Errorf("control socket %s is in use: is another server running on this data directory?", path)
	}
	os.Remove(path)
	l, err := net.Listen("unix", path)
	if err != nil {
		return nil, fmt.Errorf("control socket: %w", err)
	}
	if err := os.Chmod(path, 0o600); err != nil {
		l.Close()
		return nil, fmt.Errorf("control socket: %w", err)
	}
	return l, nil
}
