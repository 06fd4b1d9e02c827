package desk

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/go-chi/chi/v5"

	"cleandrop/drop/casework"
	"cleandrop/vault"
)

// identityRow is one identity on file as the case page shows it: that it
// exists, for what, and whether the custodian has marked it opened.
type identityRow struct {
	ID         int
	Day        string
	Purpose    vault.Purpose
	PurposeKey string
	// Opened is the last time the custodian marked it opened ("" never).
	OpenedDay, OpenedBy string
}

// APIIdentity is one identity on file as the API shows it.
type APIIdentity struct {
	Item    int           `json:"item"`
	Day     string        `json:"day"`
	Purpose vault.Purpose `json:"purpose"`
}

// identities lists the identities on file in c with the custodian's
// latest "identity.opened" entry for each, read from the case's own
// entries in the audit log (not the whole log).
func (h *handler) identities(c vault.Case) ([]identityRow, error) {
	items := casework.Identities(c)
	if len(items) == 0 {
		return nil, nil
	}
	es, err := h.cfg.Audit.CaseEntries(c.Ref, func(e AuditEntry) bool {
		return e.Action == "identity.opened"
	}, 0)
	if err != nil {
		return nil, err
	}
	var rows []identityRow
	for _, it := range items {
		row := identityRow{ID: it.ID, Day: it.Day, Purpose: it.Purpose, PurposeKey: "desk.identity.purpose." + string(it.Purpose)}
		for _, e := range es { // newest first
			if strings.HasPrefix(e.Detail, "item "+strconv.Itoa(it.ID)+" ") {
				row.OpenedDay, row.OpenedBy = e.Day, e.Actor
				break
			}
		}
		rows = append(rows, row)
	}
	return rows, nil
}

// openedItem reads the optional item number of a mark-opened request.
func openedItem(s string) int {
	id, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil || id < 1 {
		return 0
	}
	return id
}

// identityOpened records, for the custodian, that they opened the case's
// identity on their offline machine.
func (h *handler) identityOpened(w http.ResponseWriter, r *http.Request) {
	ref := chi.URLParam(r, "ref")
	if err := readForm(w, r); err != nil {
		h.formFailed(w, r, err)
		return
	}
	c, _, err := h.ops.IdentityOpened(h.actor(r), ref, openedItem(r.PostForm.Get("item")))
	if err != nil {
		h.opFailed(w, r, caseBack(c, ref), "identity", err)
		return
	}
	h.done(w, r, c.Ref, "desk.done.identity_opened")
}

// apiIdentityOpened is identityOpened for the API; ?item= names the item.
func (h *handler) apiIdentityOpened(w http.ResponseWriter, r *http.Request) {
	c, it, err := h.ops.IdentityOpened(h.actor(r), chi.URLParam(r, "ref"), openedItem(r.URL.Query().Get("item")))
	if err != nil {
		h.opFailed(w, r, "/", "identity", err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"ref": c.Ref, "item": it.ID})
}
