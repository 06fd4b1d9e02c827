package casework

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"cleandrop/drop/stage"
	"cleandrop/vault"
	"cleandrop/vault/audit"
)

// MaxMessage bounds an officer's question or note, in bytes, after trimming.
const MaxMessage = 1 << 20

// AdminName is the actor the audit log records for the administrator.
const AdminName = "admin"

// Roles that may act on cases.
const (
	RoleOfficer    = "officer"
	RoleSupervisor = "supervisor"
	// RoleCustodian is the agency's protection and rewards officer: they
	// see a case's metadata, export it and download its identities (sealed
	// to their key), and mark an identity opened; they change nothing else.
	RoleCustodian = "custodian"
)

// Store is what casework needs from the vault.
type Store interface {
	Case(ref string) (vault.Case, error)
	Append(ref string) (*vault.Batch, error)
	Post(ref, stage string, kind vault.Kind, text []byte) error
	OpenItem(ref string, id int) (io.ReadCloser, error)
	ExportWith(w io.Writer, ref string, opts vault.ExportOptions) error
	ReceiveReferral(r io.Reader, from string, opts vault.ReceiveOptions) (vault.Custody, error)
}

// Audit is what casework needs from the audit log ([audit.Log]).
type Audit interface {
	Append(e audit.Entry) (audit.Entry, error)
}

// Path names the interface an action came through; the audit log records it.
type Path string

// The paths.
const (
	Page    Path = "page"    // the desk's pages
	API     Path = "api"     // the desk's JSON API
	Control Path = "control" // the control socket: the administrator
)

// Actor is who acts, and through which path.
type Actor struct {
	Name     string
	Role     string   // RoleOfficer, RoleSupervisor or RoleCustodian; ignored for the administrator
	Agencies []string // whose cases the officer may act on
	Path     Path
	admin    bool
}

// Admin is the administrator acting through the control socket: every
// case is in scope, and the audit log names them [AdminName].
func Admin() Actor { return Actor{Name: AdminName, Path: Control, admin: true} }

// Officer is an officer acting through path.
func Officer(name, role string, agencies []string, path Path) Actor {
	return Actor{Name: name, Role: role, Agencies: agencies, Path: path}
}

// caseOfficer reports whether a may change cases: the administrator, an
// officer or a supervisor.
func (a Actor) caseOfficer() bool {
	return a.admin || a.Role == RoleOfficer || a.Role == RoleSupervisor
}

// custodian reports whether a is an agency's custodian.
func (a Actor) custodian() bool { return !a.admin && a.Role == RoleCustodian }

// Errors the callers branch on. A case out of scope is [vault.ErrNotFound].
var (
	ErrForbidden   = errors.New("casework: not allowed")
	ErrStage       = errors.New("casework: unknown stage")
	ErrSameStage   = errors.New("casework: case already at that stage")
	ErrEmpty       = errors.New("casework: empty text")
	ErrTooLong     = errors.New("casework: text too long")
	ErrNotText     = errors.New("casework: text is not UTF-8")
	ErrKind        = errors.New("casework: unknown item kind")
	ErrEmptyUpload = errors.New("casework: empty upload")
	ErrReason      = errors.New("casework: unknown referral reason")
	// ErrIdentity: an identity is sealed to the custodian, and only the
	// custodian may download it or mark it opened.
	ErrIdentity = errors.New("casework: the identity is for the custodian only")
	// ErrNoIdentity: the case has no identity on file.
	ErrNoIdentity = errors.New("casework: no identity on file")
	// ErrNoItem is an item the case does not have; it is also
	// [vault.ErrNotFound].
	ErrNoItem = fmt.Errorf("casework: no such item: %w", vault.ErrNotFound)
)

// Config wires a [Desk].
type Config struct {
	Store  Store
	Audit  Audit
	Policy stage.Policy
	// Sign signs export manifests; nil exports unsigned bundles.
	Sign   func(manifest []byte) ([]byte, error)
	Logger *slog.Logger
}

// Desk is the operations layer. It is safe for concurrent use.
type Desk struct {
	st     Store
	au     Audit
	policy stage.Policy
	sign   func([]byte) ([]byte, error)
	log    *slog.Logger
}

