package desk

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base32"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/mail"
	"regexp"
	"slices"
	"strings"
	"time"

	"golang.org/x/crypto/argon2"

	"cleandrop/drop/casework"
	"cleandrop/drop/stage"
	"cleandrop/drop/web"
	"cleandrop/vault"
)

// Roles an officer can have. A supervisor sees the same cases as an
// officer of the same agencies, and the audit log of those agencies too.
// An overseer (the central body) sees no case at all: only the oversight
// page's aggregates over the agencies they oversee (all of them when the
// account names none). A custodian, the agencies' protection and rewards
// officer, sees their cases' metadata, takes the identities sealed to their
// key and marks them opened, and changes nothing else.
const (
	RoleOfficer    = casework.RoleOfficer
	RoleSupervisor = casework.RoleSupervisor
	RoleOverseer   = "overseer"
	RoleCustodian  = casework.RoleCustodian
)

// Record kinds the desk keeps in the [Store].
const (
	kindOfficer = "officer"
	kindSeen    = "seen"
)

// EnrolDays is how long an enrolment link stays valid.
const EnrolDays = 7

// Errors the administrator's tools branch on.
var (
	ErrExists      = errors.New("desk: an officer or token with that name already exists")
	ErrBadName     = errors.New("desk: a login name is 2-32 characters of a-z, 0-9, '.', '_' and '-'")
	ErrBadRole     = errors.New(`desk: the role must be "officer", "supervisor", "overseer" or "custodian"`)
	ErrNoAgencies  = errors.New("desk: an officer needs at least one agency")
	ErrNoOfficer   = errors.New("desk: no such officer")
	ErrBadKey      = errors.New("desk: not an onion client-authorization public key (52 base32 characters)")
	ErrBadLabel    = errors.New("desk: a token label is 1-64 printable characters")
	ErrBadEmail    = errors.New("desk: the digest address must be a bare e-mail address, like officer@agency.example")
	ErrNotEnrolled = errors.New("desk: the officer has not finished enrolling; an API token acts as its officer, so enrol first")
)

// errLogin is every failed sign-in, whatever was wrong.
var errLogin = errors.New("desk: login refused")

// errTOTP is a wrong code at the end of enrolment.
var errTOTP = errors.New("desk: wrong code")

// errEnrol is every unusable enrolment link: unknown, used or expired.
var errEnrol = errors.New("desk: enrolment link expired or used")

var nameRe = regexp.MustCompile(`^[a-z0-9._-]{2,32}$`)

// Officer is one account of the desk. It is stored as a record of kind
// "officer", encrypted at rest by the vault.
type Officer struct {
	Name         string     `json:"name"`
	Role         string     `json:"role"`
	Agencies     []string   `json:"agencies"`
	PasswordHash string     `json:"password_hash,omitempty"` // argon2id with its salt and parameters
	TOTPSecret   []byte     `json:"totp_secret,omitempty"`
	EnrolHash    []byte     `json:"enrol_hash,omitempty"` // SHA-256 of the one-time enrolment token; nil once enrolled
	EnrolExpires string     `json:"enrol_expires,omitempty"`
	ClientKey    string     `json:"client_key,omitempty"` // onion client-authorization public key, base32
	Tokens       []APIToken `json:"tokens,omitempty"`
	LastStep     int64      `json:"last_step,omitempty"` // last TOTP step used: no code works twice
	// DigestEmail and DigestKey are set when the officer opted in to the
	// daily notification digest: where it goes and the armored OpenPGP
	// public key it is encrypted to. Both are empty otherwise.
	DigestEmail string `json:"digest_email,omitempty"`
	DigestKey   string `json:"digest_key,omitempty"`
	// DigestLanguage is the language of the digest's body; empty means
	// the deployment's default language.
	DigestLanguage string `json:"digest_language,omitempty"`
	Revoked        bool   `json:"revoked,omitempty"`
}

