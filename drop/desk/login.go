package desk

import (
	"errors"
	"net/http"
	"strings"

	"github.com/go-chi/chi/v5"
	qrcode "github.com/skip2/go-qrcode"

	"cleandrop/drop/web"
)

// parseSmallForm reads a small url-encoded form; officers' texts are at
// most MaxMessage. It is never used on an upload route.
func parseSmallForm(w http.ResponseWriter, r *http.Request) bool {
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/x-www-form-urlencoded") {
		return false
	}
	r.Body = http.MaxBytesReader(w, r.Body, MaxMessage+16<<10)
	return r.ParseForm() == nil
}

func (h *handler) loginForm(w http.ResponseWriter, r *http.Request) {
	if s, ok := h.sessions.Get(r); ok {
		if _, ok := h.acc.live(s.Name); ok {
			http.Redirect(w, r, "/", http.StatusSeeOther)
			return
		}
	}
	h.page(w, r, http.StatusOK, "login", web.Page{})
}

// login checks name, password and code together. Whatever was wrong, the
// answer is the same page with the same status.
func (h *handler) login(w http.ResponseWriter, r *http.Request) {
	if !parseSmallForm(w, r) {
		h.page(w, r, http.StatusBadRequest, "login", web.Page{ErrorKey: "error.bad_form"})
		return
	}
	name := strings.TrimSpace(r.PostForm.Get("name"))
	password := r.PostForm.Get("password")
	code := strings.Join(strings.Fields(r.PostForm.Get("code")), "")
	if len(name) > 64 || len(password) > 1024 || len(code) > 16 {
		h.page(w, r, http.StatusUnauthorized, "login", web.Page{ErrorKey: "desk.login.wrong"})
		return
	}
	// The try is taken before the derivation and given back only on
	// success: sign-ins sent together cannot evaluate more guesses than
	// the name's and the circuit's budgets hold.
	try, ok, err := h.throttle.login(r.Context(), name)
	if err != nil {
		h.internal(w, r, "login budget")
		return
	}
	if !ok {
		h.page(w, r, http.StatusTooManyRequests, "login", web.Page{ErrorKey: "desk.login.busy"})
		return
	}
	o, known, err := h.acc.login(r.Context(), name, password, code)
	if err != nil {
		if !errors.Is(err, errLogin) {
			h.refund(try) // nothing was evaluated
			switch {
			case errors.Is(err, web.ErrBusy):
				h.page(w, r, http.StatusTooManyRequests, "login", web.Page{ErrorKey: "desk.login.busy"})
			case r.Context().Err() == nil:
				h.internal(w, r, "login")
			}
			return
		}
		if known {
			h.audit(withWho(r, who{Officer: Officer{Name: name}}), "login.refused", "", "")
		}
		h.page(w, r, http.StatusUnauthorized, "login", web.Page{ErrorKey: "desk.login.wrong"})
		return
	}
	h.refund(try)
	r = withWho(r, who{Officer: o})
	if h.audit(r, "login", "", "") != nil {
		h.internal(w, r, "audit")
		return
	}
	if _, err := r.Cookie(h.sessions.Cookie); err == nil {
		h.sessions.End(w, r) // a new sign-in never reuses a session
	}
	if err := h.sessions.Start(w, &session{Name: o.Name}); err != nil {
		h.internal(w, r, "session")
		return
	}
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

func (h *handler) logout(w http.ResponseWriter, r *http.Request) {
	if s, ok := h.sessions.Get(r); ok {
		h.audit(withWho(r, who{Officer: Officer{Name: s.Name}}), "logout", "", "")
	}
	h.sessions.End(w, r)
	h.page(w, r, http.StatusOK, "login", web.Page{Flash: "desk.logout.done"})
}

// enrolData drives the enrolment page through its two steps: choose a
// password, then add the TOTP secret to an app and confirm a code.
type enrolData struct {
	Token     string
	Name      string
	Step      string // "password", "totp" or "done"
	URI       string
	Secret    string
	MinLength int
}

func (h *handler) enrolGone(w http.ResponseWriter, r *http.Request, err error) {
	if !errors.Is(err, errEnrol) {
		h.internal(w, r, "enrol")
		return
	}
	h.page(w, r, http.StatusGone, "enrol", web.Page{ErrorKey: "desk.enrol.gone", Data: enrolData{Step: "gone"}})
}

func (h *handler) enrolForm(w http.ResponseWriter, r *http.Request) {
	token := chi.URLParam(r, "token")
	o, err := h.acc.byEnrolToken(token)
	if err != nil {
		h.enrolGone(w, r, err)
		return
	}
	h.page(w, r, http.StatusOK, "enrol", web.Page{Data: enrolData{Token: token, Name: o.Name, Step: "password", MinLength: MinPassword}})
}

func (h *handler) enrol(w http.ResponseWriter, r *http.Request) {
	token := chi.URLParam(r, "token")
	o, err := h.acc.byEnrolToken(token)
	if err != nil {
		h.enrolGone(w, r, err)
		return
	}
	d := enrolData{Token: token, Name: o.Name, Step: "password", MinLength: MinPassword}
	if !parseSmallForm(w, r) {
		h.page(w, r, http.StatusBadRequest, "enrol", web.Page{ErrorKey: "error.bad_form", Data: d})
		return
	}
	if code, confirming := r.PostForm["code"]; confirming {
		o, err := h.acc.confirmEnrol(token, strings.Join(strings.Fields(strings.Join(code, "")), ""))
		switch {
		case errors.Is(err, errTOTP):
			d.Step, d.URI, d.Secret = "totp", otpauthURI(o.Name, o.TOTPSecret), b32.EncodeToString(o.TOTPSecret)
			h.page(w, r, http.StatusBadRequest, "enrol", web.Page{ErrorKey: "desk.enrol.code", Data: d})
		case err != nil:
			h.enrolGone(w, r, err)
		default:
			h.audit(withWho(r, who{Officer: o}), "enrol", "", "")
			d.Step, d.Token = "done", ""
			h.page(w, r, http.StatusOK, "enrol", web.Page{Flash: "desk.enrol.done", Data: d})
		}
		return
	}
	pw, confirm := r.PostForm.Get("password"), r.PostForm.Get("confirm")
	switch {
	case len([]rune(pw)) < MinPassword || len(pw) > 1024:
		h.page(w, r, http.StatusBadRequest, "enrol", web.Page{ErrorKey: "desk.enrol.short", Data: d})
		return
	case pw != confirm:
		h.page(w, r, http.StatusBadRequest, "enrol", web.Page{ErrorKey: "desk.enrol.mismatch", Data: d})
		return
	}
	o, err = h.acc.choosePassword(r.Context(), token, pw)
	if errors.Is(err, web.ErrBusy) {
		h.page(w, r, http.StatusTooManyRequests, "enrol", web.Page{ErrorKey: "desk.login.busy", Data: d})
		return
	}
	if err != nil {
		h.enrolGone(w, r, err)
		return
	}
	d.Step, d.URI, d.Secret = "totp", otpauthURI(o.Name, o.TOTPSecret), b32.EncodeToString(o.TOTPSecret)
	h.page(w, r, http.StatusOK, "enrol", web.Page{Data: d})
}

// enrolQR serves the TOTP secret as a QR code, from the same origin, only
// while the enrolment link is live and a password has been chosen.
func (h *handler) enrolQR(w http.ResponseWriter, r *http.Request) {
	o, err := h.acc.byEnrolToken(chi.URLParam(r, "token"))
	if err != nil || len(o.TOTPSecret) == 0 {
		if err != nil && !errors.Is(err, errEnrol) {
			h.internal(w, r, "enrol")
			return
		}
		h.fail(w, r, http.StatusNotFound, "error.not_found", "/login")
		return
	}
	png, err := qrcode.Encode(otpauthURI(o.Name, o.TOTPSecret), qrcode.Medium, 256)
	if err != nil {
		h.internal(w, r, "qr")
		return
	}
	w.Header().Set("Content-Type", "image/png")
	w.Write(png)
}
