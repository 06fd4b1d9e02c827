package desk

import (
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"

	"cleandrop/drop/casework"
	"cleandrop/drop/stage"
	"cleandrop/drop/web"
	"cleandrop/vault"
)

//go:embed templates/*.html
var templates embed.FS

// Store is what the desk needs from the vault: case metadata, batches to
// add to a case, ciphertext, export bundles, and small metadata records
// (officer accounts, what each officer has seen) kept encrypted at rest.
type Store interface {
	Cases() ([]vault.Case, error)
	Case(ref string) (vault.Case, error)
	Append(ref string) (*vault.Batch, error)
	Post(ref, stage string, kind vault.Kind, text []byte) error
	OpenItem(ref string, id int) (io.ReadCloser, error) // ciphertext
	ExportWith(w io.Writer, ref string, opts vault.ExportOptions) error
	// ReceiveReferral files a referral bundle made from case from.
	ReceiveReferral(r io.Reader, from string, opts vault.ReceiveOptions) (vault.Custody, error)

	PutRecord(kind, id string, value []byte) error
	Record(kind, id string) ([]byte, error) // vault.ErrNotFound when absent
	Records(kind string) ([]Record, error)  // sorted by ID
	DeleteRecord(kind, id string) error
	// UpdateRecord reads kind/id (old is nil when absent), calls fn and
	// stores what it returns (nil deletes) in one serializable
	// transaction; fn may run more than once. An error from fn comes
	// back unchanged and nothing is stored.
	UpdateRecord(kind, id string, fn func(old []byte) (new []byte, err error)) error
}

// Audit is the append-only log of what officers did ([audit.Log]).
type Audit interface {
	// Append sets the entry's Seq and Day.
	Append(e AuditEntry) (AuditEntry, error)
	// Entries returns at most limit entries that filter accepts (nil:
	// all), newest first.
	Entries(filter func(AuditEntry) bool, limit int) ([]AuditEntry, error)
	// CaseEntries is Entries for the entries about one case; it reads
	// only those, not the whole log.
	CaseEntries(ref string, filter func(AuditEntry) bool, limit int) ([]AuditEntry, error)
}

// Config wires the desk.
type Config struct {
	Store    Store
	Accounts *Accounts
	Audit    Audit
	Policy   stage.Policy
	Catalog  *web.Catalog
	Language string // default language
	// Agencies are the drop's agencies, for the refer form.
	Agencies []Agency
	Logger   *slog.Logger
	// Sign signs export manifests; nil exports unsigned bundles.
	Sign func(manifest []byte) ([]byte, error)
	// SigningKey is the armored public key that checks Sign's signatures,
	// served at /signing-key.asc for officers and gpg.
	SigningKey []byte
	// SigningFingerprint is that key's fingerprint, shown with the link.
	SigningFingerprint string
	// Shared, when set, keeps officers' sessions and the sign-in and
	// API-token budgets per name in this store, shared by every
	// front-end of the deployment, so any front-end serves any request
	// and two front-ends do not give twice the guesses. nil (one
	// front-end, the embedded default) keeps them in memory: sessions
	// then cause no disk write. The per-circuit budgets stay in memory
	// either way, as a circuit belongs to one tor.
	Shared web.Records
	// MaxUpload bounds one upload of an item sealed offline, in bytes.
	MaxUpload int64
	// BodyIdle cuts a request body that sends nothing for this long; 0
	// takes [web.DefaultBodyIdle].
	BodyIdle time.Duration
	// Uploads bounds the uploads (sealed items, referrals) streamed in at
	// once; nil: a bound of [web.DefaultMaxUploads] of its own.
	Uploads *web.Uploads
	Now     func() time.Time
}

// Defaults and limits.
const (
	DefaultMaxUpload = 2 << 30
	SessionIdle      = 30 * time.Minute
	SessionMax       = 10 * time.Hour
	MinPassword      = 12
	// MaxMessage bounds an officer's question or note.
	MaxMessage = casework.MaxMessage
	// auditPage is how many entries the audit page shows.
	auditPage = 200
)

type handler struct {
	cfg      Config
	log      *slog.Logger
	render   *web.Renderer
	acc      *Accounts
	sessions *web.Sessions[*session]
	throttle *throttle
	// ops carries out every action on a case: scope, validation, sealing
	// and the audit entry, the same for the pages, the API and the control
	// socket.
	ops *casework.Desk
}

// session is one officer's sign-in: in memory, or sealed in the shared
// store ([Config.Shared]).
type session struct {
	Name  string `json:"n"`
	Flash string `json:"f,omitempty"`
}

var sessionCodec = web.Codec[*session]{
	Encode: func(s *session) ([]byte, error) { return json.Marshal(s) },
	Decode: func(b []byte) (*session, error) {
		s := new(session)
		return s, json.Unmarshal(b, s)
	},
}