// APIToken is one bearer token of the desk's JSON API. Only its hash is kept.
type APIToken struct {
	Name string `json:"name"`
	Hash []byte `json:"hash,omitempty"`
	Day  string `json:"day"`
}

// Enrolled reports whether the officer has finished enrolment.
func (o Officer) Enrolled() bool { return len(o.EnrolHash) == 0 && o.PasswordHash != "" }

// Supervisor reports whether the officer may read the audit log.
func (o Officer) Supervisor() bool { return o.Role == RoleSupervisor }

// Custodian reports whether the officer is their agencies' custodian.
func (o Officer) Custodian() bool { return o.Role == RoleCustodian }

// Overseer reports whether the officer may see the oversight page.
func (o Officer) Overseer() bool { return o.Role == RoleOverseer }

// mayRead reports whether a case of agency is in the officer's scope. No
// case is in an overseer's: their agencies only bound what they oversee.
func (o Officer) mayRead(agency string) bool {
	return o.Role != RoleOverseer && slices.Contains(o.Agencies, agency)
}

// oversees reports whether an overseer's aggregates cover agency: every
// agency when the account names none.
func (o Officer) oversees(agency string) bool {
	return o.Overseer() && (len(o.Agencies) == 0 || slices.Contains(o.Agencies, agency))
}

// public is o without its secrets.
func (o Officer) public() Officer {
	o.PasswordHash, o.TOTPSecret, o.EnrolHash = "", nil, nil
	o.Tokens = slices.Clone(o.Tokens)
	for i := range o.Tokens {
		o.Tokens[i].Hash = nil
	}
	return o
}

// kdfParams are argon2id's costs; they are recorded in every hash.
type kdfParams struct {
	Time, Memory uint32
	Threads      uint8
}

var defaultKDF = kdfParams{Time: 1, Memory: 64 * 1024, Threads: 2}

// Accounts manages officer accounts: creation and enrolment, sign-in with
// password and TOTP, API tokens and revocation. It is safe for concurrent
// use, and so are several Accounts over one store (front-ends sharing a
// vault): every change to an account is one [Store.UpdateRecord], so a
// TOTP code accepted by one is refused by every other.
type Accounts struct {
	st  Store
	now func() time.Time
	kdf kdfParams

	derivations *web.Fair // runs the argon2 derivations (64 MiB each), in turns per circuit

	// evaluated, when set, is called for every password or token checked
	// against an account: tests count the guesses that were evaluated.
	evaluated func()
}

// KDFPerCircuit is how many password derivations one circuit may have
// waiting or running at once when [NewAccounts] makes its own queue.
const KDFPerCircuit = 2

// NewAccounts manages the officer accounts kept in st. now is the clock
// (nil for time.Now). derivations runs the argon2 derivations (64 MiB
// each), a bound shared with the reporter interface in one process and
// served in turns per circuit; nil: two slots of its own.
func NewAccounts(st Store, now func() time.Time, derivations *web.Fair) *Accounts {
	if now == nil {
		now = time.Now
	}
	if derivations == nil {
		derivations = web.NewFair(2, KDFPerCircuit)
	}
	return &Accounts{st: st, now: now, kdf: defaultKDF, derivations: derivations}
}

func (a *Accounts) today() string { return stage.Today(a.now()) }

