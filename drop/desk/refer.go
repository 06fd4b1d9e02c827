package desk

import (
	"errors"
	"io"
	"net/http"

	"cleandrop/drop/stage"
	"cleandrop/vault"
)

// Agency is a receiving agency as the refer form lists it: where a case
// can go, and the public keys an officer seals a referral to.
type Agency struct {
	ID, Name   string
	Recipients []string
}

// referLimit bounds a referral bundle of case c: its items again, each
// with room for a larger age header (more recipients), a sealed name and
// a tar header, and the manifest.
func referLimit(c vault.Case) int64 {
	n := int64(1 << 20)
	for _, it := range c.Items {
		n += it.Size + 68<<10
	}
	return n
}

var errReferField = errors.New("desk: the form must hold the referral bundle only")

// refer files a referral bundle made on the offline machine ("cleandrop
// refer") against the case it was made from: the vault checks it as it
// streams in and commits it as the receiving agency's new case, with the
// chain of custody in both.
func (h *handler) refer(w http.ResponseWriter, r *http.Request) {
	c, ok := h.loadOr404(w, r)
	if !ok {
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, referLimit(c))
	var body io.Reader = r.Body
	if !whoOf(r).api {
		mr, err := r.MultipartReader()
		if err != nil {
			h.fail(w, r, http.StatusBadRequest, "error.bad_form", "/cases/"+c.Ref)
			return
		}
		p, err := mr.NextPart()
		if err != nil || p.FormName() != "file" {
			h.referFailed(w, r, c.Ref, errReferField)
			return
		}
		body = p
	}
	stg := ""
	if h.cfg.Policy.Has(stage.Referred) {
		stg = stage.Referred
	}
	link, err := h.cfg.Store.ReceiveReferral(body, c.Ref, stg, whoOf(r).Name)
	if err != nil {
		h.referFailed(w, r, c.Ref, err)
		return
	}
	h.audit(r, "case.refer", c.Ref, "to "+link.Agency+" "+link.Ref+" bundle "+link.Bundle[:16])
	h.audit(r, "case.referred_in", link.Ref, "from "+c.Agency+" "+c.Ref+" bundle "+link.Bundle[:16])
	if whoOf(r).api {
		writeJSON(w, http.StatusOK, link)
		return
	}
	h.done(w, r, c.Ref, "desk.done.refer")
}

// referProblem maps a refused referral to a status, a message key and an
// English text for the API.
func (h *handler) referProblem(err error) (int, string, string) {
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig):
		return http.StatusRequestEntityTooLarge, "error.too_large", "upload too large"
	case errors.Is(err, errReferField):
		return http.StatusBadRequest, "error.field", "the form must hold one field, file"
	case errors.Is(err, vault.ErrNotReferral):
		return http.StatusBadRequest, "desk.error.not_referral", "not a referral bundle: make one with cleandrop refer on the offline machine"
	case errors.Is(err, vault.ErrWrongCase):
		return http.StatusConflict, "desk.error.referral_case", "the referral bundle was made from another case"
	case errors.Is(err, vault.ErrSameAgency):
		return http.StatusConflict, "desk.error.referral_same", "a case cannot be referred to its own agency"
	case errors.Is(err, vault.ErrUnknownAgency):
		return http.StatusBadRequest, "desk.error.referral_agency", "the referral names an agency this drop does not know"
	case errors.Is(err, vault.ErrTampered), errors.Is(err, vault.ErrNotAge):
		return http.StatusBadRequest, "desk.error.referral_damaged", "the referral bundle is damaged or was changed"
	}
	h.log.Warn("referral refused; nothing kept")
	return http.StatusBadRequest, "desk.error.referral_damaged", "the referral bundle could not be stored"
}

func (h *handler) referFailed(w http.ResponseWriter, r *http.Request, ref string, err error) {
	h.refuse(w, r, ref, "referral", func() (int, string, string) { return h.referProblem(err) })
}

// referTargets lists the agencies a case at agency may be referred to.
func (h *handler) referTargets(agency string) []Agency {
	var out []Agency
	for _, a := range h.cfg.Agencies {
		if a.ID != agency {
			out = append(out, a)
		}
	}
	return out
}
