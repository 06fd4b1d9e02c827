package source

import (
	"errors"
	"net/http"
	"strings"
	"unicode"
	"unicode/utf8"

	"cleandrop/drop/web"
	"cleandrop/vault"
)

// Limits of the identity form, in characters.
const (
	maxIdentityName    = 200
	maxIdentityContact = 1000
	maxIdentityBody    = 16 << 10
)

// identityData is the identity section of the case page.
type identityData struct {
	// Available: the case's agency has a custodian to seal to.
	Available bool
	OnFile    []identityOnFile
	// What the reporter typed, given back with an error so nothing is lost.
	Name, Contact, Purpose string
}

// identityOnFile is an identity already filed, as its reporter sees it:
// that it exists and what for, never what it says.
type identityOnFile struct {
	Day, PurposeKey string
}

// identityPurposes are the purposes in the order the form offers them.
var identityPurposes = []vault.Purpose{vault.PurposeProtection, vault.PurposeReward, vault.PurposeBoth}

func purposeKey(p vault.Purpose) string { return "case.identity.purpose." + string(p) }

// identityForm is a checked identity form.
type identityForm struct {
	name, contact string
	purpose       vault.Purpose
}

// readIdentity checks the identity form and returns the message key of
// the first problem ("" when there is none).
func readIdentity(name, contact, purpose, confirm string) (identityForm, string) {
	f := identityForm{
		name:    strings.Join(strings.Fields(name), " "), // one line
		contact: strings.TrimSpace(strings.ReplaceAll(contact, "\r\n", "\n")),
		purpose: vault.Purpose(strings.TrimSpace(purpose)),
	}
	switch {
	case !utf8.ValidString(f.name) || !utf8.ValidString(f.contact) || hasControl(f.name) || hasControl(f.contact):
		return f, "identity.error.not_text"
	case f.name == "":
		return f, "identity.error.name_empty"
	case utf8.RuneCountInString(f.name) > maxIdentityName:
		return f, "identity.error.name_long"
	case f.contact == "":
		return f, "identity.error.contact_empty"
	case utf8.RuneCountInString(f.contact) > maxIdentityContact:
		return f, "identity.error.contact_long"
	case !f.purpose.Valid():
		return f, "identity.error.purpose"
	case confirm != "yes":
		return f, "identity.error.confirm"
	}
	return f, ""
}

// hasControl reports control characters other than newline and tab.
func hasControl(s string) bool {
	return strings.ContainsFunc(s, func(r rune) bool { return unicode.IsControl(r) && r != '\n' && r != '\t' })
}

// plaintext is what is sealed to the custodian: readable with the stock
// age command.
func (f identityForm) plaintext(ref string) []byte {
	var b strings.Builder
	b.WriteString("cleandrop identity\n")
	b.WriteString("case: " + ref + "\n")
	b.WriteString("purpose: " + string(f.purpose) + "\n")
	b.WriteString("name: " + f.name + "\n")
	b.WriteString("contact:\n" + f.contact + "\n")
	return []byte(b.String())
}

// fileIdentity seals the reporter's identity to their case's custodian.
// The form is small and url-encoded: it is read in memory, never spilled.
func (h *handler) fileIdentity(w http.ResponseWriter, r *http.Request) {
	s, ok := h.sessions.Get(r)
	if !ok {
		h.expired(w, r)
		return
	}
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/x-www-form-urlencoded") {
		h.caseError(w, r, s, http.StatusBadRequest, "error.bad_form")
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxIdentityBody)
	if err := r.ParseForm(); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			h.caseError(w, r, s, http.StatusRequestEntityTooLarge, "identity.error.too_large")
			return
		}
		h.caseError(w, r, s, http.StatusBadRequest, "error.bad_form")
		return
	}
	pf := r.PostForm
	f, key := readIdentity(pf.Get("name"), pf.Get("contact"), pf.Get("purpose"), pf.Get("confirm"))
	back := identityData{Name: f.name, Contact: f.contact, Purpose: string(f.purpose)}
	if key != "" {
		h.showCase(w, r, s, http.StatusBadRequest, web.Page{ErrorKey: key, Data: back})
		return
	}
	b, err := h.cfg.Store.Append(s.ref)
	if err != nil {
		h.identityFailed(w, r, s, back, err, "append")
		return
	}
	defer b.Abort()
	wc, err := b.AddIdentity(f.purpose)
	if errors.Is(err, vault.ErrNoCustodian) {
		h.showCase(w, r, s, http.StatusConflict, web.Page{ErrorKey: "identity.error.no_custodian", Data: back})
		return
	}
	if err != nil {
		h.identityFailed(w, r, s, back, err, "identity")
		return
	}
	_, err = wc.Write(f.plaintext(s.ref))
	if cerr := wc.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		h.identityFailed(w, r, s, back, err, "seal identity")
		return
	}
	if _, err := b.Commit(); err != nil {
		h.identityFailed(w, r, s, back, err, "commit")
		return
	}
	h.setNotice(r, "identity.filed", nil)
	http.Redirect(w, r, "/case", http.StatusSeeOther)
}

// identityFailed answers an identity the vault could not keep. A failure
// of its storage shows the case again with the form as it was sent and
// the storage's message; a commit whose answer was lost says so, and the
// case's timeline shows whether it landed. Anything else is an internal
// error of step.
func (h *handler) identityFailed(w http.ResponseWriter, r *http.Request, s *reporter, back identityData, err error, step string) {
	status, key, ok := storageProblem(err)
	if !ok {
		h.internal(w, r, step)
		return
	}
	h.log.Warn("identity not filed", "reason", key)
	h.showCase(w, r, s, status, web.Page{ErrorKey: key, Data: back})
}