// Add creates an officer and returns their one-time enrolment token, valid
// for [EnrolDays] days. The officer opens /enrol/<token> on the desk.
func (a *Accounts) Add(name, role string, agencies []string) (string, error) {
	switch {
	case !nameRe.MatchString(name):
		return "", ErrBadName
	case role != RoleOfficer && role != RoleSupervisor && role != RoleOverseer && role != RoleCustodian:
		return "", ErrBadRole
	}
	var ags []string
	for _, ag := range agencies {
		if ag = strings.TrimSpace(ag); ag != "" && !slices.Contains(ags, ag) {
			ags = append(ags, ag)
		}
	}
	if len(ags) == 0 && role != RoleOverseer {
		return "", ErrNoAgencies
	}
	token := randomToken()
	sum := sha256.Sum256([]byte(token))
	o := Officer{
		Name: name, Role: role, Agencies: ags, EnrolHash: sum[:],
		EnrolExpires: stage.Today(a.now().AddDate(0, 0, EnrolDays)),
	}
	b, err := json.Marshal(o)
	if err != nil {
		return "", fmt.Errorf("desk: add officer: %w", err)
	}
	err = a.st.UpdateRecord(kindOfficer, name, func(old []byte) ([]byte, error) {
		if old != nil {
			return nil, ErrExists
		}
		return b, nil
	})
	switch {
	case errors.Is(err, ErrExists):
		return "", ErrExists
	case err != nil:
		return "", fmt.Errorf("desk: add officer: %w", err)
	}
	return token, nil
}

// Revoke disables an officer at once: their sessions, API tokens and
// enrolment link stop working at the next request.
func (a *Accounts) Revoke(name string) error {
	return a.update(name, func(o *Officer) error {
		o.Revoked = true
		o.EnrolHash = nil
		// A revoked officer gets no digest: nothing of theirs is kept that
		// the drop no longer needs.
		o.DigestEmail, o.DigestKey, o.DigestLanguage = "", "", ""
		return nil
	})
}

// List returns every officer, sorted by name, without password hashes,
// TOTP secrets, enrolment or token hashes.
func (a *Accounts) List() ([]Officer, error) {
	recs, err := a.st.Records(kindOfficer)
	if err != nil {
		return nil, fmt.Errorf("desk: list officers: %w", err)
	}
	out := make([]Officer, 0, len(recs))
	for _, r := range recs {
		var o Officer
		if err := json.Unmarshal(r.Value, &o); err != nil {
			return nil, fmt.Errorf("desk: officer record %q: %w", r.ID, err)
		}
		out = append(out, o.public())
	}
	slices.SortFunc(out, func(x, y Officer) int { return strings.Compare(x.Name, y.Name) })
	return out, nil
}

// Officer returns one officer without secrets.
func (a *Accounts) Officer(name string) (Officer, error) {
	o, err := a.get(name)
	return o.public(), err
}

// SetClientKey records the officer's onion client-authorization public key
// (base32, as tor writes it, with or without the "descriptor:x25519:" prefix).
func (a *Accounts) SetClientKey(name, pub string) error {
	pub = strings.ToUpper(strings.TrimSpace(pub))
	pub = strings.TrimPrefix(pub, "DESCRIPTOR:X25519:")
	if k, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(pub); err != nil || len(k) != 32 {
		return ErrBadKey
	}
	return a.update(name, func(o *Officer) error {
		o.ClientKey = pub
		return nil
	})
}

// Digest reports whether the officer opted in to the notification digest.
func (o Officer) Digest() bool { return o.DigestEmail != "" && o.DigestKey != "" }

// SetDigest turns the officer's daily notification digest on, to the bare
// address email and encrypted to the armored OpenPGP public key key (which
// the caller has checked), or off when both are empty. A revoked officer
// can only turn it off. lang is the digest's language (checked by the
// caller against the catalogue), "" for the deployment's default.
func (a *Accounts) SetDigest(name, email, key, lang string) error {
	email = strings.TrimSpace(email)
	if (email == "") != (key == "") {
		return errors.New("desk: set digest: give both an address and a key, or neither")
	}
	if email != "" {
		addr, err := mail.ParseAddress(email)
		if err != nil || addr.Name != "" || addr.Address != email || len(email) > 254 {
			return ErrBadEmail
		}
	}
	return a.update(name, func(o *Officer) error {
		if o.Revoked && email != "" {
			return ErrNoOfficer
		}
		o.DigestEmail, o.DigestKey, o.DigestLanguage = email, key, lang
		if email == "" {
			o.DigestLanguage = ""
		}
		return nil
	})
}

