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
	"strconv"
	"strings"

	"github.com/go-chi/chi/v5"

	"cleandrop/drop/casework"
	"cleandrop/vault"
	"cleandrop/vault/audit"
)

// Store is what the control API needs from the vault to list cases.
// Everything done to a case goes through the operations layer
// ([casework.Desk]), as the administrator ([casework.Admin]).
type Store interface {
	Cases() ([]vault.Case, error)
}

// AuditLog is what the control API reads of the audit log ([audit.Log]).
type AuditLog interface {
	// Entries returns at most limit entries that filter accepts (nil:
	// all), newest first.
	Entries(filter func(audit.Entry) bool, limit int) ([]audit.Entry, error)
	// Verify checks the whole log and returns its number of entries; a
	// broken log gives an error wrapping audit.ErrBroken.
	Verify() (int64, error)
}

// AuditCount is the answer of /v1/audit/verify.
type AuditCount struct {
	Entries int64 `json:"entries"`
}

// AuditEntry is one audit log entry as the API returns it.
type AuditEntry struct {
	Seq    int64  `json:"seq"`
	Day    string `json:"day"`
	Actor  string `json:"actor"`
	Action string `json:"action"`
	Case   string `json:"case,omitempty"`
	Detail string `json:"detail,omitempty"`
}

// MaxAudit bounds the entries one audit request returns.
const MaxAudit = 10000

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
const MaxMessage = casework.MaxMessage

// maxTextBody bounds a request that carries a question or a note: room for
// the longest text the operations layer takes, and its encoding.
const maxTextBody = 2*MaxMessage + 64<<10

// Backup writes a backup of the running server, sealed, to w: nothing but
// ciphertext leaves it. It is audited by whoever provides it.
type Backup func(w io.Writer) error

// ErrNoBackupKey is what a [Backup] returns when the configuration names
// no key to seal backups to.
var ErrNoBackupKey = errors.New("the configuration names no backup_recipients")

// ErrStoreBackup is what a [Backup] returns when the vault is in shared
// stores, which a front-end's backup cannot hold: they are backed up with
// their own tools.
var ErrStoreBackup = errors.New("the vault and its audit log are in the shared stores, which a front-end's backup cannot hold")

// Handler serves the control API. ops carries out every action on a case,
// recorded in the audit log as the administrator's; au, when not nil, is
// the audit log served at /v1/audit; off, when not nil, manages officer
// accounts; bk, when not nil, serves a sealed backup at POST /v1/backup.
func Handler(st Store, ops *casework.Desk, au AuditLog, off Officers, bk Backup, log *slog.Logger) http.Handler {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	a := &api{st: st, ops: ops, au: au, bk: bk, log: log.With("component", "control")}
	r := chi.NewRouter()
	r.Route("/v1/cases", func(r chi.Router) {
		r.Get("/", a.list)
		r.Route("/{ref}", func(r chi.Router) {
			r.Get("/", a.get)
			r.Get("/export", a.export)
			r.Post("/export-file", a.exportFile)
			r.Post("/questions", a.question)
			r.Post("/stage", a.stage)
		})
	})
	if au != nil {
		r.Get("/v1/audit", a.audit)
		r.Get("/v1/audit/verify", a.verifyAudit)
	}
	if off != nil {
		a.officerRoutes(r, off)
	}
	if bk != nil {
		r.Post("/v1/backup", a.backup)
	}
	r.NotFound(func(w http.ResponseWriter, r *http.Request) {
		writeErr(w, http.StatusNotFound, "no such endpoint", "")
	})
	return r
}

type api struct {
	st  Store
	ops *casework.Desk
	au  AuditLog
	bk  Backup
	log *slog.Logger
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
	c, err := a.ops.Load(casework.Admin(), chi.URLParam(r, "ref"))
	if err != nil {
		a.failed(w, "case", err)
		return c, false
	}
	return c, true
}

// failed answers an error of the operations layer. The statuses are the
// desk's for the same errors.
func (a *api) failed(w http.ResponseWriter, step string, err error) {
	r, ok := casework.Refused(err)
	words, worded := controlRefusals[r.ID]
	if !ok || !worded {
		a.internal(w, step, err)
		return
	}
	if r.ID == casework.RefusedStage {
		words.hint += strings.Join(a.ops.Stages(), ", ")
	}
	writeErr(w, r.Status, words.msg, words.hint)
}

