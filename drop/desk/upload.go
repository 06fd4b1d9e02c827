package desk

import (
	"bufio"
	"errors"
	"io"
	"net/http"
	"strings"

	"github.com/go-chi/chi/v5"

	"cleandrop/vault"
)

var (
	errEmptyUpload = errors.New("desk: empty upload")
	errField       = errors.New("desk: unexpected form field")
	errOrder       = errors.New("desk: form fields out of order")
	errKind        = errors.New("desk: unknown item kind")
)

// uploadKind is the kind an officer may give an item sealed offline: a
// question or a note for the reporter (sealed to the case's reply key and
// the agency's keys on the offline machine).
func uploadKind(s string) (vault.Kind, error) {
	switch k := vault.Kind(strings.TrimSpace(s)); k {
	case vault.KindNote, vault.KindQuestion:
		return k, nil
	}
	return "", errKind
}

// storeSealed streams an age file sealed elsewhere into case ref as is
// (the vault checks its header). after runs before the commit (it may
// refuse what follows the file). Nothing is kept unless all of it succeeds.
func (h *handler) storeSealed(ref string, kind vault.Kind, r io.Reader, after func() error) error {
	// The vault checks the age header; only an empty upload is told apart
	// here, for a clearer message.
	br := bufio.NewReader(r)
	if _, err := br.Peek(1); errors.Is(err, io.EOF) {
		return errEmptyUpload
	} else if err != nil {
		return err
	}
	b, err := h.cfg.Store.Append(ref)
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
	_, err = b.Commit()
	return err
}

// upload takes an item sealed on the offline machine from a form: the kind
// first, then the file. The body streams through a size limit straight
// into the vault; it is never parsed into memory or temporary files.
func (h *handler) upload(w http.ResponseWriter, r *http.Request) {
	c, ok := h.loadOr404(w, r)
	if !ok {
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, h.cfg.MaxUpload)
	mr, err := r.MultipartReader()
	if err != nil {
		h.fail(w, r, http.StatusBadRequest, "error.bad_form", "/cases/"+c.Ref)
		return
	}
	p, err := mr.NextPart()
	if err != nil {
		h.uploadFailed(w, r, c.Ref, err)
		return
	}
	if p.FormName() != "kind" {
		h.uploadFailed(w, r, c.Ref, errOrder)
		return
	}
	ks, err := io.ReadAll(io.LimitReader(p, 64))
	if err != nil {
		h.uploadFailed(w, r, c.Ref, err)
		return
	}
	kind, err := uploadKind(string(ks))
	if err != nil {
		h.uploadFailed(w, r, c.Ref, err)
		return
	}
	if p, err = mr.NextPart(); err != nil {
		if err == io.EOF {
			err = errEmptyUpload
		}
		h.uploadFailed(w, r, c.Ref, err)
		return
	}
	if p.FormName() != "file" {
		h.uploadFailed(w, r, c.Ref, errField)
		return
	}
	err = h.storeSealed(c.Ref, kind, p, func() error {
		if _, err := mr.NextPart(); err != io.EOF {
			if err == nil {
				err = errField
			}
			return err
		}
		return nil
	})
	if err != nil {
		h.uploadFailed(w, r, c.Ref, err)
		return
	}
	h.audit(r, "item.upload", c.Ref, string(kind))
	h.done(w, r, c.Ref, "desk.done.upload")
}

// uploadProblem maps an upload failure to a status, a message key and an
// English text for the API. It logs only the kind of failure.
func (h *handler) uploadProblem(r *http.Request, err error) (int, string, string) {
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig):
		return http.StatusRequestEntityTooLarge, "error.too_large", "upload too large"
	case errors.Is(err, errEmptyUpload):
		return http.StatusBadRequest, "desk.error.empty", "empty upload"
	case errors.Is(err, errKind):
		return http.StatusBadRequest, "desk.error.kind", `kind must be "note" or "question"`
	case errors.Is(err, errOrder):
		return http.StatusBadRequest, "error.order", "form fields out of order: kind, then file"
	case errors.Is(err, errField):
		return http.StatusBadRequest, "error.field", "unexpected form field"
	case errors.Is(err, vault.ErrNoReporter):
		return http.StatusConflict, "desk.error.no_reporter", "the case came by referral: nothing can be sealed to its reporter from here"
	case errors.Is(err, vault.ErrNotAge):
		return http.StatusBadRequest, "desk.error.not_age", "not a binary age file"
	}
	h.log.Warn("upload refused; nothing kept")
	return http.StatusBadRequest, "desk.error.upload", "the age file could not be stored"
}

// busy answers an upload refused because the bound on uploads served at
// once is reached: nothing of it was read or kept.
func (h *handler) busy(w http.ResponseWriter, r *http.Request) {
	h.log.Warn("upload refused: busy")
	if whoOf(r).api {
		apiErr(w, http.StatusServiceUnavailable, "busy: too many uploads at once; try again in a moment")
		return
	}
	h.fail(w, r, http.StatusServiceUnavailable, "error.busy", "/cases/"+chi.URLParam(r, "ref"))
}

func (h *handler) uploadFailed(w http.ResponseWriter, r *http.Request, ref string, err error) {
	h.refuse(w, r, ref, "upload", func() (int, string, string) { return h.uploadProblem(r, err) })
}

// refuse answers a refused upload of what (on the page or the API) with
// the status, message key and English text problem gives; a request the
// client cut off gets no answer, only a log line.
func (h *handler) refuse(w http.ResponseWriter, r *http.Request, ref, what string, problem func() (int, string, string)) {
	if r.Context().Err() != nil {
		h.log.Warn(what + " cut off; nothing kept")
		return
	}
	status, key, text := problem()
	if whoOf(r).api {
		apiErr(w, status, text)
		return
	}
	h.fail(w, r, status, key, "/cases/"+ref)
}