// setFlash keeps a message for the session's next page.
func (h *handler) setFlash(r *http.Request, key string) {
	h.sessions.Update(r, func(s *session) *session {
		c := *s
		c.Flash = key
		return &c
	})
}

// takeFlash returns the session's message and forgets it. A page with no
// message to show writes nothing.
func (h *handler) takeFlash(r *http.Request) string {
	if s := whoOf(r).s; s == nil || s.Flash == "" {
		return ""
	}
	var f string
	h.sessions.Update(r, func(s *session) *session {
		c := *s
		f, c.Flash = c.Flash, ""
		return &c
	})
	return f
}

// New returns the officers' interface. It fails if a page or a message key
// is missing or the policy cannot work.
func New(cfg Config) (http.Handler, error) {
	if cfg.Store == nil || cfg.Accounts == nil || cfg.Audit == nil || cfg.Catalog == nil {
		return nil, errors.New("desk: store, accounts, audit and catalogue are required")
	}
	if err := cfg.Policy.Check(); err != nil {
		return nil, fmt.Errorf("desk: policy: %w", err)
	}
	if cfg.MaxUpload <= 0 {
		cfg.MaxUpload = DefaultMaxUpload
	}
	if cfg.Uploads == nil {
		cfg.Uploads = web.NewUploads(0, 0)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	pages, err := fs.Sub(templates, "templates")
	if err != nil {
		return nil, err
	}
	rd, err := web.NewRenderer(pages, cfg.Catalog, requiredKeys...)
	if err != nil {
		return nil, fmt.Errorf("desk: %w", err)
	}
	ops, err := casework.New(casework.Config{Store: cfg.Store, Audit: cfg.Audit, Policy: cfg.Policy, Sign: cfg.Sign, Logger: cfg.Logger})
	if err != nil {
		return nil, fmt.Errorf("desk: %w", err)
	}
	ss := web.NewSessions[*session]("d", SessionIdle, SessionMax)
	if cfg.Shared != nil {
		ss = web.NewSharedSessions("d", SessionIdle, SessionMax, cfg.Shared, sessionCodec)
	}
	ss.Now = cfg.Now
	h := &handler{
		cfg:      cfg,
		log:      cfg.Logger.With("component", "desk"),
		render:   rd,
		acc:      cfg.Accounts,
		sessions: ss,
		throttle: newThrottle(cfg.Shared, cfg.Now),
		ops:      ops,
	}
	return h.routes(), nil
}

// apiRefusals are the router's refusals in the API's English, by the
// message key the pages use.
var apiRefusals = map[string]string{
	"error.cross_origin": "cross-origin request refused",
	"error.not_found":    "no such endpoint",
	"error.method":       "method not allowed",
}

func (h *handler) routes() http.Handler {
	r := web.NewRouter(h.cfg.Catalog, h.cfg.Language, func(w http.ResponseWriter, r *http.Request, status int, key string) {
		if strings.HasPrefix(r.URL.Path, "/api/") {
			apiErr(w, status, apiRefusals[key])
			return
		}
		h.fail(w, r, status, key, "/")
	})
	r.Use(web.IdleBody(h.cfg.BodyIdle))
	upload := h.cfg.Uploads.Limit(h.busy)
	r.Get("/static/style.css", web.Static().ServeHTTP)
	r.Get("/signing-key.asc", h.signingKey)
	r.Get("/login", h.loginForm)
	r.Post("/login", h.login)
	r.Post("/logout", h.logout)
	r.Route("/enrol/{token}", func(r chi.Router) {
		r.Get("/", h.enrolForm)
		r.Post("/", h.enrol)
		r.Get("/qr.png", h.enrolQR)
	})
	r.Group(func(r chi.Router) {
		r.Use(h.signedIn)
		r.Get("/", h.caseList)
		r.Get("/audit", h.auditPage)
		r.Get("/oversight", h.oversightPage)
		r.Get("/oversight.csv", h.oversightCSV)
		r.Route("/cases/{ref}", func(r chi.Router) {
			r.Get("/", h.casePage)
			r.Get("/export", h.export)
			r.Get("/items/{id}", h.download)
			r.Post("/stage", h.changeStage)
			r.Post("/questions", h.ask)
			r.Post("/identity/opened", h.identityOpened)
			r.With(upload).Post("/items", h.upload)
			r.With(upload).Post("/refer", h.refer)
		})
	})
	r.Route("/api/v1", func(r chi.Router) {
		r.Use(h.bearer)
		r.Get("/cases", h.apiList)
		r.Route("/cases/{ref}", func(r chi.Router) {
			r.Get("/", h.apiCase)
			r.Get("/export", h.export)
			r.Get("/items/{id}", h.download)
			r.Post("/questions", h.apiAsk)
			r.Post("/stage", h.apiStage)
			r.Post("/identity/opened", h.apiIdentityOpened)
			r.With(upload).Post("/items", h.apiUpload)
			r.With(upload).Post("/refer", h.refer)
		})
	})
	return r
}

type ctxKey struct{}

// who is the signed-in officer of a request and, for pages, a copy of
// their session as the request found it.
type who struct {
	Officer
	s   *session // nil on the API
	api bool
}

func withWho(r *http.Request, w who) *http.Request {
	return r.WithContext(context.WithValue(r.Context(), ctxKey{}, w))
}

func whoOf(r *http.Request) who { w, _ := r.Context().Value(ctxKey{}).(who); return w }

// signedIn lets a request through only with a live session of an officer
// who is still enrolled and not revoked.
func (h *handler) signedIn(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, ok := h.sessions.Get(r)
		var o Officer
		if ok {
			o, ok = h.acc.live(s.Name)
		}
		if !ok {
			if s != nil {
				h.sessions.End(w, r)
			}
			if r.Method == http.MethodGet && r.URL.Path == "/" {
				http.Redirect(w, r, "/login", http.StatusSeeOther)
				return
			}
			h.page(w, r, http.StatusUnauthorized, "login", web.Page{ErrorKey: "desk.session.expired"})
			return
		}
		next.ServeHTTP(w, withWho(r, who{Officer: o.public(), s: s}))
	})
}

