package source

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync"
	"syscall"

	"cleandrop/drop/receipt"
	"cleandrop/drop/strip"
	"cleandrop/drop/web"
	"cleandrop/vault"
)

type reportData struct {
	// Dropdown: few agencies, chosen in the form (Options, central first;
	// Selected preselects one). Otherwise Chosen is the agency chosen in
	// the directory, or nil: then the form is not shown, only the way to
	// the directory, so nothing is typed that could be lost.
	Dropdown bool
	Options  []agencyView
	Selected string
	Chosen   *agencyView
	MaxMiB   int64
	MaxFiles int
	// GuideOn shows the "Help me write this" button; Step2 is the check
	// before sending, with the file input; Draft is what was typed and
	// what the guide and the check made of it.
	GuideOn bool
	Step2   bool
	Draft   draftView
}

// reportData is the report form for lang with agency id preselected ("" or
// unknown: none).
func (h *handler) reportData(r *http.Request, id string) reportData {
	lang := web.Lang(r)
	d := reportData{Dropdown: !h.many(), MaxMiB: h.cfg.MaxUpload >> 20, MaxFiles: h.cfg.MaxFiles, GuideOn: h.cfg.Guide != nil}
	e := h.dir.byID[id]
	if !d.Dropdown {
		if e != nil {
			v := h.dir.view(e, lang)
			d.Chosen = &v
		}
		return d
	}
	if e != nil {
		d.Selected = e.ID
	}
	if h.dir.central != nil {
		d.Options = append(d.Options, h.dir.view(h.dir.central, lang))
	}
	for _, e := range h.dir.entries {
		if e != h.dir.central {
			d.Options = append(d.Options, h.dir.view(e, lang))
		}
	}
	return d
}

// reportForm serves GET /report, with ?agency=ID as chosen in the
// directory. With many agencies and none chosen, it sends the reporter to
// the directory first: they have typed nothing yet.
func (h *handler) reportForm(w http.ResponseWriter, r *http.Request) {
	id := r.URL.Query().Get("agency")
	if h.many() && h.dir.byID[id] == nil {
		http.Redirect(w, r, "/agencies", http.StatusSeeOther)
		return
	}
	h.page(w, r, http.StatusOK, "report", web.Page{Data: h.reportData(r, id)})
}

type receiptData struct {
	Receipt, Ref string
	Files        []fileView
	// Uncertain: the commit's answer was lost, so the report may or may
	// not have been stored; the receipt opens it if it was.
	Uncertain bool
}

// submitReport streams a new report into the vault. The agency field must
// come first (browsers send fields in form order), because it decides
// whose keys seal everything after it.
func (h *handler) submitReport(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, h.cfg.MaxUpload)
	form, err := web.NewForm(r)
	if err != nil {
		h.reportError(w, r, http.StatusBadRequest, "error.bad_form")
		return
	}
	defer form.Release()
	p, err := form.NextPart()
	if err != nil {
		h.uploadFailed(w, r, err, true)
		return
	}
	if p.FormName() != "agency" {
		h.reportError(w, r, http.StatusBadRequest, "error.order")
		return
	}
	id, err := readSmall(p, 256)
	if err != nil {
		h.uploadFailed(w, r, err, true)
		return
	}
	ag, ok := h.agencies[id]
	if !ok {
		h.reportError(w, r, http.StatusBadRequest, "report.error.agency")
		return
	}
	r = withAgency(r, id)

	rc, err := receipt.Generate(h.cfg.Receipts)
	if err != nil {
		h.internal(w, r, "receipt")
		return
	}
	keys, err := h.derive(r, rc)
	if errors.Is(err, web.ErrBusy) {
		h.reportError(w, r, http.StatusTooManyRequests, "error.circuit_busy")
		return
	}
	if err != nil {
		h.internal(w, r, "derive")
		return
	}
	rk, err := receipt.NewReplyKey(ag.PQ)
	if err != nil {
		h.internal(w, r, "reply key")
		return
	}
	wrapped, err := keys.Wrap(rk)
	if err != nil {
		h.internal(w, r, "wrap")
		return
	}
	b, err := h.cfg.Store.NewCase(ag.ID, vault.Access{
		Lookup: keys.Lookup, KDF: h.cfg.KDF.String(),
		ReplyRecipient: rk.Recipient, WrappedReply: wrapped,
	})
	if err != nil {
		h.storeFailed(w, r, err, true, "new case")
		return
	}
	defer b.Abort()
	n, notes, err := h.stream(form, nil, b, vault.KindReport)
	if err != nil {
		h.uploadFailed(w, r, err, true)
		return
	}
	if n == 0 {
		h.reportError(w, r, http.StatusBadRequest, "report.error.empty")
		return
	}
	ref, err := b.Commit()
	if errors.Is(err, vault.ErrUncertain) {
		// The receipt is the reporter's only way to learn which it was:
		// it opens the case if the commit landed, and nothing if not.
		h.log.Warn("report commit uncertain; receipt shown")
		h.page(w, r, http.StatusServiceUnavailable, "receipt", web.Page{Data: receiptData{Receipt: rc, Uncertain: true}})
		return
	}
	if err != nil {
		h.storeFailed(w, r, err, true, "commit")
		return
	}
	h.page(w, r, http.StatusOK, "receipt", web.Page{Data: receiptData{Receipt: rc, Ref: ref, Files: h.fileViews(web.Lang(r), notes)}})
}