// New returns the operations layer.
func New(cfg Config) (*Desk, error) {
	if cfg.Store == nil || cfg.Audit == nil {
		return nil, errors.New("casework: store and audit log are required")
	}
	if err := cfg.Policy.Check(); err != nil {
		return nil, fmt.Errorf("casework: policy: %w", err)
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Desk{st: cfg.Store, au: cfg.Audit, policy: cfg.Policy, sign: cfg.Sign, log: log.With("component", "casework")}, nil
}

// Stages lists the stages a case may move to.
func (d *Desk) Stages() []string { return slices.Clone(d.policy.Stages) }

// Load returns case ref if a is allowed to act on it, without recording
// anything (for lists and pages that only show metadata).
func (d *Desk) Load(a Actor, ref string) (vault.Case, error) {
	if !a.caseOfficer() && !a.custodian() {
		return vault.Case{}, ErrForbidden
	}
	ref = strings.ToUpper(strings.TrimSpace(ref))
	if ref == "" || len(ref) > audit.MaxCase {
		return vault.Case{}, vault.ErrNotFound
	}
	c, err := d.st.Case(ref)
	if err != nil {
		return vault.Case{}, err
	}
	if !a.admin && !slices.Contains(a.Agencies, c.Agency) {
		return vault.Case{}, vault.ErrNotFound
	}
	return c, nil
}

// View loads case ref for a and records that a viewed it.
func (d *Desk) View(a Actor, ref string) (vault.Case, error) {
	c, err := d.Load(a, ref)
	if err != nil {
		return c, err
	}
	if err := d.record(a, "case.view", c.Ref, ""); err != nil {
		return vault.Case{}, err
	}
	return c, nil
}

// Download returns item id of case ref as stored (age ciphertext) and
// records it. The caller closes the reader. An identity is the custodian's
// only: for anyone else it is [ErrIdentity]; a custodian downloads nothing
// but identities ([ErrForbidden]).
func (d *Desk) Download(a Actor, ref string, id int) (vault.Item, io.ReadCloser, error) {
	c, err := d.Load(a, ref)
	if err != nil {
		return vault.Item{}, nil, err
	}
	i := slices.IndexFunc(c.Items, func(it vault.Item) bool { return it.ID == id })
	if i < 0 {
		return vault.Item{}, nil, ErrNoItem
	}
	switch identity := c.Items[i].Kind == vault.KindIdentity; {
	case identity && !a.custodian():
		return vault.Item{}, nil, ErrIdentity
	case !identity && a.custodian():
		return vault.Item{}, nil, ErrForbidden
	}
	rc, err := d.st.OpenItem(c.Ref, id)
	if err != nil {
		return vault.Item{}, nil, err
	}
	if err := d.record(a, "item.download", c.Ref, "item "+strconv.Itoa(id)); err != nil {
		rc.Close()
		return vault.Item{}, nil, err
	}
	return c.Items[i], rc, nil
}

// Export records the export, then writes case c's bundle (loaded with
// [Desk.Load]), signed when the desk has a signer. It stops when ctx ends
// (whoever reads the bundle is gone).
func (d *Desk) Export(ctx context.Context, a Actor, c vault.Case, w io.Writer) error {
	if err := d.record(a, "export", c.Ref, ""); err != nil {
		return err
	}
	return d.st.ExportWith(w, c.Ref, vault.ExportOptions{Sign: d.sign, Done: ctx.Done()})
}

// text applies the rules for a question or a note: trimmed, UTF-8, at most
// MaxMessage bytes.
func text(s string) (string, error) {
	if len(s) > 2*MaxMessage {
		return "", ErrTooLong // do not trim what cannot pass
	}
	s = strings.TrimSpace(s)
	switch {
	case len(s) > MaxMessage:
		return "", ErrTooLong
	case !utf8.ValidString(s):
		return "", ErrNotText
	}
	return s, nil
}

// SetStage moves case ref to stg with an optional note, sealed to the
// reporter and the agency, in one batch. A note alone (stg the case's own
// stage) is allowed; the same stage without a note is [ErrSameStage].
func (d *Desk) SetStage(a Actor, ref, stg, note string) (vault.Case, error) {
	c, err := d.Load(a, ref)
	if err != nil {
		return c, err
	}
	if !a.caseOfficer() {
		return c, ErrForbidden
	}
	stg = strings.TrimSpace(stg)
	if !d.policy.Has(stg) {
		return c, ErrStage
	}
	if note, err = text(note); err != nil {
		return c, err
	}
	if stg == c.Stage && note == "" {
		return c, ErrSameStage
	}
	move := stg
	if stg == c.Stage {
		move = ""
	}
	detail := c.Stage + " -> " + stg
	if note != "" {
		detail += " +note"
	}
	if err := d.st.Post(c.Ref, move, vault.KindNote, []byte(note)); err != nil {
		d.recordUncertain(a, "stage.change", c.Ref, detail, err)
		return c, err
	}
	d.record(a, "stage.change", c.Ref, detail)
	return c, nil
}

// Ask seals a question to the reporter into case ref.
func (d *Desk) Ask(a Actor, ref, question string) (vault.Case, error) {
	c, err := d.Load(a, ref)
	if err != nil {
		return c, err
	}
	if !a.caseOfficer() {
		return c, ErrForbidden
	}
	q, err := text(question)
	if err != nil {
		return c, err
	}
	if q == "" {
		return c, ErrEmpty
	}
	if err := d.st.Post(c.Ref, "", vault.KindQuestion, []byte(q)); err != nil {
		d.recordUncertain(a, "question", c.Ref, "", err)
		return c, err
	}
	d.record(a, "question", c.Ref, "")
	return c, nil
}

// UploadKind is the kind an officer may give an item sealed offline: a
// question or a note for the reporter.
func UploadKind(s string) (vault.Kind, error) {
	switch k := vault.Kind(strings.TrimSpace(s)); k {
	case vault.KindNote, vault.KindQuestion:
		return k, nil
	}
	return "", ErrKind
}

// Upload streams an age file sealed elsewhere into case c (loaded with
// [Desk.Load]) as an item of kind (see [UploadKind]); the vault checks its
// header. after, when not nil, runs before the commit and may refuse what
// follows the file. Nothing is kept unless all of it succeeds.
func (d *Desk) Upload(a Actor, c vault.Case, kind vault.Kind, r io.Reader, after func() error) error {
	if !a.caseOfficer() {
		return ErrForbidden
	}
	if _, err := UploadKind(string(kind)); err != nil {
		return err
	}
	br := bufio.NewReader(r)
	if _, err := br.Peek(1); errors.Is(err, io.EOF) {
		return ErrEmptyUpload
	} else if err != nil {
		return err
	}
	b, err := d.st.Append(c.Ref)
	if err != nil {
		return err
	}
	defer b.Abort()
	if err := b.AddSealed(kind, br, nil); err != nil {
		return err
	}
	if after != nil {
		if err := after(); err != nil {
			return err
		}
	}
	if _, err := b.Commit(); err != nil {
		d.recordUncertain(a, "item.upload", c.Ref, string(kind), err)
		return err
	}
	d.record(a, "item.upload", c.Ref, string(kind))
	return nil
}

// detail is what the audit log records: the detail, and the path unless
// it is the pages (the entries the desk has always written).
func detail(p Path, s string) string {
	switch {
	case p == Page || p == "":
		return s
	case s == "":
		return string(p)
	}
	return s + " (" + string(p) + ")"
}

// record appends an entry: before a read, which the caller refuses when
// it fails; or after a committed change, which stands (the caller leaves
// the error: the failure is logged here).
func (d *Desk) record(a Actor, action, ref, s string) error {
	_, err := d.au.Append(audit.Entry{Actor: a.Name, Action: action, Case: ref, Detail: detail(a.Path, s)})
	if err != nil {
		d.log.Error("audit append failed", "action", action)
		return fmt.Errorf("%w: %w", ErrUnaudited, err)
	}
	return nil
}

// recordUncertain records a change whose commit's answer the store lost
// (vault.ErrUncertain): it may have landed, and a change that landed is
// audited, so the entry is written with " (commit uncertain)" after its
// detail. Any other err recorded nothing and records nothing.
func (d *Desk) recordUncertain(a Actor, action, ref, s string, err error) {
	if errors.Is(err, vault.ErrUncertain) {
		d.record(a, action, ref, strings.TrimSpace(s+" (commit uncertain)"))
	}
}

// ErrUnaudited means a read was refused because the audit log could not
// record it.
var ErrUnaudited = errors.New("casework: audit log unavailable")
