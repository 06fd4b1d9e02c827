package desk

import (
	"errors"
	"io"
	"net/http"
	"slices"
	"strings"

	"cleandrop/drop/casework"
	"cleandrop/vault"
	"cleandrop/vault/bundle"
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

var errReferField = errors.New("desk: the form must hold the referral bundle only, after an optional reason")

// refer files a referral bundle made on the offline machine ("cleandrop
// refer") against the case it was made from, through the operations layer:
// the vault checks it against the case as it streams in and commits it as
// the receiving agency's new case, with the chain of custody in both. A
// case referred to the same agency before needs a reason: the form's
// "reason" field, before the file, or the API's ?reason=.
func (h *handler) refer(w http.ResponseWriter, r *http.Request) {
	c, ok := h.loadOr404(w, r)
	if !ok {
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, referLimit(c))
	var body io.Reader = r.Body
	reason := r.URL.Query().Get("reason")
	if !whoOf(r).api {
		mr, err := r.MultipartReader()
		if err != nil {
			h.fail(w, r, http.StatusBadRequest, "error.bad_form", "/cases/"+c.Ref)
			return
		}
		p, err := mr.NextPart()
		if err == nil && p.FormName() == "reason" {
			b, rerr := io.ReadAll(io.LimitReader(p, 65))
			if rerr != nil || len(b) > 64 {
				h.referFailed(w, r, c.Ref, errReferField)
				return
			}
			reason = string(b)
			p, err = mr.NextPart()
		}
		if err != nil || p.FormName() != "file" {
			h.referFailed(w, r, c.Ref, errReferField)
			return
		}
		body = p
	}
	link, err := h.ops.Refer(h.actor(r), c, body, reason)
	if err != nil {
		h.referFailed(w, r, c.Ref, err)
		return
	}
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
		return http.StatusBadRequest, "error.field", "the form must hold an optional reason, then one field, file"
	case errors.Is(err, bundle.ErrNotReferral):
		return http.StatusBadRequest, "desk.error.not_referral", "not a referral bundle: make one with cleandrop refer on the offline machine"
	case errors.Is(err, vault.ErrWrongCase):
		return http.StatusConflict, "desk.error.referral_case", "the referral bundle was made from another case"
	case errors.Is(err, vault.ErrItemsMismatch):
		return http.StatusConflict, "desk.error.referral_items", "the referral's items are not the case's: make it again from a fresh export"
	case errors.Is(err, vault.ErrReferredBefore):
		return http.StatusConflict, "desk.error.referral_again", "the case was referred to that agency before: give a reason (" + strings.Join(casework.ReferralReasons(), ", ") + ")"
	case errors.Is(err, casework.ErrReason), errors.Is(err, vault.ErrReferralReason):
		return http.StatusBadRequest, "desk.error.referral_reason", "unknown reason; reasons: " + strings.Join(casework.ReferralReasons(), ", ")
	case errors.Is(err, vault.ErrSameAgency):
		return http.StatusConflict, "desk.error.referral_same", "a case cannot be referred to its own agency"
	case errors.Is(err, vault.ErrUnknownAgency):
		return http.StatusBadRequest, "desk.error.referral_agency", "the referral names an agency this drop does not know"
	case errors.Is(err, bundle.ErrTampered), errors.Is(err, vault.ErrNotAge):
		return http.StatusBadRequest, "desk.error.referral_damaged", "the referral bundle is damaged or was changed"
	}
	if status, key, text, ok := h.opProblem(err); ok { // the operations layer's refusals
		return status, key, text
	}
	h.log.Warn("referral refused; nothing kept")
	return http.StatusBadRequest, "desk.error.referral_damaged", "the referral bundle could not be stored"
}

func (h *handler) referFailed(w http.ResponseWriter, r *http.Request, ref string, err error) {
	h.refuse(w, r, ref, "referral", func() (int, string, string) { return h.referProblem(err) })
}

// reasonOption is a referral reason as the refer form offers it.
type reasonOption struct{ Value, Key string }

// referReasons are the reasons the refer form offers when case c was
// referred before; none for a case never referred.
func referReasons(c vault.Case) []reasonOption {
	if !slices.ContainsFunc(c.Custody, func(l vault.Custody) bool { return l.Action == vault.CustodyOut }) {
		return nil
	}
	var out []reasonOption
	for _, r := range casework.ReferralReasons() {
		out = append(out, reasonOption{Value: r, Key: "desk.case.refer.reason." + r})
	}
	return out
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