func (h *handler) reportError(w http.ResponseWriter, r *http.Request, status int, key string) {
	h.page(w, r, status, "report", web.Page{ErrorKey: key, Data: h.reportData(r, chosenAgency(r))})
}

type agencyKey struct{}

// withAgency remembers on r the agency a report being read is for, so
// that an error page keeps it chosen.
func withAgency(r *http.Request, id string) *http.Request {
	return r.WithContext(context.WithValue(r.Context(), agencyKey{}, id))
}

func chosenAgency(r *http.Request) string {
	id, _ := r.Context().Value(agencyKey{}).(string)
	return id
}

// answer streams a reporter's follow-up into their case.
func (h *handler) answer(w http.ResponseWriter, r *http.Request) {
	s, ok := h.sessions.Get(r)
	if !ok {
		h.expired(w, r)
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, h.cfg.MaxUpload)
	form, err := web.NewForm(r)
	if err != nil {
		h.caseError(w, r, s, http.StatusBadRequest, "error.bad_form")
		return
	}
	defer form.Release()
	// An optional first field says which case the answer is for: the
	// reporter's own, or one it was referred to.
	first, err := form.NextPart()
	if err != nil && err != io.EOF {
		h.uploadFailed(w, r, err, false)
		return
	}
	to := s.ref
	if first != nil && first.FormName() == "to" {
		v, err := io.ReadAll(io.LimitReader(first, 64))
		if err != nil {
			h.uploadFailed(w, r, err, false)
			return
		}
		if to, err = h.answerTarget(s.ref, strings.TrimSpace(string(v))); err != nil {
			if errors.Is(err, vault.ErrNotFound) {
				h.caseError(w, r, s, http.StatusBadRequest, "error.bad_form")
			} else {
				h.internal(w, r, "answer target")
			}
			return
		}
		first = nil
	}
	b, err := h.cfg.Store.Append(to)
	if err != nil {
		h.storeFailed(w, r, err, false, "append")
		return
	}
	defer b.Abort()
	n, notes, err := h.stream(form, first, b, vault.KindAnswer)
	if err != nil {
		h.uploadFailed(w, r, err, false)
		return
	}
	if n == 0 {
		h.caseError(w, r, s, http.StatusBadRequest, "answer.error.empty")
		return
	}
	if _, err := b.Commit(); err != nil {
		if errors.Is(err, vault.ErrUncertain) {
			h.log.Warn("answer commit uncertain")
			h.caseError(w, r, s, http.StatusServiceUnavailable, "error.uncertain")
			return
		}
		h.storeFailed(w, r, err, false, "commit")
		return
	}
	h.setNotice(r, "answer.sent", notes)
	http.Redirect(w, r, "/case", http.StatusSeeOther)
}

var (
	errField = errors.New("unexpected form field")
	errOrder = errors.New("form fields out of order")
	errParts = errors.New("too many form parts")
)

// busy answers an upload refused because the bound on uploads served at
// once is reached: nothing of it was read or kept.
func (h *handler) busy(w http.ResponseWriter, r *http.Request) {
	h.log.Warn("upload refused: busy")
	if r.URL.Path == "/report" || strings.HasPrefix(r.URL.Path, "/report/") {
		h.reportError(w, r, http.StatusServiceUnavailable, "error.busy")
		return
	}
	h.fail(w, r, http.StatusServiceUnavailable, "error.busy", "/case")
}