// NewToken makes a bearer token for the desk's JSON API, labelled label,
// and returns it. It is shown once: only its hash is kept.
func (a *Accounts) NewToken(name, label string) (string, error) {
	label = strings.TrimSpace(label)
	if label == "" || len(label) > 64 || strings.ContainsFunc(label, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
		return "", ErrBadLabel
	}
	token := name + "." + randomToken()
	sum := sha256.Sum256([]byte(token))
	err := a.update(name, func(o *Officer) error {
		if o.Revoked {
			return ErrNoOfficer
		}
		if !o.Enrolled() {
			return ErrNotEnrolled
		}
		if slices.ContainsFunc(o.Tokens, func(t APIToken) bool { return t.Name == label }) {
			return ErrExists
		}
		o.Tokens = append(o.Tokens, APIToken{Name: label, Hash: sum[:], Day: a.today()})
		return nil
	})
	if err != nil {
		return "", err
	}
	return token, nil
}

func (a *Accounts) get(name string) (Officer, error) {
	var o Officer
	if !nameRe.MatchString(name) {
		return o, ErrNoOfficer
	}
	b, err := a.st.Record(kindOfficer, name)
	if errors.Is(err, vault.ErrNotFound) {
		return o, ErrNoOfficer
	}
	if err != nil {
		return o, fmt.Errorf("desk: read officer: %w", err)
	}
	if err := json.Unmarshal(b, &o); err != nil {
		return o, fmt.Errorf("desk: read officer: %w", err)
	}
	return o, nil
}

// update changes one officer record in one compare-and-swap of the store:
// fn sees the record as it is when the change is stored, whichever
// front-end changed it last. fn may run more than once, so it must change
// nothing but the officer it is given (and the caller's copy of it); its
// error comes back unchanged and nothing is stored.
func (a *Accounts) update(name string, fn func(*Officer) error) error {
	if !nameRe.MatchString(name) {
		return ErrNoOfficer
	}
	var fnErr error
	err := a.st.UpdateRecord(kindOfficer, name, func(old []byte) ([]byte, error) {
		fnErr = nil
		if old == nil {
			fnErr = ErrNoOfficer
			return nil, fnErr
		}
		var o Officer
		if err := json.Unmarshal(old, &o); err != nil {
			return nil, fmt.Errorf("desk: read officer: %w", err)
		}
		if fnErr = fn(&o); fnErr != nil {
			return nil, fnErr
		}
		return json.Marshal(o)
	})
	switch {
	case err == nil:
		return nil
	case fnErr != nil && errors.Is(err, fnErr):
		return fnErr
	}
	return fmt.Errorf("desk: write officer: %w", err)
}

// byEnrolToken finds the officer a live enrolment token belongs to.
func (a *Accounts) byEnrolToken(token string) (Officer, error) {
	if token == "" || len(token) > 128 {
		return Officer{}, errEnrol
	}
	sum := sha256.Sum256([]byte(token))
	recs, err := a.st.Records(kindOfficer)
	if err != nil {
		return Officer{}, fmt.Errorf("desk: read officers: %w", err)
	}
	var found Officer
	hit := 0
	for _, r := range recs {
		var o Officer
		if err := json.Unmarshal(r.Value, &o); err != nil {
			return Officer{}, fmt.Errorf("desk: officer record %q: %w", r.ID, err)
		}
		if len(o.EnrolHash) == sha256.Size && subtle.ConstantTimeCompare(o.EnrolHash, sum[:]) == 1 {
			found, hit = o, 1
		}
	}
	if hit == 0 || found.Revoked || a.today() > found.EnrolExpires {
		return Officer{}, errEnrol
	}
	return found, nil
}

