package desk

import (
	"strconv"
	"strings"
	"testing"
)

// TestAuditPageNoGlobalNumbers: the log numbers entries across agencies,
// so a supervisor who saw those numbers would learn from their gaps how
// much other agencies did. The page shows none of them.
func TestAuditPageNoGlobalNumbers(t *testing.T) {
	f := newFixture(t)
	ref, _ := f.newCase("acc", "report a")
	refB, _ := f.newCase("other", "report b")
	sam := f.login("sam", f.enrol("sam", RoleSupervisor, "acc"))
	bob := f.login("bob", f.enrol("bob", RoleOfficer, "other"))
	for range 5 {
		bob.get("/cases/" + refB)
	}
	sam.get("/cases/" + ref)
	resp, body := sam.get("/audit")
	if resp.StatusCode != 200 || !strings.Contains(body, ref) {
		t.Fatalf("audit page: %d\n%s", resp.StatusCode, body)
	}
	es, err := f.audit.Entries(nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range es {
		if e.Actor != "sam" && e.Case != ref {
			continue // not shown to sam
		}
		if n := ">" + strconv.FormatInt(e.Seq, 10) + "<"; strings.Contains(body, n) {
			t.Errorf("the audit page shows the log's number %d of %s %s", e.Seq, e.Actor, e.Action)
		}
	}
}