var copyBufs = sync.Pool{New: func() any { b := make([]byte, 64<<10); return &b }}

// stream seals first (when not nil) and every remaining part into b: the message as a text item of
// kind text, each file as an attachment with its name sealed beside it.
// Empty parts (no text typed, no file chosen) are skipped. It returns how
// many items it added, and what became of each file.
//
// Files are cleaned of hidden details as they stream ([strip.Cleaner])
// unless a strip field before them says "0" (the form sends a hidden
// strip=0, then the checkbox's strip=1; the last one counts; a client
// that sends none gets its files cleaned). When the form had files, an
// item of kind cleaning tells the officer what was done with each.
//
// Parts are counted as they arrive, before anything is sealed: a form
// with more than one message, more than two strip fields or more than
// MaxFiles files is refused ([errParts]) at the first part over the
// bound, which is never read.
func (h *handler) stream(form *web.Form, first *web.FormPart, b *vault.Batch, text vault.Kind) (int, []fileNote, error) {
	bp := copyBufs.Get().(*[]byte)
	buf := *bp
	defer func() {
		clear(buf) // a part's first bytes: plaintext
		copyBufs.Put(bp)
	}()
	added, messages, files, strips := 0, 0, 0, 0
	clean := true
	var notes []fileNote
	for {
		p, err := first, error(nil)
		if first != nil {
			first = nil
		} else if p, err = form.NextPart(); err == io.EOF {
			break
		}
		if err != nil {
			return added, notes, err
		}
		var kind vault.Kind
		name := ""
		switch p.FormName() {
		case "message":
			if messages++; messages > 1 {
				return added, notes, errParts
			}
			kind = text
		case "strip":
			if files > 0 {
				return added, notes, errOrder
			}
			if strips++; strips > 2 {
				return added, notes, errParts
			}
			v, err := readSmall(p, 8)
			if err != nil {
				return added, notes, err
			}
			switch strings.TrimSpace(v) {
			case "0":
				clean = false
			case "1":
				clean = true
			default:
				return added, notes, errField
			}
			continue
		case "file":
			if files++; files > h.cfg.MaxFiles {
				return added, notes, errParts
			}
			kind = vault.KindAttachment
			name = p.FileName()
		case "agency":
			return added, notes, errOrder
		default:
			return added, notes, errField
		}
		n, err := io.ReadAtLeast(p, buf, 1)
		if err == io.EOF {
			continue // empty part
		}
		if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) {
			return added, notes, err
		}
		if kind == vault.KindAttachment && name == "" {
			name = "file"
		}
		wc, err := b.Add(kind, name)
		if err != nil {
			return added, notes, err
		}
		if kind == vault.KindAttachment {
			res := strip.Result{Reason: "declined"}
			if clean {
				res, err = h.cfg.Strip.Clean(wc, io.MultiReader(bytes.NewReader(buf[:n]), p))
			} else {
				err = copyAll(wc, buf[:n], p)
			}
			if err != nil {
				wc.Close()
				return added, notes, err
			}
			notes = append(notes, fileNote{N: len(notes) + 1, Name: name, Result: res})
		} else if err := copyAll(wc, buf[:n], p); err != nil {
			wc.Close()
			return added, notes, err
		}
		if err := wc.Close(); err != nil {
			return added, notes, err
		}
		added++
	}
	if len(notes) > 0 {
		wc, err := b.Add(vault.KindCleaning, "")
		if err != nil {
			return added, notes, err
		}
		if _, err := wc.Write(h.cleaningText(notes)); err != nil {
			wc.Close()
			return added, notes, err
		}
		if err := wc.Close(); err != nil {
			return added, notes, err
		}
	}
	return added, notes, nil
}

// copyAll writes head, already read from p, and the rest of p to w,
// straight from the form's buffer.
func copyAll(w io.Writer, head []byte, p *web.FormPart) error {
	if _, err := w.Write(head); err != nil {
		return err
	}
	_, err := p.WriteTo(w)
	return err
}