// choosePassword sets the password of the officer token enrols and makes a
// new TOTP secret, which the officer must confirm with a code before the
// account works. It returns the secret.
func (a *Accounts) choosePassword(ctx context.Context, token, password string) (Officer, error) {
	o, err := a.byEnrolToken(token)
	if err != nil {
		return Officer{}, err
	}
	hash, err := a.hashPassword(ctx, password)
	if err != nil {
		return Officer{}, err
	}
	secret := make([]byte, totpSecret)
	rand.Read(secret)
	err = a.update(o.Name, func(cur *Officer) error {
		if subtle.ConstantTimeCompare(cur.EnrolHash, o.EnrolHash) != 1 {
			return errEnrol
		}
		cur.PasswordHash, cur.TOTPSecret = hash, secret
		o = *cur
		return nil
	})
	return o, err
}

// confirmEnrol finishes enrolment when code is a current code of the new
// TOTP secret: the token is burnt and the code cannot be used again.
func (a *Accounts) confirmEnrol(token, code string) (Officer, error) {
	o, err := a.byEnrolToken(token)
	if err != nil {
		return Officer{}, err
	}
	err = a.update(o.Name, func(cur *Officer) error {
		if subtle.ConstantTimeCompare(cur.EnrolHash, o.EnrolHash) != 1 || cur.PasswordHash == "" || len(cur.TOTPSecret) == 0 {
			return errEnrol
		}
		step, ok := checkTOTP(cur.TOTPSecret, code, a.now(), cur.LastStep)
		if !ok {
			return errTOTP
		}
		cur.LastStep, cur.EnrolHash, cur.EnrolExpires = step, nil, ""
		o = *cur
		return nil
	})
	return o, err
}

// login checks a name, password and TOTP code. Every wrong field, an
// unknown name, an account not yet enrolled and a revoked one all give
// [errLogin] after the same work: one argon2id derivation and three
// constant-time code comparisons. known reports whether name is an
// account, for the audit log only.
func (a *Accounts) login(ctx context.Context, name, password, code string) (o Officer, known bool, err error) {
	o, err = a.get(name)
	known = err == nil
	if err != nil && !errors.Is(err, ErrNoOfficer) {
		return Officer{}, false, err
	}
	hash := o.PasswordHash
	if hash == "" {
		hash = a.dummyHash()
	}
	passOK, err := a.checkPassword(ctx, hash, password)
	if err != nil {
		return Officer{}, known, err
	}

	// The code is checked against the record as it is stored, and its step
	// kept, in one compare-and-swap: of two sign-ins with the same code,
	// at one front-end or at two, one alone gets through.
	check := func(cur *Officer) error {
		secret := cur.TOTPSecret
		if len(secret) == 0 {
			secret = make([]byte, totpSecret)
		}
		step, codeOK := checkTOTP(secret, code, a.now(), cur.LastStep)
		usable := known && cur.Enrolled() && !cur.Revoked
		if !(passOK && codeOK && usable) {
			return errLogin
		}
		cur.LastStep = step
		o = *cur
		return nil
	}
	if !known {
		return Officer{}, known, check(&o) // the same comparisons, refused
	}
	switch err := a.update(name, check); {
	case errors.Is(err, errLogin), errors.Is(err, ErrNoOfficer):
		return Officer{}, known, errLogin
	case err != nil:
		return Officer{}, known, err
	}
	return o, known, nil
}

// tokenName returns the officer name a bearer token claims, and whether
// the token is well formed at all: "<name>.<43 characters of unpadded
// URL-safe base64 for 32 bytes>", as [Accounts.NewToken] makes them. A
// malformed token is refused before it costs anything or touches any
// budget.
func tokenName(token string) (string, bool) {
	i := strings.LastIndexByte(token, '.')
	if i < 0 || !nameRe.MatchString(token[:i]) {
		return "", false
	}
	secret := token[i+1:]
	if len(secret) != tokenChars {
		return "", false
	}
	if b, err := base64.RawURLEncoding.Strict().DecodeString(secret); err != nil || len(b) != 32 {
		return "", false
	}
	return token[:i], true
}

