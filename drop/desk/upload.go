package desk

import (
	"errors"
	"io"
	"net/http"

	"github.com/go-chi/chi/v5"

	"cleandrop/drop/casework"
	"cleandrop/vault"
)

var (
	errField = errors.New("desk: unexpected form field")
	errOrder = errors.New("desk: form fields out of order")
)

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
	kind, err := casework.UploadKind(string(ks))
	if err != nil {
		h.uploadFailed(w, r, c.Ref, err)
		return
	}
	if p, err = mr.NextPart(); err != nil {
		if err == io.EOF {
			err = casework.ErrEmptyUpload
		}
		h.uploadFailed(w, r, c.Ref, err)
		return
	}
	if p.FormName() != "file" {
		h.uploadFailed(w, r, c.Ref, errField)
		return
	}
	err = h.ops.Upload(h.actor(r), c, kind, p, func() error {
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
	h.done(w, r, c.Ref, "desk.done.upload")
}

// uploadProblem maps an upload failure to a status, a message key and an
// English text for the API. It logs only the kind of failure.
func (h *handler) uploadProblem(r *http.Request, err error) (int, string, string) {
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig):
		return http.StatusRequestEntityTooLarge, "error.too_large", "upload too large"
	case errors.Is(err, casework.ErrEmptyUpload):
		return http.StatusBadRequest, "desk.error.empty", "empty upload"
	case errors.Is(err, casework.ErrKind):
		return http.StatusBadRequest, "desk.error.kind", `kind must be "note" or "question"`
	case errors.Is(err, errOrder):
		return http.StatusBadRequest, "error.order", "form fields out of order: kind, then file"
	case errors.Is(err, errField):
		return http.StatusBadRequest, "error.field", "unexpected form field"
	case errors.Is(err, vault.ErrNotAge):
		return http.StatusBadRequest, "desk.error.not_age", "not a binary age file"
	}
	if status, key, text, ok := h.opProblem(err); ok { // the operations layer's refusals
		return status, key, text
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