// uploadFailed answers an upload that could not be read to the end. The
// log gets only the kind of failure, never a size or a name.
func (h *handler) uploadFailed(w http.ResponseWriter, r *http.Request, err error, report bool) {
	var tooBig *http.MaxBytesError
	status, key, stored := storageProblem(err)
	switch {
	case stored && status == http.StatusInsufficientStorage:
		// The disk or the floor, whatever else happened.
	case errors.As(err, &tooBig):
		status, key = http.StatusRequestEntityTooLarge, "error.too_large"
	case errors.Is(err, errOrder):
		status, key = http.StatusBadRequest, "error.order"
	case errors.Is(err, errField):
		status, key = http.StatusBadRequest, "error.field"
	case errors.Is(err, errParts):
		status, key = http.StatusBadRequest, "error.too_many_parts"
	case errors.Is(err, vault.ErrBatchFull):
		status, key = http.StatusRequestEntityTooLarge, "error.batch_full"
	case errors.Is(err, web.ErrBodyIdle):
		// The connection closes after this answer; a client that only
		// paused may still read it.
		status, key = http.StatusRequestTimeout, "error.idle"
	case r.Context().Err() != nil:
		h.log.Warn("upload cut off; nothing kept")
		return
	case stored:
	default:
		status, key = http.StatusBadRequest, "error.bad_form"
	}
	h.log.Warn("upload refused; nothing kept", "reason", key)
	if report {
		h.reportError(w, r, status, key)
		return
	}
	h.fail(w, r, status, key, "/case")
}

// storageProblem words a failure of the vault's storage, which is never
// the reporter's doing: a commit whose answer was lost
// ([vault.ErrUncertain]: it may have landed), free space under the
// configured floor ([vault.ErrLowSpace]), a full disk ([vault.ErrNoSpace],
// or ENOSPC from the cleaner's spool beside the vault), or any other
// failure of it ([vault.ErrStorage]). Except for the first, nothing of the
// batch was kept. ok is false for any other error.
func storageProblem(err error) (status int, key string, ok bool) {
	switch {
	case errors.Is(err, vault.ErrUncertain):
		return http.StatusServiceUnavailable, "error.uncertain", true
	case errors.Is(err, vault.ErrLowSpace):
		return http.StatusInsufficientStorage, "error.low_space", true
	case errors.Is(err, vault.ErrNoSpace), errors.Is(err, syscall.ENOSPC):
		return http.StatusInsufficientStorage, "error.no_room", true
	case errors.Is(err, vault.ErrStorage):
		return http.StatusServiceUnavailable, "error.store", true
	}
	return 0, "", false
}

// storeFailed answers a report or answer the vault could not start or
// commit: a full disk, the floor or a failure of the vault's storage as
// an upload that failed does ([handler.uploadFailed]); anything else as
// an internal error of step.
func (h *handler) storeFailed(w http.ResponseWriter, r *http.Request, err error, report bool, step string) {
	if _, _, ok := storageProblem(err); ok {
		h.uploadFailed(w, r, err, report)
		return
	}
	h.internal(w, r, step)
}

func (h *handler) internal(w http.ResponseWriter, r *http.Request, step string) {
	h.log.Error("request failed", "step", step)
	h.fail(w, r, http.StatusInternalServerError, "error.internal", "/")
}

func readSmall(r io.Reader, max int64) (string, error) {
	b, err := io.ReadAll(io.LimitReader(r, max+1))
	if err != nil {
		return "", err
	}
	if int64(len(b)) > max {
		return "", errField
	}
	return string(b), nil
}

// derive runs the receipt KDF in the process's fair queue, in the turn of
// the request's circuit. It returns [web.ErrBusy] at once when that
// circuit already has its share waiting or running.
func (h *handler) derive(r *http.Request, normalized string) (receipt.Keys, error) {
	var keys receipt.Keys
	var err error
	qerr := h.kdf.Do(r.Context(), web.Circuit(r.Context()), func() {
		keys, err = receipt.Derive(normalized, h.cfg.Pepper, h.cfg.KDF)
		if h.cfg.OnDerive != nil {
			h.cfg.OnDerive()
		}
	})
	if qerr != nil {
		return receipt.Keys{}, qerr
	}
	return keys, err
}

// answerTarget checks that an answer from the reporter of case own may go
// to case ref: their own case, or one it was referred to. It returns
// [vault.ErrNotFound] otherwise.
func (h *handler) answerTarget(own, ref string) (string, error) {
	if ref == "" || ref == own {
		return own, nil
	}
	c, err := h.cfg.Store.Case(own)
	if err != nil {
		return "", err
	}
	cases, err := h.referredTo(c)
	if err != nil {
		return "", err
	}
	for _, lc := range cases {
		if lc.Ref == ref {
			return lc.Ref, nil
		}
	}
	return "", vault.ErrNotFound
}