// nav is what every signed-in page shows in its menu.
type nav struct {
	Name       string
	Supervisor bool
	Overseer   bool
}

// page renders a page; a rendering failure becomes a plain error.
func (h *handler) page(w http.ResponseWriter, r *http.Request, status int, name string, p web.Page) {
	if err := h.render.Render(w, r, status, name, p); err != nil {
		h.log.Error("render failed", "page", name)
		http.Error(w, http.StatusText(http.StatusInternalServerError), http.StatusInternalServerError)
	}
}

type errorData struct {
	Back string
	Nav  nav
}

func (h *handler) fail(w http.ResponseWriter, r *http.Request, status int, key, back string) {
	me := whoOf(r)
	h.page(w, r, status, "error", web.Page{ErrorKey: key, Data: errorData{Back: back, Nav: nav{Name: me.Name, Supervisor: me.Supervisor(), Overseer: me.Overseer()}}})
}

func (h *handler) internal(w http.ResponseWriter, r *http.Request, step string) {
	h.log.Error("request failed", "step", step)
	if whoOf(r).api {
		apiErr(w, http.StatusInternalServerError, "internal error: "+step)
		return
	}
	h.fail(w, r, http.StatusInternalServerError, "error.internal", "/")
}

func (h *handler) today() string { return stage.Today(h.cfg.Now()) }

// audit appends one entry for the signed-in officer (the log dates it).
// Reads (sign-in, case view, download, export) are audited first and
// refused if that fails; changes are audited once they are committed,
// and a failure to record one is logged: the change itself stands.
func (h *handler) audit(r *http.Request, action, ref, detail string) error {
	me := whoOf(r)
	if me.api && detail == "" {
		detail = "api"
	}
	_, err := h.cfg.Audit.Append(AuditEntry{Actor: me.Name, Action: action, Case: ref, Detail: detail})
	if err != nil {
		h.log.Error("audit append failed", "action", action)
	}
	return err
}

// requiredKeys are keys the handler chooses at run time; New checks them.
var requiredKeys = []string{
	"error.cross_origin", "error.not_found", "error.method", "error.internal",
	"error.too_large", "error.bad_form", "error.order", "error.field", "error.busy",
	"desk.session.expired", "desk.login.wrong", "desk.login.busy", "desk.logout.done",
	"desk.enrol.gone", "desk.enrol.short", "desk.enrol.mismatch", "desk.enrol.code", "desk.enrol.done",
	"desk.error.forbidden", "desk.error.not_allowed", "desk.error.stage", "desk.error.same_stage", "desk.error.empty",
	"desk.error.kind", "desk.error.not_age", "desk.error.upload",
	"desk.done.stage", "desk.done.question", "desk.done.upload", "desk.done.refer",
	"desk.error.no_reporter", "desk.error.not_referral", "desk.error.referral_case",
	"desk.error.referral_same", "desk.error.referral_agency", "desk.error.referral_damaged",
	"desk.error.referral_items", "desk.error.referral_again", "desk.error.referral_reason", "desk.error.not_text",
	"desk.case.refer.reason.correction", "desk.case.refer.reason.new-information",
	"desk.case.refer.reason.not-received", "desk.case.refer.reason.requested",
	"desk.kind.report", "desk.kind.attachment", "desk.kind.answer", "desk.kind.question", "desk.kind.note", "desk.kind.cleaning",
	"desk.deadline.acknowledge", "desk.deadline.feedback", "desk.deadline.process",
	"desk.action.oversight.view", "desk.action.oversight.csv", "desk.error.not_overseer",
	"desk.kind.identity", "desk.error.identity", "desk.error.no_identity", "desk.done.identity_opened",
	"desk.identity.purpose.protection", "desk.identity.purpose.reward", "desk.identity.purpose.both",
}