// controlRefusals word for the administrator the refusals a command can
// meet; any other is an internal error here.
var controlRefusals = map[string]struct{ msg, hint string }{
	casework.RefusedNotFound:   {"no such case", "list the cases with: cleandrop cases"},
	casework.RefusedNoItem:     {"no such case", "list the cases with: cleandrop cases"}, // ErrNoItem wraps vault.ErrNotFound: answered as it was
	casework.RefusedStage:      {"unknown stage", "stages: "},
	casework.RefusedSameStage:  {"the case is already at that stage", "add a note to send one without moving the case"},
	casework.RefusedEmpty:      {"the text is empty", "write it into the file first"},
	casework.RefusedTooLong:    {"the text is too long", "keep it under 1 MiB"},
	casework.RefusedNotText:    {"the text is not UTF-8", "save the file as UTF-8"},
	casework.RefusedNoReporter: {"the case came by referral: nothing can be sealed to its reporter from here", "the reporter follows the case at the referring agency; change its stage without a note"},
	casework.RefusedUncertain:  {"the store lost its answer to the commit: the change may or may not have been made", "look at the case (cleandrop case REF) before doing it again; the audit log marks it '(commit uncertain)'"},
	casework.RefusedStorage:    {"the store failed: nothing was changed", "check the database and the object store, then try again"},
	casework.RefusedNoRoom:     {"the store has no room: nothing was changed", "free space on the data directory's file system or the store"},
	casework.RefusedLowSpace:   {"free space is below min_free_mib: nothing was changed", "free space, or lower min_free_mib in the configuration"},
}

func (a *api) export(w http.ResponseWriter, r *http.Request) {
	c, ok := a.load(w, r)
	if !ok {
		return
	}
	w.Header().Set("Content-Type", "application/x-tar")
	if err := a.ops.Export(r.Context(), casework.Admin(), c, w); err != nil {
		if errors.Is(err, casework.ErrUnaudited) {
			a.internal(w, "audit", err)
			return
		}
		// Headers are gone; cut the stream so the client sees a short body.
		a.log.Error("export failed")
		panic(http.ErrAbortHandler)
	}
}

// backup streams the sealed backup. An error before the first byte is an
// error answer; after it, the stream is cut, and age's final chunk is
// missing.
func (a *api) backup(w http.ResponseWriter, r *http.Request) {
	cw := &countWriter{w: w}
	w.Header().Set("Content-Type", "application/octet-stream")
	if err := a.bk(cw); err != nil {
		switch {
		case cw.n == 0 && errors.Is(err, ErrNoBackupKey):
			writeErr(w, http.StatusConflict, err.Error(),
				`add "backup_recipients": ["age1..."] to the configuration (a key made offline with 'cleandrop keygen'), and restart the server`)
			return
		case cw.n == 0 && errors.Is(err, ErrStoreBackup):
			writeErr(w, http.StatusConflict, err.Error(),
				"back up the PostgreSQL database (pg_dump, or its replicas) and the bucket with their own tools, and keep vault.key, the pepper and the signing key of one front-end offline (docs/operations.md, national deployment)")
			return
		case cw.n == 0:
			a.internal(w, "backup", err)
			return
		}
		a.log.Error("backup failed midway", "err", err)
		panic(http.ErrAbortHandler)
	}
}

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

func (a *api) question(w http.ResponseWriter, r *http.Request) {
	text, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxTextBody))
	if err != nil {
		a.failed(w, "question", err)
		return
	}
	c, err := a.ops.Ask(casework.Admin(), chi.URLParam(r, "ref"), string(text))
	if err != nil {
		a.failed(w, "question", err)
		return
	}
	writeJSON(w, http.StatusOK, Added{Ref: c.Ref})
}

func (a *api) stage(w http.ResponseWriter, r *http.Request) {
	var sc StageChange
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxTextBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&sc); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			a.failed(w, "stage", err)
			return
		}
		writeErr(w, http.StatusBadRequest, "stage change is not valid JSON", "")
		return
	}
	c, err := a.ops.SetStage(casework.Admin(), chi.URLParam(r, "ref"), sc.Stage, sc.Note)
	if err != nil {
		a.failed(w, "stage", err)
		return
	}
	writeJSON(w, http.StatusOK, Added{Ref: c.Ref})
}

// audit returns the audit log's entries, newest first: all of them, or
// those of ?case=, at most ?limit= (default and ceiling MaxAudit).
func (a *api) audit(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	ref := strings.ToUpper(strings.TrimSpace(q.Get("case")))
	limit := MaxAudit
	if s := q.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			writeErr(w, http.StatusBadRequest, "limit must be a positive number", "")
			return
		}
		limit = min(n, MaxAudit)
	}
	var filter func(audit.Entry) bool
	if ref != "" {
		filter = func(e audit.Entry) bool { return e.Case == ref }
	}
	es, err := a.au.Entries(filter, limit)
	if err != nil {
		a.internal(w, "audit", err)
		return
	}
	out := make([]AuditEntry, 0, len(es))
	for _, e := range es {
		out = append(out, AuditEntry(e))
	}
	writeJSON(w, http.StatusOK, out)
}

// verifyAudit checks the server's whole audit log: its files, or the one
// chain in the shared store that every front-end appends to.
func (a *api) verifyAudit(w http.ResponseWriter, r *http.Request) {
	n, err := a.au.Verify()
	var p *audit.Problem
	switch {
	case errors.As(err, &p):
		writeErr(w, http.StatusConflict, fmt.Sprintf("audit log broken after %d good entries: %v", n, p), p.Hint)
		return
	case err != nil:
		a.internal(w, "audit verify", err)
		return
	}
	writeJSON(w, http.StatusOK, AuditCount{Entries: n})
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
