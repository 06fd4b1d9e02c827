package source

import (
	"embed"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"time"

	"filippo.io/age"
	"github.com/go-chi/chi/v5"

	"cleandrop/drop/jurisdiction"
	"cleandrop/drop/receipt"
	"cleandrop/drop/stage"
	"cleandrop/drop/strip"
	"cleandrop/drop/web"
	"cleandrop/vault"
)

//go:embed templates/*.html
var templates embed.FS

// Store is what the reporter interface needs from the vault.
type Store interface {
	NewCase(agency string, acc vault.Access) (*vault.Batch, error)
	Append(ref string) (*vault.Batch, error)
	Case(ref string) (vault.Case, error)
	AccessByLookup(lookup []byte) (string, vault.Access, error)
	OpenItem(ref string, id int) (io.ReadCloser, error)
}

// Agency is one receiving body as the reporter sees it.
type Agency struct {
	ID, Name string // Name is the English name
	PQ       bool   // its recipients are hybrid post-quantum
	// Names are its names in other languages, by language code; Translit
	// writes its local name in Latin letters (when empty, the directory
	// transliterates Cyrillic and Hangul names itself).
	Names    map[string]string
	Translit string
	// Sector is one of [Sectors] ("" is "other"); Region is [National]
	// ("" too) or a region id of the jurisdiction.
	Sector, Region string
	// Keywords are search words, by language code.
	Keywords map[string][]string
	// Central marks the central body, offered first as "I don't know who
	// is competent": it can refer a case to the competent body.
	Central bool
	// Custodian: the agency has a protection and rewards officer, to
	// whose key a reporter can seal their identity.
	Custodian bool
}

// Config wires the handler.
type Config struct {
	Store     Store
	Agencies  []Agency
	Receipts  receipt.Format
	Pepper    []byte
	KDF       receipt.Params
	MaxUpload int64 // bytes per request, all parts together
	// MaxFiles bounds the file parts of one report or answer (a form also
	// has at most one message); 0 takes [web.DefaultMaxFiles].
	MaxFiles int
	// BodyIdle cuts a request body that sends nothing for this long; 0
	// takes [web.DefaultBodyIdle].
	BodyIdle time.Duration
	// Uploads bounds the reports and answers streamed in at once; nil: a
	// bound of [web.DefaultMaxUploads] of its own.
	Uploads  *web.Uploads
	Catalog  *web.Catalog
	Language string // default language
	Logger   *slog.Logger
	Operator string // message key of a warning shown on every page, e.g. when not behind Tor
	// Policy gives the legal deadlines the follow-up page tells the
	// reporter about; it must pass [stage.Policy.Check].
	Policy stage.Policy
	// Pack gives the protection and rewards pages; nil serves neither.
	Pack *jurisdiction.Pack
	// Now is the clock that decides which day it is for those deadlines
	// (nil for time.Now). Only the day is ever shown.
	Now func() time.Time

	// Login throttling, per Tor circuit ([web.Circuit]): at most
	// LoginBurst failed logins at once, refilled at one per LoginRefill.
	// Zero values take the defaults.
	LoginBurst  int
	LoginRefill time.Duration
	// SessionIdle and SessionMax bound a follow-up session.
	SessionIdle, SessionMax time.Duration
	// Shared, when set, keeps follow-up sessions in this store, shared by
	// every front-end of the deployment, so that any front-end serves any
	// request. A session's record is named by an HMAC of its cookie and
	// sealed under a key derived from the cookie: the case and the
	// unwrapped reply key in it open only with the cookie, which only the
	// reporter's browser holds. nil (one front-end, the embedded default)
	// keeps sessions in memory: they cause no disk write. The login
	// budgets are per circuit and stay in memory either way.
	Shared web.Records
	// Derivations runs the argon2 derivations (64 MiB each): a bound for the
	// whole process, shared with the desk, served in turns across
	// circuits. nil: two slots of its own, [DefaultKDFPerCircuit] per
	// circuit.
	Derivations *web.Fair
	// OnDerive, when set, is called after every receipt derivation (a
	// login's or a new report's): for tests and metrics.
	OnDerive func()
	// Strip cleans files of hidden details before they are sealed, unless
	// the reporter says not to (see [strip.Cleaner]); nil cleans JPEG and
	// PNG only, having no place to spool PDF and OOXML files.
	Strip *strip.Cleaner
	// Stats, when set, serves the public statistics page /stats (reports
	// per agency and month, small counts hidden, computed once a day);
	// nil: no such page.
	Stats Cases
	// Guide, when set, answers "Help me write this" on the report page
	// (POST /report/guide); nil: no such button.
	Guide Guide
	// Drafts runs the guide and the identifying-detail check, in turns
	// across circuits, at most [DraftsPerCircuit] per circuit. nil: two
	// slots of its own.
	Drafts *web.Fair
}