// tokenChars is the length of a token's secret: 32 bytes in unpadded base64.
const tokenChars = 43

// byAPIToken returns the live officer a bearer token belongs to; name is
// the officer it claims, as [tokenName] read it from the well-formed token.
func (a *Accounts) byAPIToken(name, token string) (Officer, error) {
	if a.evaluated != nil {
		a.evaluated()
	}
	o, err := a.get(name)
	if errors.Is(err, ErrNoOfficer) {
		return Officer{}, errLogin
	}
	if err != nil {
		return Officer{}, err
	}
	sum := sha256.Sum256([]byte(token))
	hit := 0
	for _, t := range o.Tokens {
		hit |= subtle.ConstantTimeCompare(t.Hash, sum[:])
	}
	if hit == 0 || o.Revoked || !o.Enrolled() {
		return Officer{}, errLogin
	}
	return o, nil
}

// live returns the officer of a session if they may still use the desk.
func (a *Accounts) live(name string) (Officer, bool) {
	o, err := a.get(name)
	if err != nil || o.Revoked || !o.Enrolled() {
		return Officer{}, false
	}
	return o, true
}

var b64 = base64.RawStdEncoding

// hashPassword derives an argon2id hash with a fresh salt and records the
// parameters beside it, so they can be raised later.
func (a *Accounts) hashPassword(ctx context.Context, password string) (string, error) {
	salt := make([]byte, 16)
	rand.Read(salt)
	p := a.kdf
	var key []byte
	if err := a.derivations.Do(ctx, web.Circuit(ctx), func() {
		key = argon2.IDKey([]byte(password), salt, p.Time, p.Memory, p.Threads, 32)
	}); err != nil {
		return "", err
	}
	return fmt.Sprintf("argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, p.Memory, p.Time, p.Threads, b64.EncodeToString(salt), b64.EncodeToString(key)), nil
}

// dummyHash has the current parameters and matches no password: an
// unknown name costs the same derivation as a known one.
func (a *Accounts) dummyHash() string {
	junk := make([]byte, 48)
	rand.Read(junk)
	p := a.kdf
	return fmt.Sprintf("argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, p.Memory, p.Time, p.Threads, b64.EncodeToString(junk[:16]), b64.EncodeToString(junk[16:]))
}

// checkPassword compares password with an encoded hash in constant time.
// The derivation waits its turn in the fair queue under the circuit of
// ctx: the error is [web.ErrBusy] when that circuit has its share queued,
// or ctx's when it ends first.
func (a *Accounts) checkPassword(ctx context.Context, encoded, password string) (bool, error) {
	var v int
	var p kdfParams
	parts := strings.Split(encoded, "$")
	if len(parts) != 5 || parts[0] != "argon2id" {
		return false, nil
	}
	if _, err := fmt.Sscanf(parts[1], "v=%d", &v); err != nil || v != argon2.Version {
		return false, nil
	}
	if _, err := fmt.Sscanf(parts[2], "m=%d,t=%d,p=%d", &p.Memory, &p.Time, &p.Threads); err != nil ||
		p.Time == 0 || p.Threads == 0 || p.Memory > 1<<21 {
		return false, nil
	}
	salt, err1 := b64.DecodeString(parts[3])
	want, err2 := b64.DecodeString(parts[4])
	if err1 != nil || err2 != nil || len(want) == 0 {
		return false, nil
	}
	var got []byte
	if err := a.derivations.Do(ctx, web.Circuit(ctx), func() {
		got = argon2.IDKey([]byte(password), salt, p.Time, p.Memory, p.Threads, uint32(len(want)))
		if a.evaluated != nil {
			a.evaluated()
		}
	}); err != nil {
		return false, err
	}
	return subtle.ConstantTimeCompare(got, want) == 1, nil
}

// randomToken is 256 random bits, URL-safe.
func randomToken() string {
	b := make([]byte, 32)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}
