package desk

import (
	"net/http"
	"slices"
	"strings"

	"cleandrop/drop/web"
)

type auditData struct {
	Nav     nav
	Case    string
	Entries []auditRow
}

// auditRow is one entry as the page shows it. It has no sequence number:
// the log numbers entries across all agencies, and the gaps between one
// agency's numbers would tell its supervisor how much the others did.
type auditRow struct {
	Day, Actor, Action, Case, Detail string
	ActionKey                        string // message key, "" when the catalogue has none
}

// auditPage shows supervisors the newest audit entries of their agencies:
// entries about their agencies' cases, and sign-ins of officers who share
// an agency with them. ?case= narrows it to one case.
func (h *handler) auditPage(w http.ResponseWriter, r *http.Request) {
	me := whoOf(r)
	if !me.Supervisor() {
		h.fail(w, r, http.StatusForbidden, "desk.error.forbidden", "/")
		return
	}
	cs, err := h.readable(me.Officer)
	if err != nil {
		h.internal(w, r, "cases")
		return
	}
	inScope := map[string]bool{}
	for _, c := range cs {
		inScope[c.Ref] = true
	}
	officers, err := h.acc.List()
	if err != nil {
		h.internal(w, r, "officers")
		return
	}
	colleague := map[string]bool{}
	for _, o := range officers {
		// An overseer's agencies only bound what they oversee: their views
		// of other agencies' figures are not a supervisor's to read.
		if o.Role != RoleOverseer && slices.ContainsFunc(o.Agencies, me.mayRead) {
			colleague[o.Name] = true
		}
	}
	want := strings.ToUpper(strings.TrimSpace(r.URL.Query().Get("case")))
	if len(want) > 64 {
		want = ""
	}
	entries, err := h.cfg.Audit.Entries(func(e AuditEntry) bool {
		if want != "" {
			return e.Case == want && inScope[e.Case]
		}
		if e.Case != "" {
			return inScope[e.Case]
		}
		return colleague[e.Actor]
	}, auditPage)
	if err != nil {
		h.internal(w, r, "audit")
		return
	}
	// Entries come newest first, in the log's order.
	d := auditData{Nav: h.navOf(r), Case: want}
	for _, e := range entries {
		row := auditRow{Day: e.Day, Actor: e.Actor, Action: e.Action, Case: e.Case, Detail: e.Detail}
		if k := "desk.action." + e.Action; h.cfg.Catalog.HasKey(k) {
			row.ActionKey = k
		}
		d.Entries = append(d.Entries, row)
	}
	h.page(w, r, http.StatusOK, "audit", web.Page{Data: d})
}