// Defaults.
const (
	DefaultMaxUpload   = 2 << 30
	DefaultLoginBurst  = 10
	DefaultLoginRefill = 6 * time.Second
	// DefaultKDFPerCircuit is how many derivations one circuit may have
	// waiting or running at once; more are refused with 429 at once.
	DefaultKDFPerCircuit = 2
	// maxCircuits bounds the per-circuit failure buckets kept (about 100
	// bytes each).
	maxCircuits        = 1 << 16
	DefaultSessionIdle = 20 * time.Minute
	DefaultSessionMax  = 2 * time.Hour
)

type handler struct {
	cfg      Config
	log      *slog.Logger
	render   *web.Renderer
	agencies map[string]Agency
	dir      *directory
	sessions *web.Sessions[*reporter]
	throttle *web.Buckets // per circuit
	kdf      *web.Fair
	drafts   *web.Fair // the guide and the check
	// statsCache is the statistics page's table of the day.
	statsCache statsCache
}

// reporter is one follow-up session: in memory, or sealed in the shared
// store under a key derived from its cookie ([Config.Shared]). A change
// replaces it with a changed copy ([web.Sessions.Update]): a reporter a
// request holds is never written to.
type reporter struct {
	ref   string
	reply age.Identity
	flash string
	files []fileNote // what the last answer's files became, shown once
}

// New returns the reporter interface. It fails if a page or a message key
// is missing.
func New(cfg Config) (http.Handler, error) {
	if cfg.Store == nil || cfg.Catalog == nil {
		return nil, errors.New("source: store and catalogue are required")
	}
	if len(cfg.Pepper) != receipt.PepperSize {
		return nil, errors.New("source: pepper must be 32 bytes")
	}
	if len(cfg.Agencies) == 0 {
		return nil, errors.New("source: no agencies")
	}
	if err := cfg.Policy.Check(); err != nil {
		return nil, fmt.Errorf("source: policy: %w", err)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.KDF == (receipt.Params{}) {
		cfg.KDF = receipt.DefaultParams
	}
	if cfg.MaxUpload <= 0 {
		cfg.MaxUpload = DefaultMaxUpload
	}
	if cfg.MaxFiles <= 0 {
		cfg.MaxFiles = web.DefaultMaxFiles
	}
	if cfg.Uploads == nil {
		cfg.Uploads = web.NewUploads(0, 0)
	}
	if cfg.LoginBurst <= 0 {
		cfg.LoginBurst = DefaultLoginBurst
	}
	if cfg.LoginRefill <= 0 {
		cfg.LoginRefill = DefaultLoginRefill
	}
	if cfg.SessionIdle <= 0 {
		cfg.SessionIdle = DefaultSessionIdle
	}
	if cfg.SessionMax <= 0 {
		cfg.SessionMax = DefaultSessionMax
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Strip == nil {
		cfg.Strip = &strip.Cleaner{}
	}
	pages, err := fs.Sub(templates, "templates")
	if err != nil {
		return nil, err
	}
	rd, err := web.NewRenderer(pages, cfg.Catalog, append(append(requiredKeys, draftKeys()...), stripKeys()...)...)
	if err != nil {
		return nil, fmt.Errorf("source: %w", err)
	}
	h := &handler{
		cfg:      cfg,
		log:      cfg.Logger.With("component", "source"),
		render:   rd,
		agencies: map[string]Agency{},
		sessions: web.NewSessions[*reporter]("s", cfg.SessionIdle, cfg.SessionMax),
		throttle: web.NewBuckets(cfg.LoginBurst, cfg.LoginRefill, maxCircuits, cfg.Now),
		kdf:      cfg.Derivations,
	}
	if h.kdf == nil {
		h.kdf = web.NewFair(2, DefaultKDFPerCircuit)
	}
	if h.drafts = cfg.Drafts; h.drafts == nil {
		h.drafts = web.NewFair(2, DraftsPerCircuit)
	}
	for _, a := range cfg.Agencies {
		if a.Sector != "" && (!KnownSector(a.Sector) || !cfg.Catalog.HasKey("sector."+a.Sector)) {
			return nil, fmt.Errorf("source: agency %q: unknown sector %q", a.ID, a.Sector)
		}
		h.agencies[a.ID] = a
	}
	h.dir = newDirectory(cfg.Agencies, cfg.Catalog)
	if cfg.Shared != nil {
		h.sessions = web.NewSharedSessions("s", cfg.SessionIdle, cfg.SessionMax, cfg.Shared, reporterCodec)
	}
	return h.routes(), nil
}

func (h *handler) routes() http.Handler {
	r := web.NewRouter(h.cfg.Catalog, h.cfg.Language, func(w http.ResponseWriter, r *http.Request, status int, key string) {
		h.fail(w, r, status, key, "/")
	})
	r.Use(web.IdleBody(h.cfg.BodyIdle))
	upload := h.cfg.Uploads.Limit(h.busy)
	r.Get("/", h.index)
	r.Get("/static/style.css", web.Static().ServeHTTP)
	if h.cfg.Pack != nil {
		r.Get("/protection", h.protection)
		r.Get("/rewards", h.rewards)
	}
	r.Get("/agencies", h.agenciesPage)
	r.Route("/report", func(r chi.Router) {
		r.Get("/", h.reportForm)
		r.With(upload).Post("/", h.submitReport)
		r.With(upload).Post("/check", h.checkDraft)
		if h.cfg.Guide != nil {
			r.With(upload).Post("/guide", h.askGuide)
		}
	})
	r.Route("/followup", func(r chi.Router) {
		r.Get("/", h.loginForm)
		r.Post("/", h.login)
	})
	r.Route("/case", func(r chi.Router) {
		r.Get("/", h.casePage)
		r.With(upload).Post("/answer", h.answer)
		r.Post("/identity", h.fileIdentity)
	})
	r.Post("/logout", h.logout)
	if h.cfg.Stats != nil {
		r.Get("/stats", h.stats)
	}
	return r
}

// page renders a page; a rendering failure becomes the plain error page.
func (h *handler) page(w http.ResponseWriter, r *http.Request, status int, name string, p web.Page) {
	p.Operator = h.cfg.Operator
	if err := h.render.Render(w, r, status, name, p); err != nil {
		h.log.Error("render failed", "page", name)
		http.Error(w, http.StatusText(http.StatusInternalServerError), http.StatusInternalServerError)
	}
}

type errorData struct{ Back string }

func (h *handler) fail(w http.ResponseWriter, r *http.Request, status int, key, back string) {
	h.page(w, r, status, "error", web.Page{ErrorKey: key, Data: errorData{Back: back}})
}

// indexData says which optional links the landing page shows, and where
// "Make a report" leads.
type indexData struct {
	Info, Stats bool
	ReportHref  string
}

func (h *handler) index(w http.ResponseWriter, r *http.Request) {
	h.landing(w, r, "")
}

// landing renders the landing page, with a flash message when flash is
// not "": every route that shows it fills in the data its links need.
func (h *handler) landing(w http.ResponseWriter, r *http.Request, flash string) {
	h.page(w, r, http.StatusOK, "index", web.Page{Flash: flash, Data: indexData{Info: h.cfg.Pack != nil, Stats: h.cfg.Stats != nil, ReportHref: h.reportHref()}})
}

// requiredKeys are keys the handler chooses at run time; New checks them.
var requiredKeys = []string{
	"error.cross_origin", "error.not_found", "error.method", "error.internal",
	"error.too_large", "error.bad_form", "error.order", "error.field",
	"error.busy", "error.circuit_busy", "error.idle", "error.too_many_parts",
	"report.error.agency", "report.error.empty", "answer.error.empty",
	"login.error.wrong", "login.error.busy", "login.error.empty", "login.error.words",
	"login.error.unknown_word", "login.error.digits", "login.error.mixed",
	"session.expired", "answer.sent", "logout.done",
	"stage.other", "stage.received", "stage.received.help", "stage.other.help",
	"case.entry.unreadable",
	"index.protection", "index.rewards",
	"case.next.acknowledge", "case.next.feedback", "case.next.process", "case.next.other",
	"agencies.error.long", "agencies.error.sector", "agencies.error.region", "region." + National,
	"identity.filed", "identity.error.not_text", "identity.error.name_empty", "identity.error.name_long",
	"identity.error.contact_empty", "identity.error.contact_long", "identity.error.purpose",
	"identity.error.confirm", "identity.error.too_large", "identity.error.no_custodian",
	"case.identity.purpose.protection", "case.identity.purpose.reward", "case.identity.purpose.both",
}
